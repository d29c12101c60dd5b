//! Optuna studies as run documents, for `btdb import optuna`: every study one sweep, every
//! finished trial one run, read straight from the storage Optuna wrote (an RDB schema in SQLite
//! or PostgreSQL, `rdb`, or a JournalStorage file, `journal`), with no Python. docs/importing.md
//! maps every field.

pub mod journal;
pub mod rdb;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{NO_DATASET, Read, metric_name, not_finite_word};

/// What to read of the storage, and how its trials become runs.
#[derive(Debug, Clone)]
pub struct OptunaOptions {
    /// Only these studies (every one when empty).
    pub studies: Vec<String>,
    /// The study user attribute naming the strategy; the study's name where it is absent.
    pub strategy_attr: String,
    /// The trial, else study, user attribute naming the data set.
    pub dataset_attr: String,
    /// The sweep of every run; each study's name when `None`.
    pub sweep: Option<String>,
    /// Only the trial of this number.
    pub trial: Option<i64>,
}

/// The tag of a trial's run recorded with its backtest attached (`attach`): a later import of
/// the study leaves such runs as they are.
pub const WITH_BACKTEST: &str = "optuna.backtest";

/// Where an Optuna storage is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A PostgreSQL URL btdb connects with.
    Postgres(String),
    Sqlite(PathBuf),
    /// A JournalStorage file (`JournalFileBackend`).
    Journal(PathBuf),
}

/// A storage as Optuna's `storage=` takes it: an RDB URL (`sqlite:///study.db`,
/// `postgresql://…`, also with a `+driver`), or the path of a journal file. A path to a SQLite
/// file is taken for what it is.
pub fn storage(text: &str) -> Result<Storage> {
    if let Some((scheme, rest)) = text.split_once("://") {
        if let Some(database) = super::sqlalchemy_database(scheme, rest) {
            return match database.map_err(|e| anyhow!("`{text}` {e}"))? {
                super::Database::Postgres(url) => Ok(Storage::Postgres(url)),
                super::Database::Sqlite(path) => Ok(Storage::Sqlite(path)),
            };
        }
        let driver = scheme.split('+').next().unwrap_or_default();
        match driver {
            "mysql" | "oracle" | "mssql" => {
                bail!(
                    "btdb reads Optuna storages in SQLite, PostgreSQL or a journal file, not {driver}"
                )
            }
            "redis" => bail!(
                "btdb reads journal files, not Redis journals: export the study to a file with \
                 optuna.copy_study(..., to_storage=JournalStorage(JournalFileBackend(PATH)))"
            ),
            other => bail!("`{other}://` is not a storage btdb reads"),
        }
    }
    let path = PathBuf::from(text);
    let mut magic = [0u8; 16];
    let is_sqlite = std::fs::File::open(&path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"SQLite format 3\0";
    Ok(if is_sqlite {
        Storage::Sqlite(path)
    } else {
        Storage::Journal(path)
    })
}

/// Optuna's TrialState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Complete,
    Pruned,
    Fail,
    Waiting,
}

impl State {
    /// The name the RDB schema stores.
    fn from_name(name: &str) -> Result<State> {
        Ok(match name {
            "RUNNING" => State::Running,
            "COMPLETE" => State::Complete,
            "PRUNED" => State::Pruned,
            "FAIL" => State::Fail,
            "WAITING" => State::Waiting,
            other => bail!("unknown trial state `{other}`"),
        })
    }

    /// The number a journal stores.
    fn from_number(n: i64) -> Result<State> {
        Ok(match n {
            0 => State::Running,
            1 => State::Complete,
            2 => State::Pruned,
            3 => State::Fail,
            4 => State::Waiting,
            other => bail!("unknown trial state {other}"),
        })
    }

    fn is_finished(self) -> bool {
        matches!(self, State::Complete | State::Pruned | State::Fail)
    }
}

/// Optuna's StudyDirection; `None` for NOT_SET.
fn direction_from_name(name: &str) -> Result<Option<&'static str>> {
    Ok(match name {
        "MINIMIZE" => Some("minimize"),
        "MAXIMIZE" => Some("maximize"),
        "NOT_SET" => None,
        other => bail!("unknown study direction `{other}`"),
    })
}

/// A parameter as Optuna stores it: the float of its internal representation and its
/// distribution as JSON, which together give its value.
#[derive(Debug, Clone)]
pub struct RawParam {
    pub name: String,
    pub internal: f64,
    pub distribution: String,
}

