//! The figures of the web view's listing and comparison on the 1,000,000-run data set, each
//! with its baseline measured in the same run. Run through `bash benches/web.sh`.
//!
//! - the top 50 runs by a metric, one strategy on one data set (every metric in turn): database
//!   time, against the same listing in recording order;
//! - the count of a listing: the bounded count with no filter and with a strategy, against an
//!   exact `count(*)` of every run;
//! - the equity curves of 8 runs far apart in id (side by side), read by `= ANY`, against
//!   the same curves read as their id range, as they were before.

#[path = "support/samples.rs"]
mod samples;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use btdb::db::{Db, DbOptions};
use btdb::models::{EquityPoint, RunId};
use btdb::query::filter::RunFilter;
use btdb::query::runs::{RunList, Sort};
use btdb::schema::{equity_points, runs};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use samples::{line, percentile};

const METRICS: [&str; 16] = [
    "avg_trade_pnl",
    "best_trade",
    "cagr",
    "calmar",
    "max_drawdown",
    "n_periods",
    "n_trades",
    "profit_factor",
    "returns_kurtosis",
    "returns_skew",
    "sharpe",
    "sortino",
    "total_return",
    "volatility",
    "win_rate",
    "worst_trade",
];

fn main() -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    let options = DbOptions {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..DbOptions::default()
    };
    let db = Db::connect(&options).await?;
    let mut conn = db.reader().await?;
    let total: i64 = runs::table.count().get_result(&mut *conn).await?;
    let points: i64 = equity_points::table.count().get_result(&mut *conn).await?;
    if total < 1_000_000 || points == 0 {
        bail!("{total} runs, {points} equity points: run benches/web.sh, which loads them");
    }
    println!("data set: {total} runs, {points} equity points");

    // The top 50 by each metric in turn, one strategy and data set each time.
    let (mut sorted, mut recorded) = (Vec::new(), Vec::new());
    for i in 0..160 {
        let filter = RunFilter {
            strategy: Some(format!("bench_{}", 1 + (i * 37) % 1000)),
            dataset: Some(if i % 2 == 0 { "IS-2020" } else { "OOS-2021" }.to_owned()),
            ..RunFilter::default()
        }
        .resolve(&mut conn)
        .await?;
        for (ascending, out) in [(false, &mut sorted), (true, &mut recorded)] {
            let list = RunList {
                filter: filter.clone(),
                sort: Sort {
                    metric: (!ascending).then(|| METRICS[i % 16].to_owned()),
                    ascending: false,
                },
                limit: 51,
                ..RunList::default()
            };
            let before = db.stats().elapsed();
            let page = list.fetch(&mut conn).await?;
            assert_eq!(page.len(), 51);
            out.push(db.stats().elapsed() - before);
        }
    }
    line(
        "top 50 by a metric, one strategy and data set (db)",
        &sorted,
    );
    line("baseline: the same 50 in recording order (db)", &recorded);
    ratio(&sorted, &recorded);

    // Counts.
    let mut bounded = Vec::new();
    let mut strategy = Vec::new();
    let mut exact = Vec::new();
    let one = RunFilter {
        strategy: Some("sweep_10k".into()),
        ..RunFilter::default()
    }
    .resolve(&mut conn)
    .await?;
    for _ in 0..60 {
        let started = Instant::now();
        let count = RunList::default().count(&mut conn).await?;
        bounded.push(started.elapsed());
        assert!(!count.exact);
        let started = Instant::now();
        let count = RunList {
            filter: one.clone(),
            ..RunList::default()
        }
        .count(&mut conn)
        .await?;
        strategy.push(started.elapsed());
        assert!(count.runs >= 10_000);
        let started = Instant::now();
        let n: i64 = runs::table.count().get_result(&mut *conn).await?;
        exact.push(started.elapsed());
        assert_eq!(n, total);
    }
    line("count, no filter (\"more than 10,000\")", &bounded);
    line("count, the 10,000-run sweep's strategy", &strategy);
    line("baseline: exact count(*) of every run", &exact);
    ratio(&bounded, &exact);

    // 8 runs far apart in id, warm: each read once before timing.
    let (mut any, mut range) = (Vec::new(), Vec::new());
    for round in 0..24_i64 {
        let ids: Vec<RunId> = (0..8)
            .map(|k| RunId(1 + round * 997 + k * 125_000))
            .collect();
        let by_any = curves(&mut conn, || EquityPoint::for_run_ids(&ids)).await?;
        let by_range = curves(&mut conn, || range_of(&ids)).await?;
        assert_eq!(by_any.1, by_range.1);
        assert_eq!(by_any.1, 8 * 50);
        if round > 0 {
            any.push(
                curves(&mut conn, || EquityPoint::for_run_ids(&ids))
                    .await?
                    .0,
            );
        }
        if round > 0 && round % 4 == 1 {
            // The range reads most of the table: a few samples say enough.
            range.push(curves(&mut conn, || range_of(&ids)).await?.0);
        }
    }
    line("equity of 8 runs far apart, by = ANY (warm)", &any);
    line("baseline: the same curves by their id range (warm)", &range);
    ratio(&any, &range);
    Ok(())
}

/// The time to read the curves `query` selects, and how many points it read.
async fn curves<Q>(conn: &mut AsyncPgConnection, query: impl Fn() -> Q) -> Result<(Duration, usize)>
where
    Q: diesel_async::methods::LoadQuery<'static, AsyncPgConnection, EquityPoint> + Send + 'static,
{
    let started = Instant::now();
    let points: Vec<EquityPoint> = query().load(conn).await?;
    Ok((started.elapsed(), points.len()))
}

/// How the curves were read before: the ids' whole range through the BRIN index.
fn range_of(
    ids: &[RunId],
) -> equity_points::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EquityPoint, diesel::pg::Pg>>,
> {
    let (low, high) = (ids.iter().min().copied(), ids.iter().max().copied());
    equity_points::table
        .filter(equity_points::run_id.between(low.unwrap_or(RunId(0)), high.unwrap_or(RunId(0))))
        .filter((equity_points::run_id + 0_i64).eq_any(ids.to_vec()))
        .order((equity_points::run_id, equity_points::seq))
        .select(EquityPoint::as_select())
        .into_boxed()
}

fn ratio(a: &[Duration], b: &[Duration]) {
    println!(
        "{:<58} p50 {:>9.3}×   p95 {:>9.3}×",
        "  ratio",
        percentile(a, 50.0) / percentile(b, 50.0),
        percentile(a, 95.0) / percentile(b, 95.0)
    );
}
