//! Statistics over many runs: the deflated Sharpe ratio (Bailey and López de Prado, 2014) and
//! Spearman's rank correlation, with the normal distribution they need.

use std::f64::consts::{E, PI, SQRT_2};

/// The Euler–Mascheroni constant, from the expected maximum of N normal draws.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Φ, the standard normal distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// Φ⁻¹ for 0 < p < 1: Acklam's rational approximation, then one Halley step on `normal_cdf`,
/// which brings it to full double precision.
pub fn normal_ppf(p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    let x = if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    let error = normal_cdf(x) - p;
    let u = error * (2.0 * PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// What the deflated Sharpe ratio is computed from. Sharpe ratios are per period (not
/// annualised), as the formula's √(T − 1) expects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialSet {
    /// The best trial's Sharpe ratio per period.
    pub sharpe: f64,
    /// Its number of returns (T).
    pub periods: f64,
    /// Skewness of its returns.
    pub skew: f64,
    /// Kurtosis of its returns (not excess: 3 for normal returns).
    pub kurtosis: f64,
    /// How many trials the best was picked from (N).
    pub trials: u64,
    /// Variance of the trials' per-period Sharpe ratios.
    pub variance: f64,
}

/// The deflated Sharpe ratio and the Sharpe ratio it had to beat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deflated {
    /// Probability that the true Sharpe ratio exceeds `expected_max`.
    pub probability: f64,
    /// The largest per-period Sharpe ratio expected among `trials` trials with no skill.
    pub expected_max: f64,
}

/// DSR = PSR(SR₀) with SR₀ = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))): the
/// probabilistic Sharpe ratio against the best that N skill-less trials would reach. One trial
/// has nothing to deflate (SR₀ = 0). `None` when undefined (see `probabilistic_sharpe`).
pub fn deflated_sharpe(t: &TrialSet) -> Option<Deflated> {
    let expected_max = if t.trials <= 1 {
        0.0
    } else {
        let n = t.trials as f64;
        t.variance.max(0.0).sqrt()
            * ((1.0 - EULER_GAMMA) * normal_ppf(1.0 - 1.0 / n)
                + EULER_GAMMA * normal_ppf(1.0 - 1.0 / (n * E)))
    };
    let moments = Moments {
        sharpe: t.sharpe,
        periods: t.periods,
        skew: t.skew,
        kurtosis: t.kurtosis,
    };
    probabilistic_sharpe(&moments, expected_max).map(|probability| Deflated {
        probability,
        expected_max,
    })
}

/// What a run's Sharpe ratio is judged by: the per-period Sharpe ratio of its returns, their
/// number, skewness and kurtosis (not excess: 3 for normal returns).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub sharpe: f64,
    pub periods: f64,
    pub skew: f64,
    pub kurtosis: f64,
}

impl Moments {
    /// 1 − γ₃·SR + (γ₄ − 1)/4·SR²: how much skew and fat tails widen the Sharpe ratio's spread.
    fn spread(&self) -> f64 {
        1.0 - self.skew * self.sharpe + (self.kurtosis - 1.0) / 4.0 * self.sharpe * self.sharpe
    }
}

/// The probabilistic Sharpe ratio (Bailey and López de Prado, 2012): the probability that the
/// true per-period Sharpe ratio exceeds `benchmark`,
/// Φ((SR − SR*)·√(T − 1) / √(1 − γ₃·SR + (γ₄ − 1)/4·SR²)). `None` when undefined: fewer than
/// two returns, or a spread that is not positive.
pub fn probabilistic_sharpe(m: &Moments, benchmark: f64) -> Option<f64> {
    let spread = m.spread();
    if m.periods < 2.0 || spread.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let z = (m.sharpe - benchmark) * (m.periods - 1.0).sqrt() / spread.sqrt();
    let probability = normal_cdf(z);
    probability.is_finite().then_some(probability)
}

/// The minimum track record length (Bailey and López de Prado, 2012): the number of returns
/// after which a Sharpe ratio of `m.sharpe` beats `benchmark` with `confidence`,
/// 1 + (1 − γ₃·SR + (γ₄ − 1)/4·SR²)·(Φ⁻¹(confidence) / (SR − SR*))². `None` when the Sharpe
/// ratio does not exceed the benchmark (no track record is long enough) or the spread is not
/// positive.
pub fn min_track_record(m: &Moments, benchmark: f64, confidence: f64) -> Option<f64> {
    let spread = m.spread();
    if m.sharpe.partial_cmp(&benchmark) != Some(std::cmp::Ordering::Greater)
        || spread.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return None;
    }
    let z = normal_ppf(confidence) / (m.sharpe - benchmark);
    let periods = 1.0 + spread * z * z;
    periods.is_finite().then_some(periods)
}

