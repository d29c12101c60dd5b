//! `btdb demo`'s research: three classic strategies swept over parameter grids on two synthetic
//! markets, each split into an in-sample and an out-of-sample period, written as run documents.

pub mod backtest;
pub mod prices;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::SecondsFormat;
use serde_json::{Value, json};

use backtest::Strategy;
use prices::Bar;

/// Ten years of trading days: six in sample, four out of sample.
const DAYS: usize = 2520;
const IN_SAMPLE_DAYS: usize = 1512;
const CAPITAL_CENTS: i64 = 10_000_000;

/// A synthetic market: its name, seed and first price.
const MARKETS: [(&str, u64, f64); 2] = [("SYNA", 20_151, 100.0), ("SYNB", 20_152, 40.0)];

/// The in-sample and out-of-sample data set names of a market.
pub fn datasets(market: &str) -> (String, String) {
    (format!("{market}-1d-IS"), format!("{market}-1d-OOS"))
}

/// The market the demo's summaries look at.
pub const MAIN_MARKET: &str = "SYNA";

/// Every strategy and parameter set the demo tries.
pub fn grid() -> Vec<Strategy> {
    let mut out = Vec::new();
    for fast in [5, 10, 15, 20, 30, 40] {
        for slow in [50, 75, 100, 150, 200] {
            out.push(Strategy::SmaCross { fast, slow });
        }
    }
    for lookback in [10, 20, 40, 60, 90, 120, 180, 250] {
        out.push(Strategy::Momentum { lookback });
    }
    for window in [10, 20, 40, 60] {
        for entry in [1.0, 1.5, 2.0, 2.5] {
            out.push(Strategy::MeanReversion { window, entry });
        }
    }
    out
}

fn cents(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", value.abs() / 100, value.abs() % 100)
}

fn time(bar: &Bar) -> String {
    bar.time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The run document (docs/run-document.md) of `strategy` backtested on `bars`.
pub fn document(strategy: &Strategy, market: &str, dataset: &str, bars: &[Bar]) -> Value {
    let result = backtest::run(strategy, bars, CAPITAL_CENTS);
    let params = strategy.params();
    let key_params: Vec<String> = params
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let trades: Vec<Value> = result
        .trades
        .iter()
        .map(|t| {
            json!({
                "symbol": market,
                "side": if t.long { "long" } else { "short" },
                "quantity": t.quantity.to_string(),
                "entry_time": time(&bars[t.entry]),
                "entry_price": cents(t.entry_cents),
                "exit_time": time(&bars[t.exit]),
                "exit_price": cents(t.exit_cents),
                "fees": cents(t.fee_cents),
            })
        })
        .collect();
    let equity: Vec<Value> = bars
        .iter()
        .zip(&result.equity_cents)
        .map(|(bar, e)| json!([time(bar), cents(*e)]))
        .collect();
    let sample = if dataset.ends_with("-IS") {
        "in-sample"
    } else {
        "out-of-sample"
    };
    json!({
        "run_key": format!("demo:{}:{}:{dataset}", strategy.name(), key_params.join(",")),
        "strategy": {"name": strategy.name(), "version": "demo"},
        "params": params,
        "dataset": dataset,
        "sweep": "demo",
        "tags": ["demo", sample],
        "initial_capital": cents(CAPITAL_CENTS),
        "periods_per_year": 252,
        "trades": trades,
        "equity": equity,
    })
}

/// Backtests the whole grid on every data set and writes one JSON Lines file per strategy
/// under `dir/runs`; returns that folder and the number of documents.
pub fn write_documents(dir: &Path) -> Result<(PathBuf, usize)> {
    let runs = dir.join("runs");
    fs::create_dir_all(&runs).with_context(|| format!("creating `{}`", runs.display()))?;
    let markets: Vec<(&str, Vec<Bar>)> = MARKETS
        .iter()
        .map(|(name, seed, start)| (*name, prices::series(*seed, DAYS, *start)))
        .collect();
    let grid = grid();
    let mut written = 0;
    let mut names: Vec<&str> = grid.iter().map(Strategy::name).collect();
    names.dedup();
    for name in names {
        let path = runs.join(format!("{name}.jsonl"));
        let file = File::create(&path).with_context(|| format!("creating `{}`", path.display()))?;
        let mut out = BufWriter::new(file);
        for strategy in grid.iter().filter(|s| s.name() == name) {
            for (market, bars) in &markets {
                let (is, oos) = datasets(market);
                let halves = [
                    (is, &bars[..IN_SAMPLE_DAYS]),
                    (oos, &bars[IN_SAMPLE_DAYS..]),
                ];
                for (dataset, bars) in halves {
                    let doc = document(strategy, market, &dataset, bars);
                    serde_json::to_writer(&mut out, &doc)?;
                    out.write_all(b"\n")?;
                    written += 1;
                }
            }
        }
        out.flush()
            .with_context(|| format!("writing `{}`", path.display()))?;
    }
    Ok((runs, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_deterministic_and_keyed_by_strategy_params_and_dataset() {
        let bars = prices::series(1, 300, 100.0);
        let sma = Strategy::SmaCross { fast: 5, slow: 50 };
        let a = document(&sma, "SYNA", "SYNA-1d-IS", &bars);
        assert_eq!(a, document(&sma, "SYNA", "SYNA-1d-IS", &bars));
        assert_eq!(a["run_key"], "demo:sma_cross:fast=5,slow=50:SYNA-1d-IS");
        assert_eq!(a["equity"].as_array().map(Vec::len), Some(300));
        assert_eq!(a["tags"], json!(["demo", "in-sample"]));
    }

    #[test]
    fn cents_are_exact_decimals() {
        assert_eq!(cents(10_000_000), "100000.00");
        assert_eq!(cents(5), "0.05");
        assert_eq!(cents(-1234), "-12.34");
    }
}
