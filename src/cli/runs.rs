//! `btdb runs`: list runs, newest first, a page at a time.

use anyhow::Result;
use serde::Serialize;

use super::GlobalArgs;
use super::filter::FilterArgs;
use crate::db::Db;
use crate::models::RunStatus;
use crate::query::runs::{MAX_PAGE, RunList, RunSummary};
use crate::report::{self, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only runs of this strategy (name in any case, every version).
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Only completed or only failed runs.
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,

    /// Runs per page.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=MAX_PAGE))]
    pub limit: i64,

    /// Continue after this cursor, printed under the previous page.
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<i64>,

    /// Metrics shown as columns of the table and CSV (JSON has them all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sharpe,total_return,max_drawdown"
    )]
    pub metrics: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusArg {
    Completed,
    Failed,
}

/// `--format json`: one page and the cursor of the next.
#[derive(Debug, Serialize)]
struct Page {
    runs: Vec<RunSummary>,
    /// Pass as `--after` for the next page; `null` on the last page.
    next: Option<i64>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let filter = args.filter.to_filter(args.strategy.clone())?;
    let db = Db::connect(&global.db_options()).await?;
    let mut conn = db.conn().await?;
    let resolved = filter.resolve(&mut conn).await?;
    let list = RunList {
        filter: resolved.clone(),
        status: args.status.map(|s| match s {
            StatusArg::Completed => RunStatus::Completed,
            StatusArg::Failed => RunStatus::Failed,
        }),
        after: args.after,
        limit: args.limit,
        ids: None,
    };
    let runs = list.fetch(&mut conn).await?;
    if runs.is_empty() {
        resolved.check_parameters(&mut conn).await?;
    }
    let next = if runs.len() as i64 == args.limit {
        runs.last().map(|r| r.id)
    } else {
        None
    };
    let page = Page { runs, next };
    report::emit(global.format, &page, || {
        let mut header = vec!["id", "strategy", "dataset", "status", "params"];
        header.extend(args.metrics.iter().map(String::as_str));
        let mut table = Table::new(header);
        for run in &page.runs {
            let mut row = vec![
                run.id.to_string(),
                run.strategy.to_string(),
                run.dataset.clone(),
                run.status.to_string(),
                run.params.to_string(),
            ];
            row.extend(args.metrics.iter().map(|m| {
                run.metrics
                    .get(m)
                    .map_or_else(|| "-".to_owned(), |v| report::number(*v))
            }));
            table.push(row);
        }
        if let Some(next) = page.next {
            table.note(format!("more: --after {next}"));
        }
        vec![table]
    })
}
