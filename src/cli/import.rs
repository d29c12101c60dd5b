//! `btdb import SOURCE`: runs from another tool's own output, converted to run documents and
//! recorded as `btdb record` records them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::Value;
use tracing::warn;

use super::GlobalArgs;
use super::record::record_and_report;
use crate::db;
use crate::ingest::source::Input;
use crate::ingest::{RecordOptions, freqtrade, mlflow};
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
    /// An MLflow tracking store, read from its database (SQLite or PostgreSQL): every finished
    /// or failed run is one run, with its params, the last value of each metric and its tags
    /// (docs/importing.md).
    Mlflow(MlflowArgs),
}

#[derive(Debug, clap::Args)]
pub struct MlflowArgs {
    /// The store's database, as MLflow names it: sqlite:///mlflow.db, or
    /// postgresql://user@host/mlflow (also with +psycopg2).
    #[arg(long, value_name = "URI")]
    pub tracking_uri: String,

    /// Only this experiment; repeat it for several (default: every active experiment).
    #[arg(long, value_name = "NAME")]
    pub experiment: Vec<String>,

    /// The tag naming each run's strategy (default: the run's experiment).
    #[arg(long, value_name = "TAG")]
    pub strategy_tag: Option<String>,

    /// The tag, or else the param, naming each run's data set; runs without it are on
    /// `unspecified`.
    #[arg(long, value_name = "TAG", default_value = "dataset")]
    pub dataset_tag: String,

    /// Print the run documents (JSON Lines) instead of recording them.
    #[arg(long)]
    pub dry_run: bool,

    /// The sweep the runs belong to.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,
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
        Source::Mlflow(args) => import_mlflow(args, global).await,
    }
}

async fn import_mlflow(args: MlflowArgs, global: &GlobalArgs) -> Result<()> {
    let store = mlflow::store(&args.tracking_uri)?;
    let options = mlflow::MlflowOptions {
        experiments: args.experiment,
        strategy_tag: args.strategy_tag,
        dataset_tag: args.dataset_tag,
        sweep: args.sweep,
    };
    let (read, name) = match store {
        mlflow::Store::Postgres(url) => {
            let timeout = Duration::from_secs_f64(global.connect_timeout);
            let shown = crate::db::url::redact(&url);
            let at = |e: anyhow::Error| anyhow::anyhow!("{shown}: {e:#}");
            let mut conn = db::establish(&url, timeout).await.map_err(at)?;
            let read = mlflow::read(&mut conn, &options).await.map_err(at)?;
            (read, format!("mlflow {shown}"))
        }
        mlflow::Store::Sqlite(path) => {
            let shown = path.display().to_string();
            let read = tokio::task::spawn_blocking(move || mlflow::read_sqlite(&path, &options))
                .await?
                .map_err(|e| anyhow::anyhow!("{shown}: {e:#}"))?;
            (read, format!("mlflow {shown}"))
        }
    };
    // Nothing is dropped without a word.
    if !read.renamed.is_empty() {
        let renamed: Vec<String> = read
            .renamed
            .iter()
            .map(|(from, to)| format!("`{from}` as `{to}`"))
            .collect();
        warn!(
            "metrics whose names btdb refuses are recorded as: {}",
            renamed.join(", ")
        );
    }
    if let Some((run, metric, value)) = read.not_finite.first() {
        let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
        for (_, _, word) in &read.not_finite {
            *kinds.entry(word).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(w, n)| format!("{n} {w}")).collect();
        warn!(
            "{} left out, which a run cannot hold: {} (first: metric `{metric}` of run {run} is \
             {value})",
            report::plural(read.not_finite.len() as u64, "metric value"),
            kinds.join(", ")
        );
    }
    if read.unfinished > 0 {
        warn!(
            "{} still running or scheduled, not imported",
            report::plural(read.unfinished as u64, "run")
        );
    }
    record_documents(vec![(name, read.documents)], args.dry_run, global).await
}

/// Prints the documents (`--dry-run`) or records them, each group under the name of the file
/// or store it came from.
async fn record_documents(
    groups: Vec<(String, Vec<Value>)>,
    dry_run: bool,
    global: &GlobalArgs,
) -> Result<()> {
    let converted: Vec<(String, String)> = groups
        .into_iter()
        .filter(|(_, documents)| !documents.is_empty())
        .map(|(name, documents)| {
            let lines = documents.iter().map(|doc| format!("{doc}\n")).collect();
            (name, lines)
        })
        .collect();
    if dry_run {
        for (_, lines) in &converted {
            report::print(lines)?;
        }
        return Ok(());
    }
    let inputs: Vec<Input> = converted
        .into_iter()
        .map(|(name, lines)| Input::Converted {
            name: name.into(),
            lines: Arc::from(lines.into_bytes()),
        })
        .collect();
    if inputs.is_empty() {
        bail!("nothing to import: no run was found");
    }
    let options = RecordOptions {
        jobs: 2,
        fail_fast: false,
        sweep: None,
        max_document: 64 << 20,
    };
    record_and_report(inputs, options, global).await
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
    let groups: Vec<(String, Vec<Value>)> = converted
        .into_iter()
        .map(|runs| (runs.file.display().to_string(), runs.documents))
        .collect();
    if !groups.is_empty() {
        record_documents(groups, args.dry_run, global).await?;
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
