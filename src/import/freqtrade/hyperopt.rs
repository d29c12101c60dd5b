//! Freqtrade's hyperopt results (`user_data/hyperopt_results/*.fthypt`, one JSON epoch per line)
//! as run documents: every epoch one run of the file's sweep, its backtest read as a backtest
//! result's strategy is (`super::run`), with the epoch's parameters, loss and place in the
//! search. docs/importing.md maps every field.

use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::{rfc3339, scalar};

/// The epoch format btdb reads, said in every message about one it does not know.
const KNOWN_FORMAT: &str = "btdb reads .fthypt files of fthypt_fileversion 2 (Freqtrade 2021.5 \
     and later; tested with 2026.9)";

/// Figures that are better smaller, ranked so for every run of the file: the loss hyperopt
/// minimised, and Freqtrade's drawdowns (positive fractions and amounts).
const MINIMISED: &[&str] = &[
    "loss",
    "freqtrade.max_drawdown_account",
    "freqtrade.max_drawdown_abs",
    "freqtrade.max_relative_drawdown",
];

/// The epochs of one file: the documents of those that read, and the lines that did not.
#[derive(Debug)]
pub struct Epochs {
    pub documents: Vec<Value>,
    /// `FILE:LINE: what is wrong`, one per line that could not be read.
    pub broken: Vec<String>,
}

/// Whether `path` is a hyperopt result by its name.
pub fn is_hyperopt(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "fthypt")
}

/// The runs of one `.fthypt` file. A line that is not an epoch is named in `broken` and the
/// others are read; a file whose first line is JSON but no epoch, or that holds no epoch at all,
/// is an error saying what it is.
pub fn convert(path: &Path, sweep: Option<&str>) -> Result<Epochs> {
    let shown = path.display().to_string();
    crate::ingest::source::regular_file(path).map_err(|e| anyhow!("{shown}: {e:#}"))?;
    let file = std::fs::File::open(path).with_context(|| format!("reading `{shown}`"))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("hyperopt");
    let sweep = sweep.unwrap_or(stem);
    let mut epochs = Epochs {
        documents: Vec::new(),
        broken: Vec::new(),
    };
    let mut broken: Vec<(usize, String)> = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let number = i + 1;
        let line = line.with_context(|| format!("{shown}:{number}: reading it"))?;
        if line.trim().is_empty() {
            continue;
        }
        let read = serde_json::from_str::<Value>(&line)
            .map_err(|e| anyhow!("not JSON ({e})"))
            .and_then(|epoch| {
                if number == 1 {
                    check_first(&epoch)?;
                }
                document(&epoch, stem, sweep)
            });
        match read {
            Ok(doc) => epochs.documents.push(doc),
            // What the file is, rather than a line's fault, when its first line says so.
            Err(e) if number == 1 && e.to_string().starts_with("not a ") => {
                bail!("{shown}: {e}")
            }
            Err(e) => broken.push((number, format!("{e:#}"))),
        }
    }
    if epochs.documents.is_empty() {
        match broken.first() {
            Some((line, e)) => bail!(
                "{shown}: not a Freqtrade hyperopt result, no line of it is an epoch (line \
                 {line}: {e}); {KNOWN_FORMAT}"
            ),
            None => bail!("{shown}: holds no epoch; {KNOWN_FORMAT}"),
        }
    }
    epochs.broken = broken
        .into_iter()
        .map(|(line, e)| format!("{shown}:{line}: {e}"))
        .collect();
    Ok(epochs)
}

/// The first line decides what the file is.
fn check_first(epoch: &Value) -> Result<()> {
    if epoch.get("strategy_comparison").is_some() {
        bail!(
            "not a hyperopt result but a Freqtrade backtest result: import it by a \
             backtest-result-*.json name; {KNOWN_FORMAT}"
        );
    }
    if epoch.get("params_dict").is_none() || epoch.get("results_metrics").is_none() {
        bail!(
            "not a Freqtrade hyperopt result: its first line has no params_dict and \
             results_metrics; {KNOWN_FORMAT}"
        );
    }
    match epoch.get("fthypt_fileversion").and_then(Value::as_i64) {
        Some(2) => Ok(()),
        Some(v) => bail!("not a version btdb reads: fthypt_fileversion {v}; {KNOWN_FORMAT}"),
        None => {
            bail!("not a version btdb reads: no fthypt_fileversion (version 1); {KNOWN_FORMAT}")
        }
    }
}

