//! `btdb import SOURCE`: runs from another tool's own output, converted to run documents and
//! recorded as `btdb record` records them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::Value;

use super::GlobalArgs;
use super::record::record_and_report;
use crate::db;
use crate::import::{self, freqtrade, mlflow, optuna};
use crate::ingest::RecordOptions;
use crate::ingest::source::Input;
use crate::report;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,

    /// Replace a run recorded under the same key with other content (one an earlier btdb
    /// imported otherwise, say) by this reading, instead of refusing it: the old run and its
    /// rows are deleted, and the new one recorded, in one transaction.
    #[arg(long, global = true)]
    pub replace: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Source {
    /// Freqtrade backtest results (user_data/backtest_results): every strategy of a result is
    /// one run, with its trades, its closed-trade balance as equity curve and Freqtrade's
    /// figures as freqtrade.* metrics; hyperopt results (user_data/hyperopt_results/*.fthypt):
    /// every epoch one run of the file's sweep, ranked by its loss (docs/importing.md).
    Freqtrade(FreqtradeArgs),
    /// An MLflow tracking store, read from its database (SQLite or PostgreSQL): every finished
    /// or failed run is one run, with its params, the last value of each metric and its tags
    /// (docs/importing.md).
    Mlflow(MlflowArgs),
    /// Optuna studies, read from their storage (SQLite, PostgreSQL or a journal file): every
    /// study is one sweep and every finished trial one run, with its parameters as Optuna
    /// decoded them, its objective values as metrics ranked the way the study optimised them,
    /// its state, times and intermediate values (docs/importing.md).
    Optuna(OptunaArgs),
}

#[derive(Debug, clap::Args)]
pub struct OptunaArgs {
    /// The storage, as Optuna's `storage=` names it: sqlite:///study.db,
    /// postgresql://user@host/optuna (also with +psycopg2), or the path of a JournalStorage
    /// file (journal.log).
    #[arg(value_name = "STORAGE")]
    pub storage: String,

    /// Only this study; repeat it for several (default: every study).
    #[arg(long, value_name = "NAME")]
    pub study: Vec<String>,

    /// The study user attribute naming the strategy (default: the study's name).
    #[arg(long, value_name = "ATTR", default_value = "strategy")]
    pub strategy_attr: String,

    /// The trial, else study, user attribute naming the data set; runs without it are on
    /// `unspecified`.
    #[arg(long, value_name = "ATTR", default_value = "dataset")]
    pub dataset_attr: String,

    /// The sweep of every run (default: each study's name).
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,

    /// Print the run documents (JSON Lines) instead of recording them.
    #[arg(long)]
    pub dry_run: bool,

    /// Only the trial of this number (with one --study), as btdb.optuna_callback records each
    /// trial when it ends.
    #[arg(long, value_name = "NUMBER", requires = "study")]
    pub trial: Option<i64>,

    /// A run document (a file, or - for standard input) whose backtest joins the trial's run
    /// (with --trial): its trades, equity curve, period and capital, and the parameters,
    /// metrics and tags the trial lacks. A later import of the study leaves the run as it is.
    #[arg(long, value_name = "FILE", requires = "trial")]
    pub attach: Option<PathBuf>,

    /// Import again every SECONDS, for a study still running, until interrupted: trials that
    /// finished since are recorded, the others are already there.
    #[arg(
        long,
        value_name = "SECONDS",
        value_parser = super::parse_seconds,
        conflicts_with_all = ["dry_run", "trial"]
    )]
    pub watch: Option<f64>,
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
    /// Result files (backtest-result-*.zip or *.json, hyperopt *.fthypt), `.last_result.json`
    /// for the newest, or directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print the run documents (JSON Lines) instead of recording them, e.g. to inspect them or
    /// pipe them to `btdb record -`.
    #[arg(long)]
    pub dry_run: bool,

    /// The sweep the runs belong to.
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,

    /// Each backtest's equity curve: `closed`, its balance after each trade's close (what
    /// Freqtrade's account drawdown reads), or `wallet`, its wallet's value at every candle with
    /// open trades at market (the `_wallet.feather` in the result's zip). btdb's own metrics
    /// are computed from it; Freqtrade's figures are kept either way.
    #[arg(long, value_enum, default_value_t = freqtrade::Curve::Closed, value_name = "CURVE")]
    pub equity: freqtrade::Curve,
}

