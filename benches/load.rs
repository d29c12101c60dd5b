//! A team's load on one server, through the library: 16 readers mixing rank, compare, runs and
//! show, first alone (the baseline), then for 60 s while 4 recorders write 2,500 runs each.
//! Reports reads/s and p50/p95/p99 per read kind idle and under the writes (the ratio), runs/s
//! recorded, and checks that every run is there exactly once and that no read failed.
//! Run through `bash benches/load.sh`, which loads the data the readers read first. Loopback
//! only (the embedded cluster's socket, or DATABASE_URL), bounded in count and time.

#[path = "support/samples.rs"]
mod samples;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use btdb::db::{Db, DbOptions, SchemaUse};
use btdb::ingest::{self, RecordOptions};
use btdb::models::RunId;
use btdb::query::filter::RunFilter;
use btdb::query::rank::{By, Ranking};
use btdb::query::run_detail::{RunDetail, RunRef};
use btdb::query::runs::RunList;
use btdb::query::sweep;
use btdb::synth::GenSpec;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl as _;
use samples::percentile;
use tokio::sync::Mutex;

const READERS: usize = 16;
const RECORDERS: u64 = 4;
const RUNS_PER_RECORDER: u64 = 2_500;
const IDLE: Duration = Duration::from_secs(20);
const LOADED: Duration = Duration::from_secs(60);
const KINDS: [&str; 4] = ["rank", "compare", "runs", "show"];

type Samples = Arc<Mutex<BTreeMap<&'static str, Vec<Duration>>>>;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

/// One read of `kind`, as the CLI's command does it.
async fn read(db: &Db, kind: &str, n: usize, shown: &[RunId]) -> Result<()> {
    let mut conn = db.reader().await?;
    match kind {
        "rank" => {
            let ranking = Ranking {
                metric: "sharpe".into(),
                by: if n.is_multiple_of(2) {
                    By::Best
                } else {
                    By::Median
                },
                descending: true,
                filter: RunFilter::default().resolve(&mut conn).await?,
                min_runs: None,
                top: Some(20),
            };
            ranking.strategies(&mut conn, false).await?;
        }
        "compare" => {
            let filter = RunFilter {
                strategy: Some(format!("strategy_{}", n % 10)),
                ..RunFilter::default()
            }
            .resolve(&mut conn)
            .await?;
            let rows = sweep::load(&mut conn, "sharpe", &filter, None).await?;
            sweep::pivot(&rows, "fast", Some("slow"));
            sweep::sensitivity(&rows);
        }
        "runs" => {
            RunList {
                limit: 50,
                ..RunList::default()
            }
            .fetch(&mut conn)
            .await?;
        }
        _ => {
            let id = shown[n % shown.len()];
            RunDetail::load(&mut conn, &RunRef::Id(id), true, true).await?;
        }
    }
    Ok(())
}

/// 16 readers until `until`, each a task of its own on one thread (diesel-async's futures are
/// not `Send` for every lifetime, and the readers wait on the server, not the CPU); each read's
/// time goes to `samples`, each failure to `failed`.
async fn readers(
    db: &Db,
    until: Instant,
    shown: &Arc<Vec<RunId>>,
    samples: Samples,
    failed: &Arc<AtomicU64>,
) {
    let tasks = tokio::task::LocalSet::new();
    for reader in 0..READERS {
        let (db, shown, samples, failed) =
            (db.clone(), shown.clone(), samples.clone(), failed.clone());
        tasks.spawn_local(async move {
            let mut n = reader;
            while Instant::now() < until {
                let kind = KINDS[n % KINDS.len()];
                let started = Instant::now();
                match read(&db, kind, n, &shown).await {
                    Ok(()) => samples
                        .lock()
                        .await
                        .entry(kind)
                        .or_default()
                        .push(started.elapsed()),
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("a read failed: {e:#}");
                        }
                    }
                }
                n += 1;
            }
        });
    }
    tasks.await;
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    distinct: i64,
}

