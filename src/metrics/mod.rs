//! The metrics of docs/metrics.md, computed from a run's equity curve and trades.
//!
//! The definitions are empyrical's (risk-free rate and required return 0) and scipy's, and so is
//! the order of the floating-point operations: products of (1 + r) where empyrical multiplies,
//! sequential sums where its reductions (bottleneck's) sum. That keeps results within 1e-9
//! relative of theirs even where a formula cancels badly, such as a tiny total return on a large
//! equity. A metric that is undefined (too few points, a zero denominator) is left out, never
//! stored as NaN or infinity.

pub mod pbo;
pub mod stats;
pub mod sweep;

use bigdecimal::{BigDecimal, Zero};

/// Which way a metric ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// The direction of a metric where no run declared one: every computed metric but volatility
/// ranks higher-is-better (btdb's drawdowns are negative: the least deep is the highest), and
/// so do metrics btdb does not compute, but the drawdowns importers keep as positive figures
/// (Freqtrade's), which rank least deep first too.
pub fn direction(name: &str) -> Direction {
    match name {
        "volatility"
        | "freqtrade.max_drawdown_account"
        | "freqtrade.max_drawdown_abs"
        | "freqtrade.max_relative_drawdown" => Direction::LowerIsBetter,
        _ => Direction::HigherIsBetter,
    }
}

/// Every metric btdb computes for a run: those of its curve, then those of its trades.
pub fn computed(
    equity: &[f64],
    periods_per_year: f64,
    pnl: &[&BigDecimal],
) -> Vec<(&'static str, f64)> {
    let mut out = from_equity(equity, periods_per_year);
    out.extend(from_trades(pnl));
    out
}

/// Metrics of an equity curve with at least two points; fewer give none.
pub fn from_equity(equity: &[f64], periods_per_year: f64) -> Vec<(&'static str, f64)> {
    if equity.len() < 2 {
        return Vec::new();
    }
    let returns: Vec<f64> = equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let n = returns.len() as f64;
    let growth = returns.iter().fold(1.0, |acc, r| acc * (1.0 + r));
    let cagr = growth.powf(1.0 / (n / periods_per_year)) - 1.0;
    let max_drawdown = max_drawdown(&returns);

    let mut out = vec![
        ("total_return", growth - 1.0),
        ("cagr", cagr),
        ("max_drawdown", max_drawdown),
        ("n_periods", n),
    ];
    if max_drawdown < 0.0 {
        out.push(("calmar", cagr / max_drawdown.abs()));
    }
    if returns.len() >= 2 {
        let mean = mean(&returns);
        let deviations: Vec<f64> = returns.iter().map(|r| r - mean).collect();
        let std = (sum(deviations.iter().map(|d| d * d)) / (n - 1.0)).sqrt();
        // Equal returns are decided on the returns themselves: their computed deviation can
        // come out as 1e-17 rather than 0.
        let constant = returns.iter().all(|r| *r == returns[0]);
        out.push((
            "volatility",
            if constant {
                0.0
            } else {
                std * periods_per_year.powf(0.5)
            },
        ));
        if !constant {
            out.push(("sharpe", mean / std * periods_per_year.sqrt()));
            let m2 = mean_of(deviations.iter().map(|d| d * d));
            let m3 = mean_of(deviations.iter().map(|d| d * d * d));
            let m4 = mean_of(deviations.iter().map(|d| (d * d) * (d * d)));
            out.push(("returns_skew", m3 / m2.powf(1.5)));
            out.push(("returns_kurtosis", m4 / (m2 * m2)));
        }
        if returns.iter().any(|r| *r < 0.0) {
            let downside = mean_of(returns.iter().map(|r| r.min(0.0).powi(2))).sqrt();
            out.push((
                "sortino",
                mean * periods_per_year / (downside * periods_per_year.sqrt()),
            ));
        }
    }
    out.retain(|(_, v)| v.is_finite());
    out
}

/// empyrical's max_drawdown: the curve rebuilt from 100 by products of (1 + r), against its
/// running peak.
fn max_drawdown(returns: &[f64]) -> f64 {
    let mut level = 100.0;
    let mut peak = level;
    let mut worst = 0.0_f64;
    for r in returns {
        level *= 1.0 + r;
        peak = peak.max(level);
        worst = worst.min((level - peak) / peak);
    }
    worst
}

