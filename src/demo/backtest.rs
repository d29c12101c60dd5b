//! A small deterministic backtester: one instrument, daily closes, all-in positions, fees per
//! side, and three classic strategies.

use super::prices::Bar;

/// Fees per side, in basis points of the traded value.
const FEE_BPS: i64 = 5;

/// What the strategy wants to hold after a close: short, flat or long.
pub type Position = i8;

/// A strategy decides its position from the closes up to and including bar `i`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// Long while the fast moving average is above the slow one.
    SmaCross { fast: usize, slow: usize },
    /// Long while the close is above the close `lookback` bars ago.
    Momentum { lookback: usize },
    /// Long below `entry` standard deviations under the `window` mean, short above it; out when
    /// the price crosses back over the mean.
    MeanReversion { window: usize, entry: f64 },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::SmaCross { .. } => "sma_cross",
            Strategy::Momentum { .. } => "momentum",
            Strategy::MeanReversion { .. } => "mean_reversion",
        }
    }

    pub fn params(&self) -> serde_json::Value {
        match *self {
            Strategy::SmaCross { fast, slow } => serde_json::json!({"fast": fast, "slow": slow}),
            Strategy::Momentum { lookback } => serde_json::json!({"lookback": lookback}),
            Strategy::MeanReversion { window, entry } => {
                serde_json::json!({"window": window, "entry_z": entry})
            }
        }
    }

    fn position(&self, closes: &[f64], i: usize, held: Position) -> Position {
        let mean = |n: usize| closes[i + 1 - n..=i].iter().sum::<f64>() / n as f64;
        match *self {
            Strategy::SmaCross { fast, slow } => {
                if i + 1 < slow {
                    0
                } else {
                    Position::from(mean(fast) > mean(slow))
                }
            }
            Strategy::Momentum { lookback } => {
                if i < lookback {
                    0
                } else {
                    Position::from(closes[i] > closes[i - lookback])
                }
            }
            Strategy::MeanReversion { window, entry } => {
                if i + 1 < window {
                    return 0;
                }
                let m = mean(window);
                let var = closes[i + 1 - window..=i]
                    .iter()
                    .map(|c| (c - m) * (c - m))
                    .sum::<f64>()
                    / window as f64;
                let z = if var > 0.0 {
                    (closes[i] - m) / var.sqrt()
                } else {
                    0.0
                };
                match held {
                    1 if z >= 0.0 => 0,
                    -1 if z <= 0.0 => 0,
                    0 if z < -entry => 1,
                    0 if z > entry => -1,
                    other => other,
                }
            }
        }
    }
}

/// A closed round trip, in cents and whole shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub long: bool,
    pub quantity: i64,
    pub entry: usize,
    pub entry_cents: i64,
    pub exit: usize,
    pub exit_cents: i64,
    /// Entry and exit fees.
    pub fee_cents: i64,
}

/// Trades and the equity after every close, in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    pub trades: Vec<Trade>,
    pub equity_cents: Vec<i64>,
}

fn fee(quantity: i64, cents: i64) -> i64 {
    // Rounded up to the cent.
    (quantity * cents * FEE_BPS + 9_999) / 10_000
}

/// Runs `strategy` over `bars` from `capital_cents`, trading at the close that gave the signal;
/// a position still open at the end is closed at the last close.
pub fn run(strategy: &Strategy, bars: &[Bar], capital_cents: i64) -> Backtest {
    let closes: Vec<f64> = bars.iter().map(Bar::price).collect();
    let mut cash = capital_cents;
    let mut held: Position = 0;
    let mut open: Option<Trade> = None;
    let mut trades = Vec::new();
    let mut equity_cents = Vec::with_capacity(bars.len());
    for (i, bar) in bars.iter().enumerate() {
        let last = i + 1 == bars.len();
        let wanted = if last {
            0
        } else {
            strategy.position(&closes, i, held)
        };
        if wanted != held {
            if let Some(mut trade) = open.take() {
                let exit_fee = fee(trade.quantity, bar.cents);
                let sign = if trade.long { 1 } else { -1 };
                cash += sign * trade.quantity * bar.cents - exit_fee;
                trade.exit = i;
                trade.exit_cents = bar.cents;
                trade.fee_cents += exit_fee;
                trades.push(trade);
            }
            if wanted != 0 {
                // All in: the most whole shares the cash buys (or backs, short) after fees.
                let quantity = cash * 10_000 / (bar.cents * (10_000 + FEE_BPS));
                if quantity > 0 {
                    let entry_fee = fee(quantity, bar.cents);
                    let sign = if wanted > 0 { 1 } else { -1 };
                    cash -= sign * quantity * bar.cents + entry_fee;
                    open = Some(Trade {
                        long: wanted > 0,
                        quantity,
                        entry: i,
                        entry_cents: bar.cents,
                        exit: i,
                        exit_cents: bar.cents,
                        fee_cents: entry_fee,
                    });
                }
            }
            held = if open.is_some() { wanted } else { 0 };
        }
        let marked = open.as_ref().map_or(0, |t| {
            let sign = if t.long { 1 } else { -1 };
            sign * t.quantity * bar.cents
        });
        equity_cents.push(cash + marked);
    }
    Backtest {
        trades,
        equity_cents,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn bars(cents: &[i64]) -> Vec<Bar> {
        let start = Utc
            .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        cents
            .iter()
            .enumerate()
            .map(|(i, c)| Bar {
                time: start + Duration::days(i as i64),
                cents: *c,
            })
            .collect()
    }

    #[test]
    fn equity_is_cash_plus_the_marked_position_and_trades_add_up() {
        let prices = bars(&[1000, 1000, 1100, 1200, 1100, 1000, 900, 1000, 1100, 1200]);
        let result = run(&Strategy::Momentum { lookback: 1 }, &prices, 1_000_000);
        assert_eq!(result.equity_cents.len(), prices.len());
        // Every closed trade's pnl is the change in equity it caused.
        let pnl: i64 = result
            .trades
            .iter()
            .map(|t| {
                let sign = if t.long { 1 } else { -1 };
                sign * (t.exit_cents - t.entry_cents) * t.quantity - t.fee_cents
            })
            .sum();
        assert_eq!(result.equity_cents.last().copied(), Some(1_000_000 + pnl));
        assert!(!result.trades.is_empty());
        // Bought at the close of day 2 (1100 > 1000), 908 shares after fees.
        let first = &result.trades[0];
        assert_eq!(
            (first.entry, first.entry_cents, first.quantity),
            (2, 1100, 908)
        );
        assert_eq!(first.fee_cents, fee(908, 1100) + fee(908, first.exit_cents));
    }

    #[test]
    fn mean_reversion_goes_both_ways() {
        let mut cents: Vec<i64> = (0..60).map(|i| 1000 + (i % 2) * 10).collect();
        cents.extend([800, 800, 1000, 1000, 1200, 1200, 1000, 1000]);
        let result = run(
            &Strategy::MeanReversion {
                window: 20,
                entry: 1.5,
            },
            &bars(&cents),
            1_000_000,
        );
        assert!(result.trades.iter().any(|t| t.long));
        assert!(result.trades.iter().any(|t| !t.long));
    }
}