async fn run() -> Result<()> {
    let db = Db::connect(&DbOptions {
        database_url: std::env::var("DATABASE_URL").ok(),
        pool_size: READERS as u32,
        schema: SchemaUse::Write,
        ..DbOptions::default()
    })
    .await?;
    let shown: Arc<Vec<RunId>> = Arc::new(
        RunList {
            limit: 1_000,
            ..RunList::default()
        }
        .fetch(&mut db.reader().await?)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect(),
    );
    if shown.len() < 1_000 {
        bail!("too few runs to read: load the base data first (benches/load.sh)");
    }
    // Seeds no earlier run used, so that every run of this one is new.
    let base_seed = 10_000 + u64::try_from(shown[0].0).unwrap_or_default();

    let failed = Arc::new(AtomicU64::new(0));
    let idle: Samples = Arc::default();
    let started = Instant::now();
    readers(&db, Instant::now() + IDLE, &shown, idle.clone(), &failed).await;
    let idle_secs = started.elapsed().as_secs_f64();

    let loaded: Samples = Arc::default();
    let started = Instant::now();
    let until = started + LOADED;
    let recorders: Vec<_> = (0..RECORDERS)
        .map(|i| {
            let writers = db.writers(2);
            tokio::task::spawn_blocking(move || -> Result<(ingest::Summary, Duration)> {
                // `btdb gen`'s default shape.
                let spec = GenSpec {
                    runs: RUNS_PER_RECORDER,
                    strategies: 10,
                    params_per_strategy: 100,
                    trades_per_run: 50,
                    equity_per_run: 500,
                    extra_metrics: 0,
                    datasets: 2,
                    seed: base_seed + i,
                };
                let options = RecordOptions {
                    jobs: 2,
                    fail_fast: false,
                    sweep: None,
                    max_document: 64 << 20,
                    replace: false,
                };
                let began = Instant::now();
                let summary = ingest::record(
                    &writers?,
                    &[spec.into_input()],
                    &options,
                    &|_| {},
                    &mut |_| {},
                )?;
                Ok((summary, began.elapsed()))
            })
        })
        .collect();
    readers(&db, until, &shown, loaded.clone(), &failed).await;
    let loaded_secs = started.elapsed().as_secs_f64();
    let mut recorded = 0;
    let mut slowest = Duration::ZERO;
    for recorder in recorders {
        let (summary, took) = recorder.await??;
        if summary.failed > 0 {
            bail!("a recorder failed: {:?}", <[_]>::first(&summary.failures));
        }
        recorded += summary.recorded;
        slowest = slowest.max(took);
    }

    let sweeps: Vec<String> = (0..RECORDERS)
        .map(|i| format!("gen-{}", base_seed + i))
        .collect();
    let count: Count = diesel::sql_query(
        "SELECT count(*)::int8 AS n, count(DISTINCT run_key)::int8 AS distinct FROM runs \
         WHERE sweep_id IN (SELECT id FROM sweeps WHERE name = ANY($1))",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&sweeps)
    .get_result(&mut *db.reader().await?)
    .await
    .context("counting the recorded runs")?;

    println!(
        "{READERS} readers: {IDLE:?} alone, then {LOADED:?} beside {RECORDERS} recorders of \
         {RUNS_PER_RECORDER} runs (50 trades + 500 equity points each, --jobs 2)"
    );
    let (idle, loaded) = (idle.lock().await, loaded.lock().await);
    let total = |s: &BTreeMap<&str, Vec<Duration>>| s.values().map(Vec::len).sum::<usize>();
    println!(
        "reads/s: idle {:.1}, under writes {:.1} (ratio {:.2})",
        total(&idle) as f64 / idle_secs,
        total(&loaded) as f64 / loaded_secs,
        (total(&loaded) as f64 / loaded_secs) / (total(&idle) as f64 / idle_secs)
    );
    println!(
        "{:<8} {:>26} {:>26} {:>14}",
        "read", "idle p50/p95/p99 ms", "loaded p50/p95/p99 ms", "p50, p95 ratio"
    );
    for kind in KINDS {
        let (a, b) = (&idle[kind], &loaded[kind]);
        let p = |s: &[Duration], q| percentile(s, q);
        println!(
            "{kind:<8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>6.2} {:>6.2}   (n = {}, {})",
            p(a, 50.0),
            p(a, 95.0),
            p(a, 99.0),
            p(b, 50.0),
            p(b, 95.0),
            p(b, 99.0),
            p(b, 50.0) / p(a, 50.0),
            p(b, 95.0) / p(a, 95.0),
            a.len(),
            b.len()
        );
    }
    println!(
        "recorded {recorded} runs in {:.1}s: {:.0} runs/s",
        slowest.as_secs_f64(),
        recorded as f64 / slowest.as_secs_f64()
    );
    let failed = AtomicU64::load(&failed, Ordering::Relaxed);
    println!(
        "check: {} runs stored for {} recorded, {} distinct keys; {failed} reads failed",
        count.n, recorded, count.distinct
    );
    if count.n != (RECORDERS * RUNS_PER_RECORDER) as i64
        || count.distinct != count.n
        || recorded != RECORDERS * RUNS_PER_RECORDER
        || failed > 0
    {
        bail!("the check failed");
    }
    Ok(())
}
