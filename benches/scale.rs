//! One step of the scale curve (benches/scale.sh): on the database it is given, the database
//! time of `rank --by best` and `--by median`, of `compare` on the 10,000-set sweep and of
//! `show` of a run with trades and equity (key `$BTDB_SCALE_SHOW`), and the database's size.
//! Prints the row's cells after the runs count: `runs | rank best p95 | rank median p95 |
//! compare p95 | show p95 | size`, and with `BTDB_SCALE_ORDERS` set, the other orders after
//! them (benches/citus.sh).

use std::time::Duration;

#[path = "support/samples.rs"]
mod samples;

use anyhow::{Context, Result};
use btdb::db::{Db, DbOptions};
use btdb::query::filter::{Resolved, RunFilter};
use btdb::query::rank::{By, Ranking};
use btdb::query::run_detail::{RunDetail, RunRef};
use btdb::query::sweep;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use samples::percentile;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

#[derive(diesel::QueryableByName)]
struct Sizes {
    #[diesel(sql_type = BigInt)]
    runs: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Database time of `n` calls of `work` after 3 of warm-up.
async fn timed<F: AsyncFnMut() -> Result<()>>(
    db: &Db,
    n: usize,
    mut work: F,
) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 3 {
        let before = db.stats().elapsed();
        work().await?;
        if i >= 3 {
            samples.push(db.stats().elapsed() - before);
        }
    }
    Ok(samples)
}

async fn run() -> Result<()> {
    let db = Db::connect(&DbOptions {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..DbOptions::default()
    })
    .await?;
    let show_key = std::env::var("BTDB_SCALE_SHOW").context("BTDB_SCALE_SHOW: a run key")?;
    let mut conn = db.conn().await?;
    let sizes: Sizes = diesel::sql_query(
        "SELECT (SELECT count(*) FROM runs) AS runs, pg_database_size(current_database()) AS bytes",
    )
    .get_result(&mut *conn)
    .await?;

    let rank = |by| Ranking {
        metric: "sharpe".into(),
        by,
        descending: true,
        filter: Resolved {
            layout: db.layout(),
            ..Resolved::default()
        },
        min_runs: None,
        top: Some(20),
    };
    let (best, median) = (rank(By::Best), rank(By::Median));
    let best = timed(&db, 100, async || {
        best.strategies(&mut conn, false).await?;
        Ok(())
    })
    .await?;
    let median = timed(&db, 100, async || {
        median.strategies(&mut conn, false).await?;
        Ok(())
    })
    .await?;
    let filter = RunFilter {
        strategy: Some("sweep_10k".into()),
        ..RunFilter::default()
    };
    let compare = timed(&db, 20, async || {
        let resolved = Resolved {
            layout: db.layout(),
            ..filter.resolve(&mut conn).await?
        };
        let rows = sweep::load(&mut conn, "sharpe", &resolved, None).await?;
        sweep::pivot(&rows, "fast", Some("slow"));
        Ok(())
    })
    .await?;
    let run = RunRef::Key(show_key);
    let show = timed(&db, 100, async || {
        RunDetail::load_on(&mut conn, &run, true, true, db.layout()).await?;
        Ok(())
    })
    .await?;
    let mut line = format!(
        "{} | {:.2} ms | {:.2} ms | {:.1} ms | {:.2} ms | {:.1} GB",
        sizes.runs,
        percentile(&best, 95.0),
        percentile(&median, 95.0),
        percentile(&compare, 95.0),
        percentile(&show, 95.0),
        sizes.bytes as f64 / 1e9
    );
    // The other orders, for benches/citus.sh: mean, worst, count, best with --min-runs 900,
    // best and median on one data set.
    if std::env::var_os("BTDB_SCALE_ORDERS").is_some() {
        let on_dataset = |by| Ranking {
            filter: Resolved {
                dataset: Some("IS-2020".into()),
                ..rank(by).filter
            },
            ..rank(by)
        };
        let orders = [
            rank(By::Mean),
            rank(By::Worst),
            rank(By::Count),
            Ranking {
                min_runs: Some(900),
                ..rank(By::Best)
            },
            on_dataset(By::Best),
            on_dataset(By::Median),
        ];
        for ranking in &orders {
            let samples = timed(&db, 100, async || {
                ranking.strategies(&mut conn, false).await?;
                Ok(())
            })
            .await?;
            line.push_str(&format!(" | {:.2} ms", percentile(&samples, 95.0)));
        }
    }
    println!("{line}");
    Ok(())
}
