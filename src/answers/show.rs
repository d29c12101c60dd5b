//! `btdb show`: one run as recorded.

use std::path::PathBuf;

use anyhow::{Result, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use clap::ArgGroup;

use crate::db::Reader;
use crate::metrics::{self, stats::SharpeConfidence};
use crate::query::run_detail::{RunDetail, RunRef, TradeGroup, TradeGroupRow};

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "key"])))]
pub struct Args {
    /// The run's id (the number `runs` and `rank` print).
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// The run by its run_key instead (a run_key may itself be a number).
    #[arg(long, value_name = "RUN_KEY")]
    pub key: Option<String>,

    /// Include every trade.
    #[arg(long)]
    pub trades: bool,

    /// Include the equity curve.
    #[arg(long)]
    pub equity: bool,

    /// The trades grouped by symbol, entry tag or exit reason: count, winners, losers, pnl and
    /// fees of each group, most profitable first (repeat for several).
    #[arg(long, value_enum, value_name = "FIELD")]
    pub by: Vec<TradeGroup>,

    /// Draw the equity curve and its drawdown to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// The annual Sharpe ratio the probabilistic Sharpe ratio and the minimum track record
    /// are measured against (docs/metrics.md).
    #[arg(long, default_value_t = 0.0, value_name = "SHARPE", allow_negative_numbers = true, value_parser = finite)]
    pub psr_benchmark: f64,
}

/// A finite number.
pub fn finite(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}

impl Args {
    /// The run asked for; an id that is no number is an error that points to `--key`.
    pub fn run_ref(&self) -> Result<RunRef> {
        match (&self.id, &self.key) {
            (_, Some(key)) => Ok(RunRef::Key(key.clone())),
            (Some(id), None) => match id.parse() {
                Ok(id) => Ok(RunRef::Id(id)),
                Err(_) => bail!(
                    "`{id}` is not a run id (a number); to show a run by its run_key: btdb show --key '{}'",
                    id.replace('\'', r"'\''")
                ),
            },
            (None, None) => bail!("name a run: btdb show ID, or btdb show --key RUN_KEY"),
        }
    }
}

/// The run `args` name, with its probabilistic Sharpe ratio, its trades with `--trades` and
/// its equity curve with `--equity` or `--plot`.
pub async fn answer(args: &Args, conn: &mut Reader<'_>) -> Result<RunDetail> {
    let run = args.run_ref()?;
    let with_equity = args.equity || args.plot.is_some();
    let mut detail = RunDetail::load_on(conn, &run, args.trades, with_equity).await?;
    for by in &args.by {
        let rows = TradeGroupRow::of_run(conn, detail.run.id, *by).await?;
        detail.trades_by.insert(*by, rows);
    }
    if let RunRef::Id(id) = run
        && let Some(other) = RunDetail::id_of_key(conn, &id.to_string()).await?
        && other != id
    {
        // Both readings of the number name a run: say which one this is and how to get the other.
        tracing::warn!(
            "`{id}` is also the run_key of run {other}; this is run {id}: btdb show --key {id} \
             shows the other"
        );
    }
    let confidence = SharpeConfidence::of(
        &detail.run.metrics,
        detail.run.periods_per_year,
        args.psr_benchmark,
    );
    Ok(RunDetail {
        confidence,
        ..detail
    })
}

/// A run's equity curve as the charts draw it.
pub fn equity_points(equity: &[(DateTime<Utc>, BigDecimal)]) -> Vec<(DateTime<Utc>, f64)> {
    equity
        .iter()
        .map(|(ts, e)| (*ts, metrics::to_f64(e)))
        .collect()
}

/// The title of a run's equity chart.
pub fn title(detail: &RunDetail) -> String {
    format!(
        "run {}: {} on {}",
        detail.run.id, detail.run.strategy, detail.run.dataset
    )
}
