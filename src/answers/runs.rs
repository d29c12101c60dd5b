//! `btdb runs`: list runs, newest first, a page at a time.

use anyhow::Result;
use diesel_async::AsyncPgConnection;

use super::filter::FilterArgs;
use crate::models::{RunId, RunStatus};
use crate::query::runs::{MAX_PAGE, RunList};
use crate::report::runs::RunPage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only runs of this strategy (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Only completed or only failed runs.
    #[arg(long, value_enum)]
    pub status: Option<RunStatus>,

    /// Runs per page.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=MAX_PAGE))]
    pub limit: i64,

    /// Continue after this cursor, printed under the previous page.
    #[arg(long, value_name = "CURSOR", conflicts_with = "before")]
    pub after: Option<i64>,

    /// The page before this cursor (newer runs), printed above a later page.
    #[arg(long, value_name = "CURSOR")]
    pub before: Option<i64>,

    /// Metrics shown as columns of the table and CSV (JSON has them all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sharpe,total_return,max_drawdown"
    )]
    pub metrics: Vec<String>,
}

/// The page of runs `args` ask for, with the cursors of the pages beside it.
pub async fn answer(args: &Args, conn: &mut AsyncPgConnection) -> Result<RunPage> {
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let resolved = filter.resolve(conn).await?;
    // One run more than the page: whether it comes says whether another page follows.
    let list = RunList {
        filter: resolved.clone(),
        status: args.status,
        after: args.after.map(RunId),
        before: args.before.map(RunId),
        limit: args.limit + 1,
        ids: None,
    };
    let mut runs = list.fetch(conn).await?;
    if runs.is_empty() {
        resolved.check_parameters(conn).await?;
    }
    let more = runs.len() as i64 > args.limit;
    if more {
        // Paging back, the extra run is the newest; forward, the oldest.
        match args.before {
            Some(_) => runs.remove(0),
            None => runs.pop().expect("more runs than the page"),
        };
    }
    let (first, last) = (runs.first().map(|r| r.id), runs.last().map(|r| r.id));
    let (previous, next) = match args.before {
        Some(_) => (first.filter(|_| more), last),
        None => (
            first.filter(|_| args.after.is_some()),
            last.filter(|_| more),
        ),
    };
    Ok(RunPage {
        runs,
        next,
        previous,
    })
}
