//! Percentiles of timing samples, shared by the benchmarks (`#[path]`-included).

use std::time::Duration;

/// p-th percentile (nearest rank) of `samples`, in milliseconds.
pub fn percentile(samples: &[Duration], p: f64) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * ms.len() as f64).ceil().max(1.0) as usize;
    ms[rank.min(ms.len()) - 1]
}

/// One figure's line: p50 and p95 of its samples.
#[allow(dead_code)]
pub fn line(figure: &str, samples: &[Duration]) {
    println!(
        "{figure:<58} p50 {:>9.2} ms   p95 {:>9.2} ms   (n = {})",
        percentile(samples, 50.0),
        percentile(samples, 95.0),
        samples.len()
    );
}
