//! Optuna's JournalStorage file (`JournalFileBackend`): one JSON operation per line, replayed
//! as Optuna replays them (`JournalStorageReplayResult`): studies and trials are numbered in
//! the order they were created, and an operation on a finished trial changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{METRIC_NAMES, RawParam, State, Study, Trial, float, lenient_json};

/// Optuna's JournalOperation codes.
mod op {
    pub const CREATE_STUDY: i64 = 0;
    pub const DELETE_STUDY: i64 = 1;
    pub const SET_STUDY_USER_ATTR: i64 = 2;
    pub const SET_STUDY_SYSTEM_ATTR: i64 = 3;
    pub const CREATE_TRIAL: i64 = 4;
    pub const SET_TRIAL_PARAM: i64 = 5;
    pub const SET_TRIAL_STATE_VALUES: i64 = 6;
    pub const SET_TRIAL_INTERMEDIATE_VALUE: i64 = 7;
    pub const SET_TRIAL_USER_ATTR: i64 = 8;
    pub const SET_TRIAL_SYSTEM_ATTR: i64 = 9;
    pub const DISCARD_TRIALS: i64 = 10;
}

/// What a journal holds, and what of it was left out.
#[derive(Debug)]
pub struct Journal {
    pub studies: Vec<Study>,
    pub notes: Vec<String>,
}

#[derive(Default)]
struct Replay {
    /// Study id → the study, while it is not deleted.
    studies: BTreeMap<i64, Study>,
    next_study_id: i64,
    /// Trial id → (study id, index in its study's trials).
    trials: Vec<(i64, usize)>,
}

/// Reads and replays the journal at `path`.
pub fn read(path: &Path) -> Result<Journal> {
    crate::ingest::source::regular_file(path)?;
    let bytes = std::fs::read(path).context("reading it")?;
    let text =
        String::from_utf8(bytes).map_err(|_| anyhow!("not an Optuna journal: not UTF-8 text"))?;
    let mut replay = Replay::default();
    let mut notes = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        let last = i + 1 == lines.len();
        let complete = line.ends_with('\n');
        let parsed = lenient_json(line.trim_end_matches(['\n', '\r']));
        // Optuna appends a line at a time: a last line cut short is a write under way, which
        // Optuna's own reader also leaves out.
        if last && (!complete || parsed.is_err()) {
            notes.push(format!(
                "{}:{number}: the journal's last line is incomplete (a write under way?); left out",
                path.display()
            ));
            break;
        }
        let log = parsed.map_err(|e| {
            if number == 1 {
                anyhow!("not an Optuna journal: line 1 is not JSON ({e})")
            } else {
                anyhow!("line {number}: not JSON ({e}); the journal is damaged here")
            }
        })?;
        replay.apply(&log).map_err(|e| {
            if number == 1 && log.get("op_code").is_none() {
                anyhow!("not an Optuna journal: line 1 has no op_code")
            } else {
                anyhow!("line {number}: {e}")
            }
        })?;
    }
    if replay.next_study_id == 0 {
        bail!("not an Optuna journal, or one without a study: no line creates a study");
    }
    Ok(Journal {
        studies: replay.studies.into_values().collect(),
        notes,
    })
}

fn field<'a>(log: &'a Value, name: &str) -> Result<&'a Value> {
    log.get(name).ok_or_else(|| anyhow!("no `{name}`"))
}

fn int(log: &Value, name: &str) -> Result<i64> {
    field(log, name)?
        .as_i64()
        .ok_or_else(|| anyhow!("`{name}` is not an integer"))
}

fn object<'a>(log: &'a Value, name: &str) -> Result<&'a Map<String, Value>> {
    field(log, name)?
        .as_object()
        .ok_or_else(|| anyhow!("`{name}` is not an object"))
}

/// A datetime as the journal writes it: ISO 8601 with its offset (naive, read as UTC, from
/// older writers).
fn time(value: &Value) -> Result<Option<DateTime<Utc>>> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| super::naive_utc(text))
            .map(Some),
        other => bail!("`{other}` is not a datetime"),
    }
}

fn floats(value: &Value, name: &str) -> Result<Option<Vec<f64>>> {
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|v| float(v).ok_or_else(|| anyhow!("`{name}` holds `{v}`, not a number")))
            .collect::<Result<Vec<_>>>()
            .map(Some),
        other => bail!("`{name}` is `{other}`, not a list of numbers"),
    }
}

fn direction(code: &Value) -> Result<Option<&'static str>> {
    match code.as_i64() {
        Some(0) => Ok(None),
        Some(1) => Ok(Some("minimize")),
        Some(2) => Ok(Some("maximize")),
        _ => bail!("unknown study direction `{code}`"),
    }
}

