//! One step of the scale curve (benches/scale.sh): on the database it is given, the database
//! time of `rank --by best` and `--by median`, of `compare` on the 10,000-set sweep and of
//! `show` of a run with trades and equity (key `$BTDB_SCALE_SHOW`), and the database's size.
//! Prints the row's cells after the runs count: `runs | rank best p95 | rank median p95 |
//! compare p95 | show p95 | size`, and with `BTDB_SCALE_ORDERS` set, the other orders after
//! them (benches/citus.sh). With `BTDB_SCALE_ALSO` naming a second database, both are
//! measured call by call in turn, and its line follows `DATABASE_URL`'s.

use std::time::Duration;

#[path = "support/samples.rs"]
mod samples;

use anyhow::{Context, Result};
use btdb::db::{Db, DbOptions, Reader};
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

/// A database measured: its pool (for its layout and its statement timings) and one
/// connection of it.
struct Target<'a> {
    db: &'a Db,
    conn: Reader<'a>,
}

/// Database time of `n` calls of `work` on each target after 3 of warm-up. The targets take
/// turns call by call, so that a noisy moment of the machine falls on them alike.
async fn timed<F>(targets: &mut [Target<'_>], n: usize, mut work: F) -> Result<Vec<Vec<Duration>>>
where
    F: AsyncFnMut(&mut Target<'_>) -> Result<()>,
{
    let mut samples = vec![Vec::with_capacity(n); targets.len()];
    for i in 0..n + 3 {
        for (target, samples) in targets.iter_mut().zip(&mut samples) {
            let before = target.db.stats().elapsed();
            work(target).await?;
            if i >= 3 {
                samples.push(target.db.stats().elapsed() - before);
            }
        }
    }
    Ok(samples)
}

/// The ranking every figure varies: sharpe, best first, the top 20.
fn ranking(by: By) -> Ranking {
    Ranking {
        metric: "sharpe".into(),
        by,
        descending: true,
        filter: Resolved::default(),
        min_runs: None,
        top: Some(20),
    }
}

/// Each target's p95 of a ranking's strategies.
async fn rank_p95(targets: &mut [Target<'_>], shape: impl Fn() -> Ranking) -> Result<Vec<f64>> {
    let samples = timed(targets, 100, async |t| {
        shape().strategies(&mut t.conn, false).await?;
        Ok(())
    })
    .await?;
    Ok(samples.iter().map(|s| percentile(s, 95.0)).collect())
}

async fn run() -> Result<()> {
    let show_key = std::env::var("BTDB_SCALE_SHOW").context("BTDB_SCALE_SHOW: a run key")?;
    let mut urls = vec![std::env::var("DATABASE_URL").ok()];
    if let Ok(also) = std::env::var("BTDB_SCALE_ALSO") {
        urls.push(Some(also));
    }
    let mut dbs = Vec::with_capacity(urls.len());
    for database_url in urls {
        dbs.push(
            Db::connect(&DbOptions {
                database_url,
                ..DbOptions::default()
            })
            .await?,
        );
    }
    let mut targets = Vec::with_capacity(dbs.len());
    for db in &dbs {
        targets.push(Target {
            db,
            conn: db.reader().await?,
        });
    }
    let mut sizes = Vec::with_capacity(targets.len());
    for t in &mut targets {
        let size: Sizes = diesel::sql_query(
            "SELECT (SELECT count(*) FROM runs) AS runs, \
                    pg_database_size(current_database()) AS bytes",
        )
        .get_result(&mut *t.conn)
        .await?;
        sizes.push(size);
    }

    let best = rank_p95(&mut targets, || ranking(By::Best)).await?;
    let median = rank_p95(&mut targets, || ranking(By::Median)).await?;
    let filter = RunFilter {
        strategy: Some("sweep_10k".into()),
        ..RunFilter::default()
    };
    let compare = timed(&mut targets, 20, async |t| {
        let resolved = filter.resolve(&mut t.conn).await?;
        let rows = sweep::load(&mut t.conn, "sharpe", &resolved, None).await?;
        sweep::pivot(&rows, "fast", Some("slow"));
        Ok(())
    })
    .await?;
    let run = RunRef::Key(show_key);
    let show = timed(&mut targets, 100, async |t| {
        RunDetail::load_on(&mut t.conn, &run, true, true).await?;
        Ok(())
    })
    .await?;
    let mut lines: Vec<String> = (0..targets.len())
        .map(|i| {
            format!(
                "{} | {:.2} ms | {:.2} ms | {:.1} ms | {:.2} ms | {:.1} GB",
                sizes[i].runs,
                best[i],
                median[i],
                percentile(&compare[i], 95.0),
                percentile(&show[i], 95.0),
                sizes[i].bytes as f64 / 1e9
            )
        })
        .collect();
    // The other orders, for benches/citus.sh: mean, worst, count, best with --min-runs 900,
    // best and median on one data set.
    if std::env::var_os("BTDB_SCALE_ORDERS").is_some() {
        let on_dataset = |by| {
            let ranking = ranking(by);
            Ranking {
                filter: Resolved {
                    dataset: Some("IS-2020".into()),
                    ..ranking.filter
                },
                ..ranking
            }
        };
        let orders: [&dyn Fn() -> Ranking; 6] = [
            &|| ranking(By::Mean),
            &|| ranking(By::Worst),
            &|| ranking(By::Count),
            &|| Ranking {
                min_runs: Some(900),
                ..ranking(By::Best)
            },
            &|| on_dataset(By::Best),
            &|| on_dataset(By::Median),
        ];
        for shape in orders {
            let p95 = rank_p95(&mut targets, shape).await?;
            for (line, p95) in lines.iter_mut().zip(p95) {
                line.push_str(&format!(" | {p95:.2} ms"));
            }
        }
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