#[derive(Debug, Clone)]
pub struct Trial {
    pub number: i64,
    pub state: State,
    pub params: Vec<RawParam>,
    /// One per objective; `None` where the trial has no value.
    pub values: Option<Vec<f64>>,
    pub intermediate: BTreeMap<i64, f64>,
    pub user_attrs: Map<String, Value>,
    pub started: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Study {
    pub name: String,
    /// `maximize` or `minimize` per objective; `None` where not set.
    pub directions: Vec<Option<&'static str>>,
    pub metric_names: Option<Vec<String>>,
    pub user_attrs: Map<String, Value>,
    pub trials: Vec<Trial>,
}

/// The system attribute where `Study.set_metric_names` keeps the names.
const METRIC_NAMES: &str = "study:metric_names";

/// A naive datetime as the RDB schema keeps it (`2026-12-07 01:54:34.776925`), read as UTC,
/// which Optuna 5 writes.
fn naive_utc(text: &str) -> Result<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .map(|t| t.and_utc())
        .map_err(|_| anyhow!("`{text}` is not a datetime"))
}

/// A parameter's value from its internal float and distribution, as Optuna's
/// `to_external_repr`: ints as integers, floats as they are, categorical choices by their
/// value (the float is the choice's index). `Ok(None)` for a choice of `None`, which a run's
/// parameters cannot hold.
pub fn decode(param: &RawParam) -> Result<Option<Value>> {
    let distribution: Value = serde_json::from_str(&param.distribution).map_err(|e| {
        anyhow!(
            "parameter `{}`: its distribution is not JSON: {e}",
            param.name
        )
    })?;
    let kind = distribution["name"].as_str().unwrap_or_default();
    let value = param.internal;
    let out = match kind {
        "IntDistribution" | "IntUniformDistribution" | "IntLogUniformDistribution" => {
            json!(value as i64)
        }
        "FloatDistribution"
        | "UniformDistribution"
        | "LogUniformDistribution"
        | "DiscreteUniformDistribution" => {
            if !value.is_finite() {
                bail!("parameter `{}` is {value}", param.name);
            }
            json!(value)
        }
        "CategoricalDistribution" => {
            let choices = distribution["attributes"]["choices"]
                .as_array()
                .ok_or_else(|| anyhow!("parameter `{}`: its choices are missing", param.name))?;
            let index = value as usize;
            let choice = choices.get(index).filter(|_| value >= 0.0).ok_or_else(|| {
                anyhow!(
                    "parameter `{}`: choice {value} of {} choices",
                    param.name,
                    choices.len()
                )
            })?;
            if choice.is_null() {
                return Ok(None);
            }
            choice.clone()
        }
        other => bail!("parameter `{}`: unknown distribution `{other}`", param.name),
    };
    Ok(Some(out))
}

/// A parameter's distribution as a run's search space holds it: an int or float range
/// (`type`, `low`, `high`, `step`, `log`) or categorical `choices`; `None` for a distribution
/// that is not JSON (the parameter's decoding says so).
fn axis(param: &RawParam) -> Option<Value> {
    let distribution: Value = serde_json::from_str(&param.distribution).ok()?;
    let attributes = distribution.get("attributes")?;
    let kind = match distribution.get("name")?.as_str()? {
        "CategoricalDistribution" => return Some(json!({"choices": attributes.get("choices")?})),
        "IntDistribution" | "IntUniformDistribution" | "IntLogUniformDistribution" => "int",
        _ => "float",
    };
    let mut axis = Map::new();
    axis.insert("type".into(), json!(kind));
    for key in ["low", "high", "step", "log", "q"] {
        if let Some(value) = attributes.get(key).filter(|v| !v.is_null()) {
            // Optuna's older DiscreteUniformDistribution calls its step q.
            let key = if key == "q" { "step" } else { key };
            axis.insert(key.into(), value.clone());
        }
    }
    Some(Value::Object(axis))
}

