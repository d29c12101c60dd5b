//! `btdb show`: one run as recorded.

use anyhow::Result;

use super::{Format, GlobalArgs};
use crate::db::Db;
use crate::query::run_detail::{RunDetail, RunRef};

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
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let detail = RunDetail::load(
        &mut conn,
        &RunRef::parse(&args.run),
        args.trades,
        args.equity,
    )
    .await?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&detail)?),
        Format::Table | Format::Csv => print!("{}", detail.to_text()),
    }
    Ok(())
}
