//! `btdb record`: record run documents.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::warn;

use super::GlobalArgs;
use crate::db::{Db, SchemaUse, roles};
use crate::ingest::source::{self, Input};
use crate::ingest::{self, Outcome, RecordOptions, Summary};
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run documents: files holding one object, a JSON array or JSON Lines; directories (every
    /// *.json and *.jsonl below them); `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Sweep of the runs whose document names none.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,

    /// Groups of runs written at once, each group on its own connection (capped at
    /// --pool-size); a group is up to 64 runs in one transaction, each run whole or not at
    /// all. Ids follow the input's order whatever the number of jobs.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,

    /// Stop at the first run that fails; runs already recorded stay (a run the database
    /// refuses when written stops the batch after the rest of its group is recorded).
    #[arg(long)]
    pub fail_fast: bool,

    /// Replace a run recorded under the same key with other content by this document,
    /// instead of refusing it: the old run and its rows are deleted, and the new one recorded,
    /// in one transaction (with a new id).
    #[arg(long)]
    pub replace: bool,

    /// Largest single document (one line of JSON Lines) accepted, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_document_size: u32,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let inputs = source::expand(&args.paths)?;
    let options = RecordOptions {
        jobs: args.jobs as usize,
        fail_fast: args.fail_fast,
        sweep: args.sweep,
        max_document: args.max_document_size as usize * (1 << 20),
        replace: args.replace,
    };
    record_and_report(inputs, options, global).await
}

/// Records `inputs` as `btdb record` does: at most --pool-size groups at a time, a progress bar
/// on a terminal, each failure on stderr, the summary on stdout, and an error when any run
/// failed.
pub async fn record_and_report(
    inputs: Vec<Input>,
    mut options: RecordOptions,
    global: &GlobalArgs,
) -> Result<()> {
    let db = Db::connect(&global.db_options(SchemaUse::Write)).await?;
    roles::ensure_can(&mut *db.conn().await?, roles::Task::Record).await?;
    let jobs = (options.jobs as u32).min(global.pool_size());
    if jobs < options.jobs as u32 {
        warn!(
            "--jobs {} exceeds --pool-size {}: recording {} at a time",
            options.jobs,
            global.pool_size(),
            report::plural(jobs, "group")
        );
    }
    options.jobs = jobs as usize;
    let writers = db.writers(jobs)?;
    let progress = progress_bar(&inputs, global.quiet);
    let summary = tokio::task::spawn_blocking(move || {
        let mut counts = Summary::default();
        let mut repeats = Repeats::default();
        let summary = ingest::record(
            &writers,
            &inputs,
            &options,
            &|n| progress.inc(n),
            &mut |outcome| {
                counts.add(outcome);
                if let Outcome::Failed(failure) = outcome
                    && let Some(lines) = repeats.failed(failure)
                {
                    progress.suspend(|| lines.iter().for_each(|l| eprintln!("{l}")));
                }
                progress.set_message(report::record::describe(&counts));
            },
        );
        progress.finish_and_clear();
        if let Some(line) = repeats.finish() {
            eprintln!("{line}");
        }
        summary
    })
    .await??;

    report::record::summary(global.format, &summary)?;
    if summary.failed > 0 {
        let total = summary.recorded + summary.already_present + summary.failed;
        bail!(
            "{} of {} failed; nothing of those runs was written",
            summary.failed,
            report::plural(total, "run")
        );
    }
    Ok(())
}

/// Failures as printed: each on its line, except that one with the same error as the failure
/// before it is counted instead (a full disk fails every run alike: one line says it, and one
/// more how many runs it took).
#[derive(Debug, Default)]
struct Repeats {
    last: Option<String>,
    more: u64,
}

impl Repeats {
    /// The lines to print for `failure`, if any.
    fn failed(&mut self, failure: &ingest::Failure) -> Option<Vec<String>> {
        if self.last.as_deref() == Some(failure.error.as_str()) {
            self.more += 1;
            return None;
        }
        let mut lines: Vec<String> = self.finish().into_iter().collect();
        lines.push(format!(
            "error: {}: {}",
            failure.origin,
            failure.error.trim_end()
        ));
        self.last = Some(failure.error.clone());
        Some(lines)
    }

    /// The count of the repeats not printed yet.
    fn finish(&mut self) -> Option<String> {
        let more = std::mem::take(&mut self.more);
        (more > 0).then(|| {
            let runs = if more == 1 { "run" } else { "runs" };
            format!(
                "error: the same error for {} more {runs}",
                report::thousands(more as i64)
            )
        })
    }
}

/// A bar over the bytes of the input files on a terminal; nothing otherwise.
fn progress_bar(inputs: &[Input], quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total: Option<u64> = inputs.iter().map(Input::size).sum();
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
