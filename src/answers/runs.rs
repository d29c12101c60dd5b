//! `btdb runs`: list runs, newest first or by a metric, a page at a time, with their count.

use crate::db::Reader;
use anyhow::{Result, bail};

use super::filter::FilterArgs;
use crate::models::{RunId, RunStatus};
use crate::query::runs::{MAX_PAGE, RunList, Sort};
use crate::query::suggest;
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

    /// Order by this metric, largest first (ties by id, newest first), or `recorded`: newest
    /// first. Sorted by a metric, only the completed runs that have it are listed.
    #[arg(long, value_name = "METRIC", default_value = "recorded")]
    pub sort: String,

    /// Smallest (or oldest) first.
    #[arg(long)]
    pub asc: bool,

    /// Continue after this cursor (a run id), printed under the previous page; give the same
    /// --sort.
    #[arg(long, value_name = "CURSOR", conflicts_with = "before")]
    pub after: Option<i64>,

    /// The page before this cursor, printed above a later page.
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

/// The listing `args` ask for, its names looked up and its order checked; paged as `args`
/// say, with the one run more that says whether another page follows.
pub async fn listing(args: &Args, conn: &mut Reader<'_>) -> Result<RunList> {
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let resolved = filter.resolve(conn).await?;
    let sort = Sort {
        metric: (args.sort != "recorded").then(|| args.sort.clone()),
        ascending: args.asc,
    };
    if let Some(metric) = &sort.metric {
        if args.status == Some(RunStatus::Failed) {
            bail!(
                "--sort {metric} lists completed runs (failed runs' metrics are partial); \
                 drop --status failed or sort by `recorded`"
            );
        }
        let known = suggest::metric_names(conn).await?;
        let mut sortable = vec!["recorded".to_owned()];
        sortable.extend(known);
        suggest::require(metric, &sortable, || {
            format!("--sort: no completed run has metric `{metric}`")
        })?;
    }
    Ok(RunList {
        filter: resolved,
        status: args.status,
        sort,
        after: args.after.map(RunId),
        before: args.before.map(RunId),
        limit: args.limit + 1,
        ids: None,
    })
}

/// The page of runs `args` ask for, with the cursors of the pages beside it.
pub async fn answer(args: &Args, conn: &mut Reader<'_>) -> Result<RunPage> {
    let list = listing(args, conn).await?;
    let mut runs = list.fetch(conn).await?;
    let count = list.count(conn).await?;
    if runs.is_empty() {
        list.filter.check_dataset(conn).await?;
        list.filter.check_parameters(conn).await?;
    }
    let more = runs.len() as i64 > args.limit;
    if more {
        // Paging back, the extra run is the first; forward, the last.
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
        sort: list.sort,
        count,
        runs,
        next,
        previous,
    })
}
