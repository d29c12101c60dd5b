//! The probability of backtest overfitting by combinatorially symmetric cross-validation
//! (Bailey, Borwein, López de Prado and Zhu, "The Probability of Backtest Overfitting", 2015),
//! with the conventions of docs/metrics.md.
//!
//! Each of the C(S, S/2) splits of the S time blocks into an in-sample and an out-of-sample
//! half needs every parameter set's metric on both halves. Each block's sums of the returns and
//! of their squares are computed once, after subtracting the parameter set's mean return (so
//! that the variance does not cancel away: the shifted-data algorithm); the in-sample sums are
//! then S/2 additions and the out-of-sample ones the totals less those, so a split costs O(S·N)
//! instead of O(T·N). Only the in-sample best's out-of-sample rank is needed, a count rather
//! than a sort.

use serde::Serialize;

/// What is compared on each half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PboMetric {
    /// Mean over sample standard deviation of the per-period returns (0 where it is 0).
    Sharpe,
    /// Mean per-period return.
    Mean,
}

/// The result of the cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pbo {
    /// Share of the splits whose in-sample best is at or below the out-of-sample median
    /// (logit ≤ 0).
    pub probability: f64,
    pub partitions: usize,
    pub combinations: usize,
    pub parameter_sets: usize,
    /// Returns used: T less the oldest T mod S.
    pub periods: usize,
    pub degradation: Degradation,
    /// Share of the splits whose in-sample best loses out of sample (metric below 0).
    pub probability_of_loss: f64,
    /// λ of each split, in the order the splits are enumerated (lexicographic choices of
    /// in-sample blocks).
    pub logits: Vec<f64>,
    /// The in-sample best's in-sample and out-of-sample metric, split by split (for the
    /// degradation plot).
    #[serde(skip)]
    pub best: Vec<(f64, f64)>,
}

/// Least squares of the in-sample best's out-of-sample metric on its in-sample metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Degradation {
    pub slope: f64,
    pub intercept: f64,
    pub r2: f64,
}

/// Why the cross-validation cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PboError {
    #[error("--partitions {0}: must be even and between 4 and 24")]
    Partitions(usize),
    #[error("{0} parameter sets: the cross-validation compares at least 2")]
    TooFewSets(usize),
    #[error("{periods} aligned returns: {partitions} partitions need at least {needed}")]
    TooFewPeriods {
        periods: usize,
        partitions: usize,
        needed: usize,
    },
}

/// Sums of a parameter set's shifted returns over some periods.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: f64,
    /// Σ (r − shift).
    s1: f64,
    /// Σ (r − shift)².
    s2: f64,
}

impl Sums {
    fn of(values: &[f64], shift: f64) -> Self {
        values.iter().fold(Self::default(), |acc, &v| {
            let d = v - shift;
            Self {
                n: acc.n + 1.0,
                s1: acc.s1 + d,
                s2: acc.s2 + d * d,
            }
        })
    }

    fn add(self, other: Self) -> Self {
        Self {
            n: self.n + other.n,
            s1: self.s1 + other.s1,
            s2: self.s2 + other.s2,
        }
    }

    fn sub(self, other: Self) -> Self {
        Self {
            n: self.n - other.n,
            s1: self.s1 - other.s1,
            s2: self.s2 - other.s2,
        }
    }

    fn metric(self, shift: f64, metric: PboMetric) -> f64 {
        let mean = self.s1 / self.n;
        match metric {
            PboMetric::Mean => shift + mean,
            PboMetric::Sharpe => {
                let variance = (self.s2 - self.s1 * mean) / (self.n - 1.0);
                let sd = variance.max(0.0).sqrt();
                if sd > 0.0 { (shift + mean) / sd } else { 0.0 }
            }
        }
    }
}

/// The cross-validation of `returns` (one column per parameter set, each `periods` long and
/// aligned, oldest first) over `partitions` blocks.
pub fn pbo(returns: &[Vec<f64>], partitions: usize, metric: PboMetric) -> Result<Pbo, PboError> {
    let s = partitions;
    if !s.is_multiple_of(2) || !(4..=24).contains(&s) {
        return Err(PboError::Partitions(s));
    }
    let n = returns.len();
    if n < 2 {
        return Err(PboError::TooFewSets(n));
    }
    let t = returns[0].len();
    if t < 2 * s {
        return Err(PboError::TooFewPeriods {
            periods: t,
            partitions: s,
            needed: 2 * s,
        });
    }
    let skip = t % s;
    let block = (t - skip) / s;
    // Per parameter set: its shift, its blocks' sums, and their total.
    let shifts: Vec<f64> = returns
        .iter()
        .map(|column| column[skip..].iter().sum::<f64>() / (t - skip) as f64)
        .collect();
    let blocks: Vec<Vec<Sums>> = returns
        .iter()
        .zip(&shifts)
        .map(|(column, &shift)| {
            (0..s)
                .map(|b| {
                    let start = skip + b * block;
                    Sums::of(&column[start..start + block], shift)
                })
                .collect()
        })
        .collect();
    let totals: Vec<Sums> = blocks
        .iter()
        .map(|b| b.iter().fold(Sums::default(), |acc, x| acc.add(*x)))
        .collect();

    let mut logits = Vec::new();
    let (mut is_best, mut oos_best) = (Vec::new(), Vec::new());
    let (mut is_metric, mut oos_metric) = (vec![0.0; n], vec![0.0; n]);
    for chosen in Combinations::new(s, s / 2) {
        for j in 0..n {
            let inside = chosen
                .iter()
                .fold(Sums::default(), |acc, &b| acc.add(blocks[j][b]));
            is_metric[j] = inside.metric(shifts[j], metric);
            oos_metric[j] = totals[j].sub(inside).metric(shifts[j], metric);
        }
        // The first parameter set in id order wins a tie.
        let best = (1..n).fold(0, |best, j| {
            if is_metric[j] > is_metric[best] {
                j
            } else {
                best
            }
        });
        // Its average rank out of sample, 1 the worst: those below it, and the middle of
        // those equal to it (itself included).
        let x = oos_metric[best];
        let below = oos_metric.iter().filter(|&&v| v < x).count() as f64;
        let equal = oos_metric.iter().filter(|&&v| v == x).count() as f64;
        let rank = below + (equal + 1.0) / 2.0;
        let omega = rank / (n as f64 + 1.0);
        logits.push((omega / (1.0 - omega)).ln());
        is_best.push(is_metric[best]);
        oos_best.push(oos_metric[best]);
    }
    let combinations = logits.len() as f64;
    Ok(Pbo {
        probability: logits.iter().filter(|&&l| l <= 0.0).count() as f64 / combinations,
        partitions: s,
        combinations: logits.len(),
        parameter_sets: n,
        periods: t - skip,
        degradation: least_squares(&is_best, &oos_best),
        probability_of_loss: oos_best.iter().filter(|&&v| v < 0.0).count() as f64 / combinations,
        logits,
        best: is_best.into_iter().zip(oos_best).collect(),
    })
}

