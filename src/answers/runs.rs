//! `btdb runs`: list runs, newest first or by a metric, a page at a time, with their count.

use crate::db::Reader;
use anyhow::{Result, bail};

use super::filter::FilterArgs;
use super::frames::run_frame;
use crate::models::{RunId, RunStatus};
use crate::query::columns::MetricColumns;
use crate::query::runs::{MAX_PAGE, Pages, RunList, Sort};
use crate::query::suggest;
use crate::report::arrow::Decimals;
use crate::report::runs::{RunFrame, RunPage};

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

    /// Runs per page (the table and JSON: at most 10,000), or `all`: with --format csv or
    /// arrow, every matching run, streamed. A listing cut by the limit says so on stderr, with
    /// the cursor of the rest.
    #[arg(long, default_value = "50", value_parser = Limit::parse)]
    pub limit: Limit,

    /// Order by this metric, largest first (ties by id, newest first), or `recorded`: newest
    /// first. Sorted by a metric, the runs without a value of it (failed or pruned runs, runs
    /// lacking it) follow the others, newest first (oldest with --asc).
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

    /// Metrics shown as columns, or `all`: every metric the listed runs have. Default:
    /// sharpe,total_return,max_drawdown in the table, all in CSV and Arrow (JSON has them all).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub metrics: Option<Vec<String>>,
}

/// The metrics the table shows when --metrics is not given.
pub const TABLE_METRICS: [&str; 3] = ["sharpe", "total_return", "max_drawdown"];

/// How many runs a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A page of this many.
    Page(i64),
    /// Every matching run.
    All,
}

impl Limit {
    fn parse(text: &str) -> Result<Self, String> {
        if text == "all" {
            return Ok(Limit::All);
        }
        match text.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Limit::Page(n)),
            _ => Err(format!(
                "`{text}` is not a number of runs (1 or more) nor `all`"
            )),
        }
    }

    /// The page size of the table and JSON, which show at most `MAX_PAGE` runs at a time.
    pub fn page(self) -> Result<i64> {
        match self {
            Limit::Page(n) if n <= MAX_PAGE => Ok(n),
            _ => bail!(
                "--limit {self}: the table and JSON show pages of at most {MAX_PAGE} runs (--after \
                 for the next); --format csv or arrow streams any number, or all"
            ),
        }
    }

    /// How many runs a stream reads: `None` for all.
    pub fn runs(self) -> Option<i64> {
        match self {
            Limit::Page(n) => Some(n),
            Limit::All => None,
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Page(n) => write!(f, "{n}"),
            Limit::All => f.write_str("all"),
        }
    }
}

impl Args {
    /// The metric columns asked for; `None` when every metric the listed runs have.
    pub fn metric_columns(&self, machine: bool) -> MetricColumns {
        match &self.metrics {
            Some(names) if names.iter().any(|n| n == "all") => MetricColumns::All,
            Some(names) => MetricColumns::Named(names.clone()),
            None if machine => MetricColumns::All,
            None => MetricColumns::Named(TABLE_METRICS.map(str::to_owned).to_vec()),
        }
    }
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
        if let Some(status @ (RunStatus::Failed | RunStatus::Pruned)) = args.status {
            bail!(
                "--sort {metric} orders completed runs by their value ({status} runs' metrics \
                 are partial, and are never ranked); drop --status {status} or sort by `recorded`"
            );
        }
        suggest::require_metric(conn, metric, &["recorded"], || {
            format!("--sort: no completed run has metric `{metric}`")
        })
        .await?;
    }
    Ok(RunList {
        filter: resolved,
        status: args.status,
        sort,
        after: args.after.map(RunId),
        before: args.before.map(RunId),
        limit: args.limit.runs().unwrap_or(MAX_PAGE) + 1,
        ids: None,
    })
}

/// The page of runs `args` ask for, with the cursors of the pages beside it.
pub async fn answer(args: &Args, conn: &mut Reader<'_>) -> Result<RunPage> {
    let limit = args.limit.page()?;
    let list = listing(args, conn).await?;
    let mut runs = list.fetch(conn).await?;
    let count = list.count(conn).await?;
    if runs.is_empty() {
        list.filter.check_dataset(conn).await?;
        list.filter.check_parameters(conn).await?;
    }
    let more = runs.len() as i64 > limit;
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
    let metrics = match args.metric_columns(false) {
        MetricColumns::Named(names) => names,
        MetricColumns::All => list.metric_names(conn).await?,
    };
    Ok(RunPage {
        metrics,
        sort: list.sort,
        count,
        runs,
        next,
        previous,
    })
}

/// Every run `args` select (up to --limit), a page at a time, and the columns they are written
/// with in the machine formats, decided before the first page.
pub async fn stream(
    args: &Args,
    conn: &mut Reader<'_>,
    decimals: Decimals,
) -> Result<(Pages, RunFrame)> {
    let metrics = args.metric_columns(true);
    if let MetricColumns::Named(names) = &metrics
        && let Some(metric) = names.iter().find(|m| m.is_empty())
    {
        bail!("--metrics: `{metric}` is not a metric name");
    }
    let limit = args.limit.runs();
    // The frame is made for the listing as streamed (which drops a `--before` cursor).
    let pages = Pages::new(listing(args, conn).await?, limit);
    let frame = run_frame(pages.list(), limit, conn, &metrics, decimals).await?;
    Ok((pages, frame))
}
