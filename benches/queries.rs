//! Query figures on the 1,000,000-run data set (benches/data_1m.sql), each with its baseline
//! measured in the same run. Run through `bash benches/queries.sh`, which loads the data first.
//!
//! - `rank --metric sharpe --by best`: database time per command (p50, p95) and the whole
//!   `btdb rank` process (p50, p95);
//! - `rank --by median|mean|worst|count|best`, pooled and on one data set: database time from
//!   the kept summaries against the same ranking with every group unfolded (every run read);
//! - listing 1,000 runs with strategy, parameters and metrics: the eager `RunList` against the
//!   naive N+1 loader below, which exists only here, as the baseline;
//! - `compare` on a 10,000-set sweep: database and analysis time, and the whole process.

#[path = "support/samples.rs"]
mod samples;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use btdb::db::{Db, DbOptions, Reader};
use btdb::models::{MetricValue, ParameterSet, Run, Strategy, Sweep};
use btdb::query::filter::{Resolved, RunFilter};
use btdb::query::rank::{By, Ranking};
use btdb::query::runs::{RunList, RunSummary};
use btdb::query::sweep;
use btdb::schema::{metrics, parameter_sets, runs, strategies, sweeps};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use samples::{line, percentile};

fn main() -> Result<()> {
    // The runtime the read commands run on (src/main.rs).
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn options() -> DbOptions {
    DbOptions {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..DbOptions::default()
    }
}

async fn run() -> Result<()> {
    let db = Db::connect(&options()).await?;
    let mut conn = db.reader().await?;
    let runs: i64 = runs::table.count().get_result(&mut *conn).await?;
    if runs < 1_000_000 {
        bail!("{runs} runs in the database: load benches/data_1m.sql first (benches/queries.sh)");
    }
    println!("data set: {runs} runs");

    // rank --metric sharpe --by best: database time of the command's queries.
    let ranking = Ranking {
        metric: "sharpe".into(),
        by: By::Best,
        descending: true,
        filter: Resolved::default(),
        min_runs: None,
        top: Some(20),
    };
    let mut server = Vec::new();
    for i in 0..120 {
        let before = db.stats().elapsed();
        let ranked = ranking.strategies(&mut conn, false).await?;
        assert_eq!(ranked.len(), 20);
        if i >= 20 {
            server.push(db.stats().elapsed() - before);
        }
    }
    line("rank --by best: database time per command", &server);

    // Every other order, pooled and on one data set: from the kept summaries, then, as the
    // baseline in the same run, with every group noted as changed (inside a transaction that
    // is rolled back), which makes the same query aggregate every run as before summaries.
    for by in [By::Median, By::Mean, By::Worst, By::Count, By::Best] {
        for dataset in [None, Some("IS-2020")] {
            let ranking = Ranking {
                by,
                filter: Resolved {
                    dataset: dataset.map(str::to_owned),
                    ..Resolved::default()
                },
                // With --min-runs best and worst count their runs too.
                min_runs: matches!(by, By::Best | By::Worst).then_some(100),
                ..ranking.clone()
            };
            let timed = async |conn: &mut Reader<'_>, n: usize| -> Result<Vec<Duration>> {
                let mut samples = Vec::new();
                for i in 0..n + 3 {
                    let before = db.stats().elapsed();
                    let ranked = ranking.strategies(conn, false).await?;
                    assert_eq!(ranked.len(), 20);
                    if i >= 3 {
                        samples.push(db.stats().elapsed() - before);
                    }
                }
                Ok(samples)
            };
            let kept = timed(&mut conn, 100).await?;
            conn.batch_execute(
                "BEGIN; INSERT INTO metric_summary_changes (strategy_id, dataset) \
                 SELECT strategy_id, dataset FROM metric_summaries WHERE name = 'sharpe'",
            )
            .await?;
            let unfolded = timed(&mut conn, 10).await;
            conn.batch_execute("ROLLBACK").await?;
            let unfolded = unfolded?;
            let name = format!(
                "rank --by {}{} on {}",
                by.as_str(),
                if matches!(by, By::Best | By::Worst) {
                    " --min-runs 100"
                } else {
                    ""
                },
                dataset.unwrap_or("all data sets")
            );
            line(&format!("{name}: summaries"), &kept);
            line(&format!("{name}: every run (baseline)"), &unfolded);
        }
    }

    let exe = env!("CARGO_BIN_EXE_btdb");
    let process = |args: &[&str], n: usize| -> Result<Vec<Duration>> {
        let mut samples = Vec::new();
        for i in 0..n + 3 {
            let start = Instant::now();
            let out = Command::new(exe)
                .args(args)
                .output()
                .context("running btdb")?;
            let elapsed = start.elapsed();
            if !out.status.success() {
                bail!("btdb {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            if i >= 3 {
                samples.push(elapsed);
            }
        }
        Ok(samples)
    };
    line(
        "rank --by best: whole `btdb rank` process",
        &process(&["rank", "--metric", "sharpe", "--by", "best"], 40)?,
    );

    // 1,000 runs with parents and metrics: eager against N+1, alternating so both see the same
    // machine.
    let list = RunList {
        limit: 1000,
        ..RunList::default()
    };
    let (mut eager, mut naive) = (Vec::new(), Vec::new());
    for i in 0..12 {
        let start = Instant::now();
        let fast = list.fetch(&mut conn).await?;
        let t_eager = start.elapsed();
        let start = Instant::now();
        let slow = n_plus_one(&mut conn, 1000).await?;
        let t_naive = start.elapsed();
        assert_eq!(fast, slow, "both loaders return the same runs");
        if i >= 2 {
            eager.push(t_eager);
            naive.push(t_naive);
        }
    }
    line(
        "list 1,000 runs with params and metrics: eager (2 queries)",
        &eager,
    );
    line("list 1,000 runs: N+1 baseline (4,001 queries)", &naive);
    println!(
        "{:<58} {:.0}x faster at the median",
        "eager vs N+1",
        percentile(&naive, 50.0) / percentile(&eager, 50.0)
    );
    // The same listing on a multi-thread runtime, as the commands ran before: on a thread of
    // its own (a runtime cannot be entered from another), alternating with this one.
    let threaded = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let threaded_db = std::thread::scope(|scope| {
        scope
            .spawn(|| threaded.block_on(Db::connect(&options())))
            .join()
            .expect("connecting on the multi-thread runtime")
    })?;
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for i in 0..12 {
        let start = Instant::now();
        list.fetch(&mut conn).await?;
        let t_one = start.elapsed();
        let t_many = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    threaded.block_on(async {
                        let mut conn = threaded_db.reader().await?;
                        let start = Instant::now();
                        list.fetch(&mut conn).await?;
                        anyhow::Ok(start.elapsed())
                    })
                })
                .join()
                .expect("listing on the multi-thread runtime")
        })?;
        if i >= 2 {
            one.push(t_one);
            many.push(t_many);
        }
    }
    line("list 1,000 runs: current-thread runtime", &one);
    line("list 1,000 runs: multi-thread runtime (before)", &many);

    // compare on the 10,000-set sweep.
    let filter = RunFilter {
        strategy: Some("sweep_10k".into()),
        ..RunFilter::default()
    };
    let mut samples = Vec::new();
    for i in 0..25 {
        let start = Instant::now();
        let resolved = filter.resolve(&mut conn).await?;
        let rows = sweep::load(&mut conn, "sharpe", &resolved, None).await?;
        // One run in 97 is failed and left out.
        assert!(rows.len() > 9_800, "{} rows", rows.len());
        let pivot = sweep::pivot(&rows, "fast", Some("slow"));
        let sensitivity = sweep::sensitivity(&rows);
        assert_eq!((pivot.x_values.len(), sensitivity.len()), (100, 2));
        if i >= 5 {
            samples.push(start.elapsed());
        }
    }
    line("compare 10,000-set sweep: queries and pivot", &samples);
    line(
        "compare 10,000-set sweep: whole `btdb compare` process",
        &process(
            &[
                "compare",
                "--strategy",
                "sweep_10k",
                "--x",
                "fast",
                "--y",
                "slow",
            ],
            20,
        )?,
    );
    Ok(())
}