pub async fn run(args: Args, global: &GlobalArgs) -> Result<()> {
    let replace = args.replace;
    match args.source {
        Source::Freqtrade(args) => import_freqtrade(args, replace, global).await,
        Source::Mlflow(args) => import_mlflow(args, replace, global).await,
        Source::Optuna(args) => import_optuna(args, replace, global).await,
    }
}

async fn import_optuna(args: OptunaArgs, replace: bool, global: &GlobalArgs) -> Result<()> {
    let storage = optuna::storage(&args.storage)?;
    let shown = optuna::shown(&storage);
    if args.trial.is_some() && args.study.len() != 1 {
        bail!("--trial names a trial of one study: give one --study");
    }
    let backtest = match &args.attach {
        Some(path) => Some(attached(path)?),
        None => None,
    };
    let options = optuna::OptunaOptions {
        studies: args.study,
        strategy_attr: args.strategy_attr,
        dataset_attr: args.dataset_attr,
        sweep: args.sweep,
        trial: args.trial,
    };
    loop {
        let at = |e: anyhow::Error| anyhow::anyhow!("{shown}: {e:#}");
        let (studies, notes) = match &storage {
            optuna::Storage::Postgres(url) => {
                let timeout = Duration::from_secs_f64(global.connect_timeout);
                let mut conn = db::establish(url, timeout).await.map_err(at)?;
                (optuna::rdb::read(&mut conn).await.map_err(at)?, Vec::new())
            }
            file => {
                let file = file.clone();
                tokio::task::spawn_blocking(move || optuna::read_file(&file))
                    .await?
                    .map_err(at)?
            }
        };
        let mut read = optuna::convert(studies, &options).map_err(at)?;
        read.notes.extend(notes);
        if let Some(number) = options.trial
            && read.documents.is_empty()
        {
            let unfinished = read.unfinished.keys().next();
            bail!(
                "{shown}: trial {number} of study `{}` {}",
                options.studies[0],
                match unfinished {
                    Some(what) => format!("is a {what}: it is imported once it ends"),
                    None => "is not in the study".to_owned(),
                }
            );
        }
        if let Some(backtest) = &backtest {
            for document in &mut read.documents {
                optuna::attach(document, backtest)?;
            }
        } else if !args.dry_run {
            leave_attached(&mut read, global).await?;
        }
        read.warn();
        let documents = vec![(format!("optuna {shown}"), read.documents)];
        let Some(seconds) = args.watch else {
            return record_documents(documents, args.dry_run, replace, global).await;
        };
        // A round with no finished trial yet is not an error while watching.
        if documents[0].1.is_empty() {
            tracing::info!("no finished trial yet");
        } else {
            record_documents(documents, false, replace, global).await?;
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    }
}

async fn import_mlflow(args: MlflowArgs, replace: bool, global: &GlobalArgs) -> Result<()> {
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
    read.warn();
    record_documents(vec![(name, read.documents)], args.dry_run, replace, global).await
}

/// The run document `--attach` names: one JSON object, from a file or standard input.
fn attached(path: &Path) -> Result<serde_json::Value> {
    let (shown, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        ("<stdin>".to_owned(), text)
    } else {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--attach {shown}: {e}"))?;
        (shown, text)
    };
    match serde_json::from_str(&text) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        Ok(_) => bail!("--attach {shown}: not a run document (a JSON object)"),
        Err(e) => bail!("--attach {shown}: not JSON: {e}"),
    }
}