fn field<'a>(epoch: &'a Value, name: &str) -> Result<&'a Value> {
    epoch
        .get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| anyhow!("{name}: missing; {KNOWN_FORMAT}"))
}

/// The run document of one epoch.
fn document(epoch: &Value, stem: &str, sweep: &str) -> Result<Value> {
    let number = field(epoch, "current_epoch")?
        .as_u64()
        .ok_or_else(|| anyhow!("current_epoch: expected a whole number"))?;
    let stats = field(epoch, "results_metrics")?;
    let name = field(stats, "strategy_name")?
        .as_str()
        .ok_or_else(|| anyhow!("results_metrics.strategy_name: expected a string"))?;
    let mut doc = super::run(
        name,
        stats,
        super::Saved::default(),
        Some(sweep),
        super::Curve::Closed,
    )
    .map_err(|e| anyhow!("results_metrics.{e:#}"))?;
    let Value::Object(doc_map) = &mut doc else {
        unreachable!("a run document is an object")
    };
    doc_map.insert(
        "run_key".into(),
        json!(format!("freqtrade-hyperopt:{stem}:{number}")),
    );
    doc_map.insert("params".into(), Value::Object(params(epoch, stats)?));
    let loss = field(epoch, "loss")?
        .as_f64()
        .filter(|l| l.is_finite())
        .ok_or_else(|| anyhow!("loss: expected a finite number"))?;
    if let Some(Value::Object(metrics)) = doc_map.get_mut("metrics") {
        metrics.insert("loss".into(), json!(loss));
        let directions: Map<String, Value> = MINIMISED
            .iter()
            .filter(|name| metrics.contains_key(**name))
            .map(|name| ((*name).to_owned(), json!("minimize")))
            .collect();
        doc_map.insert("directions".into(), Value::Object(directions));
    }
    let mut tags = vec![json!("freqtrade"), json!("hyperopt")];
    for flag in ["is_best", "is_initial_point", "is_random"] {
        if epoch.get(flag).and_then(Value::as_bool) == Some(true) {
            tags.push(json!(flag));
        }
    }
    if let Some(spaces) = epoch.get("params_details").and_then(Value::as_object) {
        let names: Vec<&str> = spaces.keys().map(String::as_str).collect();
        tags.push(json!(format!("spaces={}", names.join(","))));
    }
    doc_map.insert("tags".into(), Value::Array(tags));
    doc_map.insert("trial".into(), json!(number));
    for (field, seconds) in [
        ("started_at", "backtest_run_start_ts"),
        ("finished_at", "backtest_run_end_ts"),
    ] {
        if let Some(t) = stats
            .get(seconds)
            .and_then(Value::as_i64)
            .and_then(|s| DateTime::from_timestamp(s, 0))
        {
            doc_map.insert(field.into(), json!(rfc3339(t)));
        }
    }
    Ok(doc)
}

/// The epoch's parameters, complete: those hyperopt chose (`params_dict`), those it left at
/// the strategy's values (`params_not_optimized`, by space; a ROI table as its JSON text under
/// `minimal_roi`, a setting that is null left out), and the timeframe.
fn params(epoch: &Value, stats: &Value) -> Result<Map<String, Value>> {
    let mut params = Map::new();
    if let Some(spaces) = epoch.get("params_not_optimized").and_then(Value::as_object) {
        for (space, values) in spaces {
            if space == "roi" {
                params.insert("minimal_roi".into(), json!(values.to_string()));
                continue;
            }
            for (key, value) in values.as_object().into_iter().flatten() {
                if !value.is_null() {
                    params.insert(key.clone(), scalar(value));
                }
            }
        }
    }
    let chosen = field(epoch, "params_dict")?
        .as_object()
        .ok_or_else(|| anyhow!("params_dict: expected an object"))?;
    for (key, value) in chosen {
        if !value.is_null() {
            params.insert(key.clone(), scalar(value));
        }
    }
    if let Some(timeframe) = stats.get("timeframe").filter(|t| t.is_string()) {
        params.insert("timeframe".into(), timeframe.clone());
    }
    Ok(params)
}
