//! What a sweep says as a whole: how much of a metric's spread each parameter explains, and
//! which runs no other run beats on two metrics at once.

use std::collections::HashMap;

/// Each parameter's importance for a metric: the share of the metric's variance that the
/// means of the parameter's values explain (η², the correlation ratio: the between-values sum
/// of squares over the total), then scaled so that the parameters' shares sum to 1. `values`
/// holds the metric of each run and `groups[p][i]` the value of parameter `p` in run `i`, as
/// text. A parameter with one value explains nothing; all zero when the metric never varies.
pub fn importance(values: &[f64], groups: &[Vec<String>]) -> Vec<f64> {
    let n = values.len() as f64;
    if values.is_empty() {
        return vec![0.0; groups.len()];
    }
    let mean = values.iter().sum::<f64>() / n;
    let total: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    let explained: Vec<f64> = groups
        .iter()
        .map(|keys| {
            let mut sums: HashMap<&str, (f64, f64)> = HashMap::new();
            for (key, value) in keys.iter().zip(values) {
                let entry = sums.entry(key.as_str()).or_default();
                entry.0 += value;
                entry.1 += 1.0;
            }
            let between: f64 = sums
                .values()
                .map(|(sum, count)| count * (sum / count - mean).powi(2))
                .sum();
            if total > 0.0 { between / total } else { 0.0 }
        })
        .collect();
    let all: f64 = explained.iter().sum();
    explained
        .into_iter()
        .map(|e| if all > 0.0 { e / all } else { 0.0 })
        .collect()
}

/// The indices of the points no other point dominates: none is at least as good on both
/// metrics and better on one. `lower.0` and `lower.1` say whether smaller is better for each.
/// In the order of the first metric, best first.
pub fn pareto_front(points: &[(f64, f64)], lower: (bool, bool)) -> Vec<usize> {
    let better = |a: f64, b: f64, lower: bool| if lower { a < b } else { a > b };
    let at_least = |a: f64, b: f64, lower: bool| a == b || better(a, b, lower);
    let dominated = |i: usize| {
        let (x, y) = points[i];
        points.iter().any(|&(a, b)| {
            at_least(a, x, lower.0)
                && at_least(b, y, lower.1)
                && (better(a, x, lower.0) || better(b, y, lower.1))
        })
    };
    let mut front: Vec<usize> = (0..points.len()).filter(|&i| !dominated(i)).collect();
    front.sort_by(|&i, &j| {
        let (a, b) = (points[i].0, points[j].0);
        if lower.0 {
            a.total_cmp(&b)
        } else {
            b.total_cmp(&a)
        }
    });
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    /// η² of one grouping the other way round: one minus the within-values sum of squares over
    /// the total (the sums of squares add up: total = between + within).
    fn eta_squared_from_within(values: &[f64], keys: &[String]) -> f64 {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let total: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        let mut within = 0.0;
        let mut seen: Vec<&String> = keys.iter().collect();
        seen.sort();
        seen.dedup();
        for key in seen {
            let group: Vec<f64> = keys
                .iter()
                .zip(values)
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .collect();
            let m = group.iter().sum::<f64>() / group.len() as f64;
            within += group.iter().map(|v| (v - m).powi(2)).sum::<f64>();
        }
        1.0 - within / total
    }

    #[test]
    fn importance_is_each_parameter_s_explained_share_summing_to_one() {
        // fast moves the metric a lot, slow a little, seed not at all (on average).
        let mut values = Vec::new();
        let mut groups = vec![Vec::new(), Vec::new(), Vec::new()];
        for fast in [5, 10, 20] {
            for slow in [50, 100] {
                for seed in [1, 2] {
                    let noise = if seed == 1 { 0.01 } else { -0.01 };
                    values.push(f64::from(fast) * 0.1 + f64::from(slow) * 0.001 + noise);
                    groups[0].push(fast.to_string());
                    groups[1].push(slow.to_string());
                    groups[2].push(seed.to_string());
                }
            }
        }
        let shares = importance(&values, &groups);
        let raw: Vec<f64> = groups
            .iter()
            .map(|g| eta_squared_from_within(&values, g))
            .collect();
        let all: f64 = raw.iter().sum();
        for (share, raw) in shares.iter().zip(&raw) {
            assert!(
                (share - raw / all).abs() < 1e-12,
                "{shares:?} against {raw:?}"
            );
        }
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(shares[0] > 0.9 && shares[2] < 0.01, "{shares:?}");
        // A metric that never varies: nothing to explain.
        assert_eq!(
            importance(&[1.0, 1.0], &[vec!["a".into(), "b".into()]]),
            [0.0]
        );
    }

    #[test]
    fn the_pareto_front_of_a_known_set() {
        // Return up, drawdown down (smaller is better for the second).
        let points = [
            (0.10, 0.05), // 0: on the front (least drawdown)
            (0.20, 0.10), // 1: on the front
            (0.15, 0.12), // 2: dominated by 1
            (0.30, 0.20), // 3: on the front (most return)
            (0.30, 0.25), // 4: dominated by 3
            (0.05, 0.05), // 5: dominated by 0
            (0.20, 0.10), // 6: equal to 1: on the front too
        ];
        assert_eq!(pareto_front(&points, (false, true)), [3, 1, 6, 0]);
        // Both larger is better: only the most of each survives.
        assert_eq!(pareto_front(&points, (false, false)), [4]);
    }
}
