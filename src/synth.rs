//! Deterministic synthetic run documents at any scale, for benchmarks and trials.

use std::io::{self, Write};
use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};

use crate::ingest::source::{Generator, Input};

impl GenSpec {
    /// The batch as an input of `record`, written on the fly.
    pub fn into_input(self) -> Input {
        Input::Generated(Generator(Arc::new(move |out| write_jsonl(&self, out))))
    }
}

/// The shape of a generated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSpec {
    pub runs: u64,
    pub strategies: u64,
    /// Distinct parameter sets per strategy; runs cycle through them and the data sets.
    pub params_per_strategy: u64,
    pub trades_per_run: u64,
    pub equity_per_run: u64,
    /// Extra supplied metrics per run, on top of the ones btdb computes.
    pub extra_metrics: u64,
    pub datasets: u64,
    pub seed: u64,
}

/// SplitMix64: tiny, fast and stable across versions, which is what deterministic data needs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, by Box-Muller.
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(f64::MIN_POSITIVE);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes `spec.runs` documents as JSON Lines.
pub fn write_jsonl(spec: &GenSpec, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let start = Utc
        .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    for i in 0..spec.runs {
        let mut rng = Rng::new(spec.seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let strategy = i % spec.strategies.max(1);
        let set = (i / spec.strategies.max(1)) % spec.params_per_strategy.max(1);
        let dataset =
            (i / (spec.strategies.max(1) * spec.params_per_strategy.max(1))) % spec.datasets.max(1);
        write!(
            out,
            r#"{{"run_key":"gen:{seed}:{i}","strategy":"strategy_{strategy}","params":{{"fast":{fast},"slow":{slow},"stop":{stop:.2}}},"dataset":"DS{dataset}-1d","sweep":"gen-{seed}","tags":["gen"]"#,
            seed = spec.seed,
            fast = 5 + set % 20,
            slow = 50 + set / 20,
            stop = 0.01 * (1 + set % 7) as f64,
        )?;
        if spec.extra_metrics > 0 {
            out.write_all(br#","metrics":{"#)?;
            for m in 0..spec.extra_metrics {
                let sep = if m == 0 { "" } else { "," };
                write!(out, r#"{sep}"custom.m{m}":{:.6}"#, rng.normal())?;
            }
            out.write_all(b"}")?;
        }
        if spec.trades_per_run > 0 {
            out.write_all(br#","trades":["#)?;
            for t in 0..spec.trades_per_run {
                let sep = if t == 0 { "" } else { "," };
                let entry = start + Duration::hours(6 * t as i64);
                let entry_price = 100.0 * (1.0 + 0.2 * rng.uniform());
                let exit_price = entry_price * (1.0 + 0.02 * rng.normal());
                let side = if rng.uniform() < 0.7 { "long" } else { "short" };
                write!(
                    out,
                    r#"{sep}{{"symbol":"SYM{}","side":"{side}","quantity":"{}","entry_time":"{}","entry_price":"{entry_price:.2}","exit_time":"{}","exit_price":"{exit_price:.2}","fees":"0.50"}}"#,
                    t % 10,
                    1 + rng.next_u64() % 500,
                    ts(entry),
                    ts(entry + Duration::hours(3)),
                )?;
            }
            out.write_all(b"]")?;
        }
        if spec.equity_per_run > 0 {
            out.write_all(br#","equity":["#)?;
            let mut equity = 100_000.0;
            let drift = 0.0002 * rng.normal();
            for e in 0..spec.equity_per_run {
                let sep = if e == 0 { "" } else { "," };
                write!(
                    out,
                    r#"{sep}["{}",{equity:.2}]"#,
                    ts(start + Duration::days(e as i64))
                )?;
                equity *= 1.0 + drift + 0.01 * rng.normal();
                equity = equity.max(1.0);
            }
            out.write_all(b"]")?;
        }
        out.write_all(b"}\n")?;
    }
    out.flush()
}