impl Replay {
    fn apply(&mut self, log: &Value) -> Result<()> {
        match int(log, "op_code")? {
            op::CREATE_STUDY => {
                let name = field(log, "study_name")?
                    .as_str()
                    .ok_or_else(|| anyhow!("`study_name` is not text"))?;
                if self.studies.values().any(|s| s.name == name) {
                    return Ok(());
                }
                let directions = field(log, "directions")?
                    .as_array()
                    .ok_or_else(|| anyhow!("`directions` is not a list"))?
                    .iter()
                    .map(direction)
                    .collect::<Result<Vec<_>>>()?;
                self.studies.insert(
                    self.next_study_id,
                    Study {
                        name: name.to_owned(),
                        directions,
                        metric_names: None,
                        user_attrs: Map::new(),
                        trials: Vec::new(),
                    },
                );
                self.next_study_id += 1;
            }
            op::DELETE_STUDY => {
                self.studies.remove(&int(log, "study_id")?);
            }
            op::SET_STUDY_USER_ATTR => {
                if let Some(study) = self.studies.get_mut(&int(log, "study_id")?) {
                    study.user_attrs.extend(object(log, "user_attr")?.clone());
                }
            }
            op::SET_STUDY_SYSTEM_ATTR => {
                if let Some(study) = self.studies.get_mut(&int(log, "study_id")?)
                    && let Some(names) = object(log, "system_attr")?.get(METRIC_NAMES)
                {
                    study.metric_names = Some(
                        serde_json::from_value(names.clone())
                            .map_err(|e| anyhow!("{METRIC_NAMES} is not a list of names: {e}"))?,
                    );
                }
            }
            op::CREATE_TRIAL => self.create_trial(log)?,
            op::SET_TRIAL_PARAM => {
                if let Some(trial) = self.updatable(log)? {
                    let name = field(log, "param_name")?
                        .as_str()
                        .ok_or_else(|| anyhow!("`param_name` is not text"))?
                        .to_owned();
                    let internal = float(field(log, "param_value_internal")?)
                        .ok_or_else(|| anyhow!("`param_value_internal` is not a number"))?;
                    let distribution = field(log, "distribution")?
                        .as_str()
                        .ok_or_else(|| anyhow!("`distribution` is not text"))?
                        .to_owned();
                    trial.params.retain(|p| p.name != name);
                    trial.params.push(RawParam {
                        name,
                        internal,
                        distribution,
                    });
                }
            }
            op::SET_TRIAL_STATE_VALUES => {
                let state = State::from_number(int(log, "state")?)?;
                if let Some(trial) = self.updatable(log)? {
                    if state == State::Running && trial.state == State::Running {
                        return Ok(());
                    }
                    if state == State::Running {
                        trial.started = time(field(log, "datetime_start")?)?;
                    }
                    if state.is_finished() {
                        trial.completed = time(field(log, "datetime_complete")?)?;
                    }
                    trial.state = state;
                    if let Some(values) =
                        floats(log.get("values").unwrap_or(&Value::Null), "values")?
                    {
                        trial.values = Some(values);
                    }
                }
            }
            op::SET_TRIAL_INTERMEDIATE_VALUE => {
                if let Some(trial) = self.updatable(log)? {
                    let step = int(log, "step")?;
                    let value = float(field(log, "intermediate_value")?)
                        .ok_or_else(|| anyhow!("`intermediate_value` is not a number"))?;
                    trial.intermediate.insert(step, value);
                }
            }
            op::SET_TRIAL_USER_ATTR => {
                if let Some(trial) = self.updatable(log)? {
                    trial.user_attrs.extend(object(log, "user_attr")?.clone());
                }
            }
            op::SET_TRIAL_SYSTEM_ATTR | op::DISCARD_TRIALS => {}
            other => bail!("unknown journal operation {other}"),
        }
        Ok(())
    }

    fn create_trial(&mut self, log: &Value) -> Result<()> {
        let study_id = int(log, "study_id")?;
        let Some(study) = self.studies.get_mut(&study_id) else {
            return Ok(());
        };
        let mut params = Vec::new();
        if let Some(given) = log.get("params").and_then(Value::as_object) {
            let distributions = object(log, "distributions")?;
            for (name, internal) in given {
                params.push(RawParam {
                    name: name.clone(),
                    internal: float(internal)
                        .ok_or_else(|| anyhow!("params.{name} is not a number"))?,
                    distribution: distributions
                        .get(name)
                        .and_then(Value::as_str)
                        .ok_or_else(|| anyhow!("params.{name} has no distribution"))?
                        .to_owned(),
                });
            }
        }
        let state = match log.get("state") {
            Some(code) => State::from_number(
                code.as_i64()
                    .ok_or_else(|| anyhow!("`state` is not an integer"))?,
            )?,
            None => State::Running,
        };
        let values = match floats(log.get("values").unwrap_or(&Value::Null), "values")? {
            Some(values) => Some(values),
            None => log.get("value").and_then(float).map(|v| vec![v]),
        };
        let mut intermediate = BTreeMap::new();
        if let Some(given) = log.get("intermediate_values").and_then(Value::as_object) {
            for (step, value) in given {
                let step: i64 = step
                    .parse()
                    .map_err(|_| anyhow!("intermediate step `{step}` is not an integer"))?;
                let value = float(value)
                    .ok_or_else(|| anyhow!("intermediate value {step} is not a number"))?;
                intermediate.insert(step, value);
            }
        }
        let trial = Trial {
            number: study.trials.len() as i64,
            state,
            params,
            values,
            intermediate,
            user_attrs: log
                .get("user_attrs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            started: time(log.get("datetime_start").unwrap_or(&Value::Null))?,
            completed: time(log.get("datetime_complete").unwrap_or(&Value::Null))?,
        };
        self.trials.push((study_id, study.trials.len()));
        study.trials.push(trial);
        Ok(())
    }

    /// The trial a log names, if it exists and has not finished (Optuna ignores changes to
    /// finished trials, which a second worker may still send).
    fn updatable(&mut self, log: &Value) -> Result<Option<&mut Trial>> {
        let id = int(log, "trial_id")?;
        let Some(&(study_id, index)) = usize::try_from(id).ok().and_then(|i| self.trials.get(i))
        else {
            return Ok(None);
        };
        Ok(self
            .studies
            .get_mut(&study_id)
            .and_then(|s| s.trials.get_mut(index))
            .filter(|t| !t.state.is_finished()))
    }
}
