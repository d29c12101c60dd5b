//! Criterion benchmarks of the commands' work, through the library, on the database of
//! `benches/queries.sh` (the 1,000,000-run set in target/bench-home) or DATABASE_URL:
//!
//! - record: 100 generated runs (50 trades, 500 equity points each) per iteration, a new seed
//!   every time so that nothing is "already present";
//! - rank: `rank --metric sharpe --by best --top 20` and `--by median`;
//! - compare: the 10,000-set sweep, loaded and pivoted;
//! - show: one recorded run with its trades and equity curve.
//!
//! Run with `bash benches/all.sh`, or `cargo bench --bench commands` once the data is loaded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use btdb::db::{Db, DbOptions};
use btdb::ingest::{self, RecordOptions};
use btdb::query::filter::{Resolved, RunFilter};
use btdb::query::rank::{By, Ranking};
use btdb::query::run_detail::{RunDetail, RunRef};
use btdb::query::sweep;
use btdb::synth::GenSpec;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const BATCH: u64 = 100;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn connect(rt: &Runtime) -> Db {
    rt.block_on(Db::connect(&DbOptions {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..DbOptions::default()
    }))
    .expect("the benchmark database (run benches/queries.sh once to load it)")
}

fn spec(seed: u64) -> GenSpec {
    GenSpec {
        runs: BATCH,
        strategies: 10,
        params_per_strategy: 100,
        trades_per_run: 50,
        equity_per_run: 500,
        extra_metrics: 0,
        datasets: 2,
        seed,
    }
}

fn record(c: &mut Criterion) {
    let rt = runtime();
    let db = connect(&rt);
    let writers = db.writers(2).expect("writers");
    // A seed per batch that no earlier benchmark run used.
    let start = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
    )
    .unwrap_or(1);
    let seed = AtomicU64::new(start);
    let mut group = c.benchmark_group("record");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(BATCH));
    group.bench_function("100 runs x (50 trades + 500 equity), --jobs 2", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let inputs = vec![spec(seed.fetch_add(1, Ordering::Relaxed)).into_input()];
                let options = RecordOptions {
                    jobs: 2,
                    fail_fast: true,
                    sweep: None,
                    max_document: 64 << 20,
                    replace: false,
                };
                let began = Instant::now();
                let summary = ingest::record(&writers, &inputs, &options, &|_| {}, &mut |_| {})
                    .expect("record");
                total += began.elapsed();
                assert_eq!(summary.recorded, BATCH);
            }
            total
        });
    });
    group.finish();
    // For `show`: one run that has trades and an equity curve.
    let last = seed.load(Ordering::Relaxed) - 1;
    SHOW_KEY.get_or_init(|| format!("gen:{last}:0"));
}

static SHOW_KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn queries(c: &mut Criterion) {
    let rt = runtime();
    let db = connect(&rt);
    let ranking = |by| Ranking {
        metric: "sharpe".into(),
        by,
        descending: true,
        filter: Resolved::default(),
        min_runs: None,
        top: Some(20),
    };
    let mut group = c.benchmark_group("rank");
    for (name, by) in [("best", By::Best), ("median", By::Median)] {
        let ranking = ranking(by);
        group.bench_function(format!("--metric sharpe --by {name} --top 20"), |b| {
            b.to_async(&rt).iter(|| async {
                let mut conn = db.reader().await.expect("conn");
                ranking.strategies(&mut conn, false).await.expect("rank")
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("compare");
    group.sample_size(20);
    group.bench_function("10,000-set sweep --x fast --y slow", |b| {
        b.to_async(&rt).iter(|| async {
            let mut conn = db.reader().await.expect("conn");
            let filter = RunFilter {
                strategy: Some("sweep_10k".into()),
                ..RunFilter::default()
            }
            .resolve(&mut conn)
            .await
            .expect("resolve");
            let rows = sweep::load(&mut conn, "sharpe", &filter, None)
                .await
                .expect("sweep");
            (
                sweep::pivot(&rows, "fast", Some("slow")),
                sweep::sensitivity(&rows),
            )
        });
    });
    group.finish();

    let key = SHOW_KEY.get().cloned().unwrap_or_else(|| "gen:1:0".into());
    let mut group = c.benchmark_group("show");
    group.bench_function("one run with 50 trades and 500 equity points", |b| {
        b.to_async(&rt).iter(|| async {
            let mut conn = db.reader().await.expect("conn");
            RunDetail::load(&mut conn, &RunRef::Key(key.clone()), true, true)
                .await
                .expect("show")
        });
    });
    group.finish();
}

criterion_group!(benches, record, queries);
criterion_main!(benches);
