//! `btdb explain COMMAND ...`: the plan of every query a read command runs, with EXPLAIN
//! (ANALYZE, BUFFERS), instead of the command's own output.

use anyhow::Result;

use super::{GlobalArgs, compare, rank, runs, show};
use crate::db::explain::capture;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Plans only: do not execute the queries (EXPLAIN without ANALYZE).
    #[arg(long)]
    pub no_analyze: bool,

    #[command(subcommand)]
    pub command: Explained,
}

/// The commands whose queries can be explained: those that only read.
#[derive(Debug, clap::Subcommand)]
pub enum Explained {
    Runs(runs::Args),
    Show(show::Args),
    Rank(rank::Args),
    Compare(compare::Args),
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let command = async {
        match args.command {
            Explained::Runs(a) => runs::run(a, global).await,
            Explained::Show(a) => show::run(a, global).await,
            Explained::Rank(a) => rank::run(a, global).await,
            Explained::Compare(a) => compare::run(a, global).await,
        }
    };
    // With ANALYZE each query runs twice: once explained, once for the command.
    let (result, plans) = capture(!args.no_analyze, report::silenced(command)).await;
    result?;
    report::explain::plans(global.format, &plans)
}
