//! `btdb show`: one run as recorded.

use std::path::PathBuf;

use anyhow::Result;
use bigdecimal::ToPrimitive;

use super::GlobalArgs;
use crate::db::Db;
use crate::query::run_detail::{RunDetail, RunRef};
use crate::report::{self, plot};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: its id, or its run_key.
    pub run: String,

    /// Include every trade.
    #[arg(long)]
    pub trades: bool,

    /// Include the equity curve.
    #[arg(long)]
    pub equity: bool,

    /// Draw the equity curve and its drawdown to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let detail = RunDetail::load(
        &mut conn,
        &RunRef::parse(&args.run),
        args.trades,
        args.equity || args.plot.is_some(),
    )
    .await?;
    if let Some(path) = &args.plot {
        let points: Vec<_> = detail
            .equity
            .iter()
            .flatten()
            .map(|(ts, e)| (*ts, e.to_f64().unwrap_or(f64::NAN)))
            .collect();
        let title = format!(
            "run {}: {} on {}",
            detail.run.id, detail.run.strategy, detail.run.dataset
        );
        plot::equity(path, &title, &points)?;
    }
    let detail = RunDetail {
        equity: detail.equity.filter(|_| args.equity),
        ..detail
    };
    report::emit_text(global.format, &detail, || detail.to_text())
}