/// The baseline: a page of runs, then one query per run for each related row.
async fn n_plus_one(conn: &mut AsyncPgConnection, limit: i64) -> Result<Vec<RunSummary>> {
    let page: Vec<Run> = runs::table
        .order(runs::id.desc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)
        .await?;
    let mut out = Vec::with_capacity(page.len());
    for run in page {
        let strategy: Strategy = strategies::table
            .find(run.strategy_id)
            .select(Strategy::as_select())
            .first(conn)
            .await?;
        let params: ParameterSet = parameter_sets::table
            .find(run.parameter_set_id)
            .select(ParameterSet::as_select())
            .first(conn)
            .await?;
        let sweep: Option<Sweep> = match run.sweep_id {
            Some(id) => Some(
                sweeps::table
                    .find(id)
                    .select(Sweep::as_select())
                    .first(conn)
                    .await?,
            ),
            None => None,
        };
        let metrics: Vec<MetricValue> = metrics::table
            .filter(metrics::run_id.eq(run.id))
            .order(metrics::name)
            .select(MetricValue::as_select())
            .load(conn)
            .await?;
        let mut summary = RunSummary::new(
            btdb::query::runs::listed((run, strategy, params, sweep)),
            &Default::default(),
        );
        summary.metrics = metrics.into_iter().map(|m| (m.name, m.value)).collect();
        out.push(summary);
    }
    Ok(out)
}
