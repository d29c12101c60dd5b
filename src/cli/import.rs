//! `btdb import SOURCE`: runs from another tool's own output, converted to run documents and
//! recorded as `btdb record` records them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};

use super::GlobalArgs;
use super::record::record_and_report;
use crate::ingest::RecordOptions;
use crate::ingest::freqtrade;
use crate::ingest::source::Input;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
}

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// Freqtrade backtest results (user_data/backtest_results): every strategy of a result is
    /// one run, with its trades, its closed-trade balance as equity curve and Freqtrade's
    /// figures as freqtrade.* metrics (docs/importing.md).
    Freqtrade(FreqtradeArgs),
}

#[derive(Debug, clap::Args)]
pub struct FreqtradeArgs {
    /// Result files (backtest-result-*.zip or *.json), `.last_result.json` for the newest, or
    /// directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print the run documents (JSON Lines) instead of recording them, e.g. to inspect them or
    /// pipe them to `btdb record -`.
    #[arg(long)]
    pub dry_run: bool,

    /// The sweep the runs belong to.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    match args.source {
        Source::Freqtrade(args) => import_freqtrade(args, global).await,
    }
}

async fn import_freqtrade(args: FreqtradeArgs, global: &GlobalArgs) -> Result<()> {
    let files = freqtrade::expand(&args.paths)?;
    let mut converted = Vec::new();
    let mut refused = Vec::new();
    for file in &files {
        match freqtrade::convert(file, args.sweep.as_deref()) {
            Ok(runs) => converted.push(runs),
            Err(e) => refused.push(e),
        }
    }
    // A single file that cannot be read is the command's one-line error; with others beside
    // it, each is said and the rest imported.
    if let ([only], []) = (refused.as_slice(), converted.as_slice()) {
        bail!("{only:#}");
    }
    for e in &refused {
        eprintln!("error: {e:#}");
    }
    let inputs: Vec<Input> = converted
        .into_iter()
        .map(|runs| {
            let lines: String = runs
                .documents
                .iter()
                .map(|doc| format!("{doc}\n"))
                .collect();
            Input::Converted {
                name: runs.file.display().to_string().into(),
                lines: Arc::from(lines),
            }
        })
        .collect();
    if args.dry_run {
        for input in &inputs {
            if let Input::Converted { lines, .. } = input {
                report::print(lines)?;
            }
        }
    } else if !inputs.is_empty() {
        let options = RecordOptions {
            jobs: 2,
            fail_fast: false,
            sweep: None,
            max_document: 64 << 20,
        };
        record_and_report(inputs, options, global).await?;
    }
    if !refused.is_empty() {
        bail!(
            "{} of {} could not be imported; nothing of them was recorded",
            refused.len(),
            report::plural(files.len() as u64, "file")
        );
    }
    Ok(())
}
