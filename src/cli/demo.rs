//! `btdb demo`: backtest a realistic sweep, record it, rank it, check it out of sample and draw
//! its heatmap, on the embedded database with no setup.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::{Format, GlobalArgs};
use crate::answers::compare;
use crate::db::{Db, SchemaUse, roles};
use crate::demo::{self, MAIN_MARKET};
use crate::ingest::{self, RecordOptions, Summary};
use crate::metrics::pbo::PboMetric;
use crate::query::filter::RunFilter;
use crate::query::rank::{By, Ranking};
use crate::query::sweep;
use crate::report::{self, demo::DemoReport, plot};

/// The partitions of the demo's cross-validation: compare --pbo's default.
const PBO_PARTITIONS: usize = 16;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the run documents (runs/*.jsonl) and the heatmap.
    #[arg(long, value_name = "DIR", default_value = "btdb-demo")]
    pub out: PathBuf,

    /// Runs recorded at once (capped at --pool-size).
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let started = Instant::now();
    let out = args.out.clone();
    let (runs_folder, documents) =
        tokio::task::spawn_blocking(move || demo::write_documents(&out)).await??;
    say(
        global,
        &format!(
            "backtested {documents} runs (3 strategies, 54 parameter sets, 2 markets × in/out of sample) \
         in {:.1}s; run documents in {}",
            started.elapsed().as_secs_f64(),
            runs_folder.display()
        ),
    );

    let db = Db::connect(&global.db_options(SchemaUse::Write)).await?;
    roles::ensure_can(&mut *db.reader().await?, roles::Task::Record).await?;
    let jobs = args.jobs.min(global.pool_size());
    let writers = db.writers(jobs)?;
    let options = RecordOptions {
        jobs: jobs as usize,
        fail_fast: false,
        sweep: None,
        max_document: 64 << 20,
        replace: false,
    };
    let folder = runs_folder.clone();
    let summary: Summary = tokio::task::spawn_blocking(move || {
        let inputs = ingest::source::expand(&[folder])?;
        ingest::record(&writers, &inputs, &options, &|_| {}, &mut |_| {})
    })
    .await??;
    say(
        global,
        &format!(
            "recorded {}, already present {}, failed {} ({} in {})",
            summary.recorded,
            summary.already_present,
            summary.failed,
            db.target(),
            format_args!("{:.1}s", started.elapsed().as_secs_f64())
        ),
    );

    let mut conn = db.reader().await?;
    let (in_sample, out_of_sample) = demo::datasets(MAIN_MARKET);
    let ranking = Ranking {
        metric: "sharpe".into(),
        by: By::Best,
        descending: true,
        filter: RunFilter {
            dataset: Some(in_sample.clone()),
            ..RunFilter::default()
        }
        .resolve(&mut conn)
        .await?,
        min_runs: None,
        top: None,
    };
    let ranked = ranking.strategies(&mut conn, true).await?;

    let mut checks = Vec::new();
    let mut overfitting = Vec::new();
    for strategy in ["sma_cross", "momentum", "mean_reversion"] {
        let filter = RunFilter {
            strategy: Some(strategy.into()),
            ..RunFilter::default()
        }
        .resolve(&mut conn)
        .await?;
        let split = [in_sample.clone(), out_of_sample.clone()];
        let rows = sweep::load(&mut conn, "sharpe", &filter, Some(&split)).await?;
        checks.push((
            strategy.to_owned(),
            sweep::out_of_sample(&rows, &in_sample, &out_of_sample, true),
        ));
        let pbo = compare::overfitting(
            &db,
            strategy,
            filter.strategy_ids.as_deref().unwrap_or_default(),
            &in_sample,
            PBO_PARTITIONS,
            PboMetric::Sharpe,
            false,
        )
        .await?;
        overfitting.push((strategy.to_owned(), pbo.pbo));
    }

    let heatmap = args.out.join("sma_cross_heatmap.svg");
    let filter = RunFilter {
        strategy: Some("sma_cross".into()),
        dataset: Some(in_sample.clone()),
        ..RunFilter::default()
    }
    .resolve(&mut conn)
    .await?;
    let rows = sweep::load(&mut conn, "sharpe", &filter, None).await?;
    let pivot = sweep::pivot(&rows, "fast", Some("slow"));
    let svg = plot::sweep(&format!("sma_cross on {in_sample}"), "sharpe", &pivot, None)?;
    plot::save(&heatmap, &svg)?;

    let report = DemoReport {
        documents,
        runs_folder,
        recorded: summary.recorded,
        already_present: summary.already_present,
        failed: summary.failed,
        ranking_dataset: in_sample.clone(),
        ranking: ranked,
        out_of_sample: checks,
        overfitting,
        pbo_partitions: PBO_PARTITIONS,
        heatmap,
    };
    report::emit(global.format, &report, || report.tables())?;
    let btdb = invocation();
    let best = report
        .ranking
        .first()
        .map_or_else(|| "1".to_owned(), |r| r.best_run.id.to_string());
    say(
        global,
        &format!(
            "heatmap of sma_cross's sweep: {}\n\nnext:\n  \
             {btdb} rank --by median --dataset {in_sample}\n  \
             {btdb} compare --strategy sma_cross --x fast --y slow --dataset {in_sample}\n  \
             {btdb} compare --strategy momentum --is {in_sample} --oos {out_of_sample}\n  \
             {btdb} compare --strategy sma_cross --dataset {in_sample} --pbo\n  \
             {btdb} show {best} --plot equity.svg",
            report.heatmap.display(),
        ),
    );
    Ok(())
}

/// How to run this btdb again: `btdb` when that is on the PATH, else this executable's path
/// (after `cargo run`, nothing has put `btdb` on the PATH).
fn invocation() -> String {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("btdb").is_file()));
    if on_path {
        return "btdb".to_owned();
    }
    let Ok(exe) = std::env::current_exe() else {
        return "btdb".to_owned();
    };
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
        .unwrap_or(exe);
    shown.display().to_string()
}

/// Progress for people, on stderr so that stdout stays the report.
fn say(global: &GlobalArgs, line: &str) {
    if !global.quiet && global.format != Format::Json {
        eprintln!("{line}");
    }
}