/// Drops the trials already recorded with their backtest attached (by btdb.optuna_callback):
/// the study's own reading of them lacks the backtest, and they cannot have changed since they
/// ended.
async fn leave_attached(read: &mut import::Read, global: &GlobalArgs) -> Result<()> {
    let keys: Vec<String> = read
        .documents
        .iter()
        .filter_map(|d| d.get("run_key")?.as_str().map(str::to_owned))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let db = db::Db::connect(&global.db_options(super::SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let attached: std::collections::HashSet<String> = crate::db::explain::load(&mut conn, || {
        crate::models::Run::keys_tagged(keys.clone(), optuna::WITH_BACKTEST)
    })
    .await?
    .into_iter()
    .collect();
    if attached.is_empty() {
        return Ok(());
    }
    read.documents.retain(|d| {
        d.get("run_key")
            .and_then(serde_json::Value::as_str)
            .is_none_or(|key| !attached.contains(key))
    });
    read.notes.push(format!(
        "{} already recorded with {} backtest (btdb.optuna_callback): left as {}",
        report::plural(attached.len() as u64, "trial"),
        if attached.len() == 1 { "its" } else { "their" },
        if attached.len() == 1 {
            "it is"
        } else {
            "they are"
        }
    ));
    Ok(())
}

/// Backtests recorded under their former key (`freqtrade:STRATEGY:SECOND`) keep it.
async fn keep_former_keys(groups: &mut [(String, Vec<Value>)], global: &GlobalArgs) -> Result<()> {
    let keys: Vec<String> = groups
        .iter()
        .flat_map(|(_, documents)| documents.iter().filter_map(freqtrade::former_key))
        .map(|(key, _)| key)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let db = db::Db::connect(&global.db_options(super::SchemaUse::Read)).await?;
    let mut conn = db.reader().await?;
    let stored = crate::db::explain::load(&mut conn, || {
        crate::models::Run::with_metric(keys.clone(), freqtrade::FINAL_BALANCE)
    })
    .await?
    .into_iter()
    .map(|(key, dataset, period_start, period_end, final_balance)| {
        let backtest = freqtrade::Backtest {
            dataset,
            period_start,
            period_end,
            final_balance,
        };
        (key, backtest)
    })
    .collect();
    for (_, documents) in groups {
        freqtrade::keep_former_keys(documents, &stored);
    }
    Ok(())
}

/// Prints the documents (`--dry-run`) or records them, each group under the name of the file
/// or store it came from.
async fn record_documents(
    groups: Vec<(String, Vec<Value>)>,
    dry_run: bool,
    replace: bool,
    global: &GlobalArgs,
) -> Result<()> {
    // Each document named by its key beside its source: what its errors say.
    type Group = (String, String, Arc<[Arc<str>]>);
    let converted: Vec<Group> = groups
        .into_iter()
        .filter(|(_, documents)| !documents.is_empty())
        .map(|(name, documents)| {
            let lines = documents.iter().map(|doc| format!("{doc}\n")).collect();
            let labels = documents
                .iter()
                .enumerate()
                .map(
                    |(i, doc)| match doc.get("run_key").and_then(Value::as_str) {
                        Some(key) => Arc::from(format!("{name} ({key})")),
                        None => Arc::from(format!("{name}:{}", i + 1)),
                    },
                )
                .collect();
            (name, lines, labels)
        })
        .collect();
    if dry_run {
        for (_, lines, _) in &converted {
            report::print(lines)?;
        }
        return Ok(());
    }
    let inputs: Vec<Input> = converted
        .into_iter()
        .map(|(name, lines, labels)| Input::Converted {
            name: name.into(),
            lines: Arc::from(lines.into_bytes()),
            labels,
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
        replace,
    };
    record_and_report(inputs, options, global).await
}

async fn import_freqtrade(args: FreqtradeArgs, replace: bool, global: &GlobalArgs) -> Result<()> {
    let (files, mut refused) = freqtrade::expand(&args.paths);
    let unexpanded = refused.len();
    let mut converted = Vec::new();
    for file in &files {
        match freqtrade::convert(file, args.sweep.as_deref(), args.equity) {
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
    // Lines of a hyperopt file that are no epoch: each named, the file's other epochs imported.
    let broken: Vec<String> = converted
        .iter()
        .flat_map(|runs| runs.broken.iter().cloned())
        .collect();
    for line in &broken {
        eprintln!("error: {line}");
    }
    let mut groups: Vec<(String, Vec<Value>)> = converted
        .into_iter()
        .map(|runs| (runs.file.display().to_string(), runs.documents))
        .collect();
    if !args.dry_run {
        keep_former_keys(&mut groups, global).await?;
    }
    if groups.iter().any(|(_, documents)| !documents.is_empty()) {
        record_documents(groups, args.dry_run, replace, global).await?;
    }
    if !refused.is_empty() {
        bail!(
            "{} of {} could not be imported; nothing of them was recorded",
            refused.len(),
            report::plural(
                (files.len() + unexpanded) as u64,
                if unexpanded > 0 { "path" } else { "file" }
            )
        );
    }
    if !broken.is_empty() {
        bail!(
            "{} could not be read and {} not imported; the other epochs were",
            report::plural(broken.len() as u64, "hyperopt line"),
            if broken.len() == 1 {
                "its epoch was"
            } else {
                "their epochs were"
            }
        );
    }
    Ok(())
}