/// y = slope·x + intercept by least squares, with R²; slope 0 and R² 0 where x does not vary,
/// and R² 1 where y does not (a perfect fit of a constant).
fn least_squares(x: &[f64], y: &[f64]) -> Degradation {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxx += (a - mx) * (a - mx);
        sxy += (a - mx) * (b - my);
        syy += (b - my) * (b - my);
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let r2 = match (sxx > 0.0, syy > 0.0) {
        (true, true) => sxy * sxy / (sxx * syy),
        (_, false) => 1.0,
        (false, true) => 0.0,
    };
    Degradation {
        slope,
        intercept: my - slope * mx,
        r2,
    }
}

/// The k-element subsets of 0..n in lexicographic order, as itertools.combinations gives them.
struct Combinations {
    n: usize,
    next: Option<Vec<usize>>,
}

impl Combinations {
    fn new(n: usize, k: usize) -> Self {
        Self {
            n,
            next: (k <= n).then(|| (0..k).collect()),
        }
    }
}

impl Iterator for Combinations {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let k = current.len();
        let mut following = current.clone();
        // The rightmost position that can still move right, then everything after it packed.
        if let Some(i) = (0..k).rev().find(|&i| following[i] < self.n - k + i) {
            following[i] += 1;
            for j in i + 1..k {
                following[j] = following[j - 1] + 1;
            }
            self.next = Some(following);
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_lexicographic_and_complete() {
        let all: Vec<Vec<usize>> = Combinations::new(4, 2).collect();
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(Combinations::new(16, 8).count(), 12_870);
    }

    #[test]
    fn bad_shapes_are_refused() {
        let two = vec![vec![0.01; 40], vec![0.02; 40]];
        assert_eq!(
            pbo(&two, 5, PboMetric::Sharpe),
            Err(PboError::Partitions(5))
        );
        assert_eq!(
            pbo(&two, 26, PboMetric::Sharpe),
            Err(PboError::Partitions(26))
        );
        assert_eq!(
            pbo(&two[..1], 4, PboMetric::Sharpe),
            Err(PboError::TooFewSets(1))
        );
        assert!(matches!(
            pbo(&[vec![0.0; 7], vec![0.0; 7]], 4, PboMetric::Mean),
            Err(PboError::TooFewPeriods { needed: 8, .. })
        ));
    }

    #[test]
    fn logits_stay_finite_at_both_extremes() {
        // Two sets whose in-sample best is always the out-of-sample best, or always the worst:
        // ω is 1.5/3 or 2/3 and 1/3 at the extremes, never 0 or 1.
        let up: Vec<f64> = (0..64).map(|i| 0.001 * (i % 7) as f64).collect();
        let down: Vec<f64> = up.iter().map(|r| -r).collect();
        let result = pbo(&[up, down], 8, PboMetric::Mean).expect("pbo");
        assert!(result.logits.iter().all(|l| l.is_finite()));
    }

    /// A small deterministic generator: the property must hold for any data.
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    #[test]
    fn with_equal_full_sample_means_the_in_sample_best_is_the_out_of_sample_worst() {
        // Halves of equal size whose means add up to the same total for every set: the
        // highest in-sample mean is the lowest out of sample, every split, so PBO is 1.
        for seed in 1..20 {
            let sets: Vec<Vec<f64>> = (0..12)
                .map(|j| {
                    let mut r = noise(seed * 100 + j, 96);
                    let mean = r.iter().sum::<f64>() / r.len() as f64;
                    r.iter_mut().for_each(|v| *v = (*v - mean) * 0.01 + 0.0005);
                    r
                })
                .collect();
            for s in [4, 8, 12] {
                let result = pbo(&sets, s, PboMetric::Mean).expect("pbo");
                assert_eq!(result.probability, 1.0, "seed {seed}, {s} partitions");
                let worst = (1.0 / 13.0_f64 / (12.0 / 13.0)).ln();
                assert!(result.logits.iter().all(|l| (l - worst).abs() < 1e-12));
            }
        }
    }
}