fn sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |acc, v| acc + v)
}

fn mean_of(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len() as f64;
    sum(values) / n
}

/// The mean of finite values, finite always: their sum as it is where it does not overflow
/// (so the same as summing and dividing), else the values scaled by 2^-64 first (exact for
/// such magnitudes) and the mean kept within their range as the rounding could step past it.
/// NaN for no values.
pub fn mean(values: &[f64]) -> f64 {
    let plain = mean_of(values.iter().copied());
    if plain.is_finite() || values.is_empty() {
        return plain;
    }
    const SCALE: f64 = 18_446_744_073_709_551_616.0; // 2^64
    let scaled = mean_of(values.iter().map(|v| v / SCALE));
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    (scaled.clamp(low / SCALE, high / SCALE) * SCALE).clamp(low, high)
}

/// Metrics of a run's trades, from their exact pnl; no trades give none.
pub fn from_trades(pnl: &[&BigDecimal]) -> Vec<(&'static str, f64)> {
    let (Some(best), Some(worst)) = (pnl.iter().max(), pnl.iter().min()) else {
        return Vec::new();
    };
    let zero = BigDecimal::zero();
    let wins: BigDecimal = pnl.iter().copied().filter(|p| **p > zero).sum();
    let losses: BigDecimal = pnl.iter().copied().filter(|p| **p < zero).sum();
    let total: BigDecimal = pnl.iter().copied().sum();
    let n = pnl.len();
    let winners = pnl.iter().filter(|p| ***p > zero).count();
    let mut out = vec![
        ("n_trades", n as f64),
        ("win_rate", winners as f64 / n as f64),
        (
            "avg_trade_pnl",
            to_f64(&(total / BigDecimal::from(n as u64))),
        ),
        ("best_trade", to_f64(best)),
        ("worst_trade", to_f64(worst)),
    ];
    if !losses.is_zero() {
        out.push(("profit_factor", to_f64(&(wins / losses.abs()))));
    }
    out.retain(|(_, v)| v.is_finite());
    out
}

/// The f64 nearest to a decimal: through its text, which Rust parses with correct rounding.
pub fn to_f64(value: &BigDecimal) -> f64 {
    value.to_string().parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_short_curves_and_no_trades_give_nothing() {
        assert!(from_equity(&[], 252.0).is_empty());
        assert!(from_equity(&[100.0], 252.0).is_empty());
        assert!(from_trades(&[]).is_empty());
    }

    #[test]
    fn nothing_stored_is_nan_or_infinite() {
        let curves: [&[f64]; 4] = [
            &[100.0, 100.0, 100.0],
            &[1.0, 2.0, 4.0],
            &[1e-300, 1e300, 1e-300],
            &[100.0, 100.0 + 1e-13, 100.0],
        ];
        for curve in curves {
            for (name, value) in from_equity(curve, 252.0) {
                assert!(value.is_finite(), "{name} = {value} for {curve:?}");
            }
        }
    }

    #[test]
    fn a_mean_is_finite_whatever_finite_values_it_takes() {
        assert_eq!(mean(&[1.0, 2.0, 4.0]), 7.0 / 3.0);
        assert_eq!(mean(&[f64::MAX, f64::MAX, f64::MAX]), f64::MAX);
        assert_eq!(mean(&[f64::MAX, -f64::MAX]), 0.0);
        assert_eq!(mean(&[f64::MAX, 1.0]), f64::MAX / 2.0);
        // -2·MAX/3 correctly rounded: MAX/3 rounds to a half, which doubles exactly.
        assert_eq!(
            mean(&[-f64::MAX, -f64::MAX, 5e-324]),
            -(f64::MAX / 3.0 * 2.0)
        );
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn volatility_alone_ranks_lower_is_better() {
        assert_eq!(direction("volatility"), Direction::LowerIsBetter);
        assert_eq!(direction("max_drawdown"), Direction::HigherIsBetter);
        assert_eq!(direction("custom.exposure"), Direction::HigherIsBetter);
    }
}