/// How far a run's Sharpe ratio can be trusted, from its stored metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct SharpeConfidence {
    /// The probabilistic Sharpe ratio against the benchmark.
    pub psr: Option<f64>,
    /// The track record needed to beat the benchmark at 95 % confidence.
    pub min_track_record: Option<TrackRecord>,
}

/// A track record length in returns and in years.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrackRecord {
    pub periods: f64,
    pub years: f64,
}

/// The confidence level of the minimum track record length.
pub const TRACK_RECORD_CONFIDENCE: f64 = 0.95;

impl SharpeConfidence {
    /// From a run's `sharpe` (annualised), `n_periods`, `returns_skew` and `returns_kurtosis`
    /// and its periods per year, against an annualised `benchmark`; nothing where a metric is
    /// missing.
    pub fn of(metrics: &crate::models::RunMetrics, periods_per_year: f64, benchmark: f64) -> Self {
        let get = |name: &str| metrics.get(name);
        let (Some(sharpe), Some(periods), Some(skew), Some(kurtosis)) = (
            get("sharpe"),
            get("n_periods"),
            get("returns_skew"),
            get("returns_kurtosis"),
        ) else {
            return Self::default();
        };
        let per_period = periods_per_year.sqrt();
        let moments = Moments {
            sharpe: sharpe / per_period,
            periods,
            skew,
            kurtosis,
        };
        let benchmark = benchmark / per_period;
        Self {
            psr: probabilistic_sharpe(&moments, benchmark),
            min_track_record: min_track_record(&moments, benchmark, TRACK_RECORD_CONFIDENCE).map(
                |periods| TrackRecord {
                    periods,
                    years: periods / periods_per_year,
                },
            ),
        }
    }
}

/// Spearman's rank correlation (ties get their average rank, as scipy's `spearmanr`); `None`
/// for fewer than two pairs or when either side is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// 1-based ranks, ascending, ties sharing the mean of the ranks they span.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_deflated_sharpe_example() {
        // Bailey and López de Prado (2014), section 5: an annual Sharpe ratio of 2.5 at 250
        // periods a year over 1,250 days, skew −3, kurtosis 10, 100 trials whose annualised
        // Sharpe ratios have variance 0.5: DSR = 0.9004.
        let per_year = 250.0_f64;
        let deflated = deflated_sharpe(&TrialSet {
            sharpe: 2.5 / per_year.sqrt(),
            periods: 1250.0,
            skew: -3.0,
            kurtosis: 10.0,
            trials: 100,
            variance: 0.5 / per_year,
        })
        .expect("defined");
        assert!((deflated.probability - 0.9004).abs() < 5e-5, "{deflated:?}");
    }

    #[test]
    fn ppf_inverts_cdf_across_the_range() {
        for p in [
            1e-12,
            1e-6,
            0.001,
            0.02425,
            0.1,
            0.5,
            0.9,
            0.97575,
            0.999,
            1.0 - 1e-9,
        ] {
            let x = normal_ppf(p);
            let back = normal_cdf(x);
            assert!(((back - p) / p).abs() < 1e-12, "p {p}: x {x} back {back}");
        }
        assert_eq!(normal_ppf(0.5), 0.0);
        assert!(normal_ppf(1.5).is_nan());
    }

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 5.0]),
            [2.5, 4.0, 2.5, 1.0]
        );
    }

    #[test]
    fn spearman_of_monotone_pairs_is_one() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0], &[10.0, 200.0, 3000.0]),
            Some(1.0)
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn one_trial_is_not_deflated() {
        let t = TrialSet {
            sharpe: 0.1,
            periods: 101.0,
            skew: 0.0,
            kurtosis: 3.0,
            trials: 1,
            variance: 0.0,
        };
        let d = deflated_sharpe(&t).unwrap();
        assert_eq!(d.expected_max, 0.0);
        // Normal returns: Φ(0.1·√100 / √(1 + 0.5·0.01)).
        let expected = normal_cdf(1.0 / (1.005f64).sqrt());
        assert!((d.probability - expected).abs() < 1e-15);
    }
}