/// The run documents of the chosen studies' finished trials.
pub fn convert(studies: Vec<Study>, options: &OptunaOptions) -> Result<Read> {
    let studies = super::choose(
        studies,
        &options.studies,
        |s| &s.name,
        "--study: the storage has no study",
    )?;
    let mut read = Read::default();
    let mut none_choices = 0usize;
    let mut not_finite_steps = 0usize;
    let mut unusable_attrs: BTreeMap<String, usize> = BTreeMap::new();
    for study in &studies {
        let names = objective_names(study, &mut read);
        let strategy = study
            .user_attrs
            .get(&options.strategy_attr)
            .and_then(Value::as_str)
            .unwrap_or(&study.name);
        let consumed = [
            options.strategy_attr.as_str(),
            options.dataset_attr.as_str(),
        ];
        // The study's other text attributes describe every one of its runs.
        let study_tags: Vec<String> = study
            .user_attrs
            .iter()
            .filter(|(key, _)| !consumed.contains(&key.as_str()))
            .filter_map(|(key, value)| attribute_tag(key, value))
            .collect();
        let directions: Map<String, Value> = names
            .iter()
            .zip(&study.directions)
            .filter_map(|(name, d)| Some((name.clone(), json!((*d)?))))
            .collect();
        for trial in &study.trials {
            if options.trial.is_some_and(|n| n != trial.number) {
                continue;
            }
            let status = match trial.state {
                State::Complete => "completed",
                State::Pruned => "pruned",
                State::Fail => "failed",
                State::Running => {
                    *read.unfinished.entry("running trial").or_default() += 1;
                    continue;
                }
                State::Waiting => {
                    *read.unfinished.entry("waiting trial").or_default() += 1;
                    continue;
                }
            };
            let run = format!("{}#{}", study.name, trial.number);
            let mut space = Map::new();
            for param in &trial.params {
                if let Some(axis) = axis(param) {
                    space.insert(param.name.clone(), axis);
                }
            }
            let mut params = Map::new();
            for param in &trial.params {
                match decode(param)
                    .map_err(|e| anyhow!("study `{}`, trial {}: {e}", study.name, trial.number))?
                {
                    Some(value) => {
                        params.insert(param.name.clone(), value);
                    }
                    None => none_choices += 1,
                }
            }
            let mut metrics = Map::new();
            for (name, value) in names.iter().zip(trial.values.iter().flatten()) {
                if value.is_finite() {
                    metrics.insert(name.clone(), json!(value));
                } else {
                    read.not_finite
                        .push((run.clone(), name.clone(), not_finite_word(*value)));
                }
            }
            let mut tags = study_tags.clone();
            for (key, value) in &trial.user_attrs {
                if key == &options.dataset_attr {
                    continue;
                }
                if let Some(number) = float(value) {
                    let name = metric_name(key);
                    if name != *key {
                        read.renamed.insert(key.clone(), name.clone());
                    }
                    if !number.is_finite() {
                        read.not_finite
                            .push((run.clone(), name, not_finite_word(number)));
                    } else if metrics.contains_key(&name) {
                        // An objective keeps its name: an attribute of the same name is the
                        // trial's own note, not the figure the study optimised.
                        *unusable_attrs.entry(key.clone()).or_default() += 1;
                    } else {
                        metrics.insert(name, json!(number));
                    }
                    continue;
                }
                match attribute_tag(key, value) {
                    Some(tag) => tags.push(tag),
                    None => *unusable_attrs.entry(key.clone()).or_default() += 1,
                }
            }
            let dataset = trial
                .user_attrs
                .get(&options.dataset_attr)
                .or_else(|| study.user_attrs.get(&options.dataset_attr))
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .unwrap_or(NO_DATASET);
            let intermediate: Vec<Value> = trial
                .intermediate
                .iter()
                .filter(|(_, v)| {
                    let finite = v.is_finite();
                    not_finite_steps += usize::from(!finite);
                    finite
                })
                .map(|(step, v)| json!([step, v]))
                .collect();
            let mut doc = Map::new();
            doc.insert("run_key".into(), json!(run_key(&study.name, trial.number)));
            doc.insert("strategy".into(), json!(strategy));
            doc.insert("dataset".into(), json!(dataset));
            doc.insert("params".into(), Value::Object(params));
            doc.insert(
                "sweep".into(),
                json!(options.sweep.as_deref().unwrap_or(&study.name)),
            );
            doc.insert("status".into(), json!(status));
            if !tags.is_empty() {
                doc.insert("tags".into(), json!(tags));
            }
            doc.insert("metrics".into(), Value::Object(metrics));
            if !directions.is_empty() {
                doc.insert("directions".into(), Value::Object(directions.clone()));
            }
            doc.insert("trial".into(), json!(trial.number));
            if let Some(t) = trial.started {
                doc.insert("started_at".into(), json!(rfc3339(t)));
            }
            if let Some(t) = trial.completed {
                doc.insert("finished_at".into(), json!(rfc3339(t)));
            }
            if !intermediate.is_empty() {
                doc.insert("intermediate".into(), Value::Array(intermediate));
            }
            if !space.is_empty() {
                doc.insert("search_space".into(), Value::Object(space));
            }
            read.documents.push(Value::Object(doc));
        }
    }
    if none_choices > 0 {
        read.notes.push(format!(
            "{} left out of their runs: a choice of None is no value a run's parameters hold",
            crate::report::plural(none_choices as u64, "parameter")
        ));
    }
    if not_finite_steps > 0 {
        read.notes.push(format!(
            "{} NaN or infinite left out",
            crate::report::plural(not_finite_steps as u64, "intermediate value")
        ));
    }
    for (key, n) in unusable_attrs {
        read.notes.push(format!(
            "user attribute `{key}` of {} left out: it is no number, text or boolean, or an \
             objective has its name",
            crate::report::plural(n as u64, "trial")
        ));
    }
    Ok(read)
}

/// Joins a backtest's run document to a trial's (`btdb import optuna --trial N --attach`): the
/// backtest gives the trades, equity curve, period, initial capital and periods per year, and
/// the parameters, metrics and tags the trial lacks; the trial keeps its key, strategy, data
/// set, sweep, status, objective values and the rest. The run is tagged `WITH_BACKTEST`.
pub fn attach(trial: &mut Value, backtest: &Value) -> Result<()> {
    let (Value::Object(run), Value::Object(backtest)) = (trial, backtest) else {
        bail!("the attached run document is not a JSON object");
    };
    for field in [
        "trades",
        "equity",
        "period_start",
        "period_end",
        "initial_capital",
        "periods_per_year",
    ] {
        if let Some(value) = backtest.get(field).filter(|v| !v.is_null()) {
            run.insert(field.to_owned(), value.clone());
        }
    }
    for field in ["params", "metrics"] {
        if let Some(Value::Object(given)) = backtest.get(field) {
            let Value::Object(own) = run.entry(field).or_insert_with(|| json!({})) else {
                continue;
            };
            for (name, value) in given {
                own.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    let mut tags: Vec<Value> = run
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for tag in backtest
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain([&json!(WITH_BACKTEST)])
    {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    run.insert("tags".into(), Value::Array(tags));
    Ok(())
}

/// The metric name of each objective: the study's metric names, else `value` for one
/// objective and `values_0`, `values_1`, … for several.
fn objective_names(study: &Study, read: &mut Read) -> Vec<String> {
    let count = study.directions.len();
    match &study.metric_names {
        Some(names) if names.len() == count => names
            .iter()
            .map(|given| {
                let name = metric_name(given);
                if &name != given {
                    read.renamed.insert(given.clone(), name.clone());
                }
                name
            })
            .collect(),
        _ if count == 1 => vec!["value".to_owned()],
        _ => (0..count).map(|i| format!("values_{i}")).collect(),
    }
}

/// A user attribute as a tag, `key=value`, where it is text or a boolean that a tag can hold.
fn attribute_tag(key: &str, value: &Value) -> Option<String> {
    let tag = match value {
        Value::String(text) => format!("{key}={text}"),
        Value::Bool(b) => format!("{key}={b}"),
        _ => return None,
    };
    (tag.chars().count() <= 200 && !tag.chars().any(char::is_control)).then_some(tag)
}

/// `optuna:STUDY:NUMBER`; a study name too long for a run key is replaced by its hash.
fn run_key(study: &str, number: i64) -> String {
    let key = format!("optuna:{study}:{number}");
    if key.chars().count() <= 200 {
        return key;
    }
    let digest = Sha256::digest(study.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("optuna:sha256-{hex}:{number}")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    crate::document::validate::rfc3339(t)
}

/// Reads a SQLite or journal file (blocking): its studies, and what was left out of them.
pub fn read_file(storage: &Storage) -> Result<(Vec<Study>, Vec<String>)> {
    match storage {
        Storage::Sqlite(path) => Ok((rdb::read_sqlite(path)?, Vec::new())),
        Storage::Journal(path) => {
            let journal = journal::read(path)?;
            Ok((journal.studies, journal.notes))
        }
        Storage::Postgres(_) => bail!("a PostgreSQL storage is read with rdb::read"),
    }
}

/// The name to say a storage by: its path, or its URL without a password.
pub fn shown(storage: &Storage) -> String {
    match storage {
        Storage::Postgres(url) => crate::db::url::redact(url),
        Storage::Sqlite(path) | Storage::Journal(path) => display(path),
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The key a non-finite float stands under in `lenient_json`'s output.
const NOT_FINITE: &str = "\u{0}not finite";

/// JSON as Python's `json.dumps` writes it, which spells non-finite floats `NaN`, `Infinity`
/// and `-Infinity` outside strings: each becomes `{"\0not finite": "NaN"}` (read back by
/// `float`), and the rest is JSON.
pub fn lenient_json(text: &str) -> serde_json::Result<Value> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return serde_json::from_str(text);
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(word) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push_str(&format!("{{\"{}\":\"{word}\"}}", "\\u0000not finite"));
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out)
}

/// A float from JSON, non-finite ones included (as `lenient_json` writes them).
pub fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Object(map) => match map.get(NOT_FINITE)?.as_str()? {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}
