//! A parameter sweep of one strategy: one metric per run with the run's parameters, loaded in
//! one query, then pivoted by parameter values, summarised per parameter, or split in sample and
//! out of sample.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use anyhow::Result;
use bigdecimal::BigDecimal;
use diesel::prelude::*;
use serde::Serialize;

use super::filter::{METRICS, Resolved};
use super::suggest;
use crate::db::{Layout, Reader, explain};
use crate::decimal;
use crate::metrics::{mean, stats};
use crate::models::ParameterSetId;
use crate::schema::{metrics, parameter_sets};

/// One completed run's value of the metric, with its parameters.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct SweepRow {
    pub parameter_set_id: ParameterSetId,
    pub params: serde_json::Value,
    pub dataset: String,
    pub value: f64,
}

/// Loads the metric of every completed run that passes `filter` (which names the strategy),
/// through `metrics_rank_idx` on (name, strategy_id).
pub async fn load(
    conn: &mut Reader<'_>,
    metric: &str,
    filter: &Resolved,
    datasets: Option<&[String]>,
) -> Result<Vec<SweepRow>> {
    if conn.layout() == Layout::Distributed && filter.condition.is_none() {
        return super::citus::sweep_rows(conn, metric, filter, datasets).await;
    }
    let query = || {
        let mut query = metrics::table
            .inner_join(parameter_sets::table)
            .filter(metrics::name.eq(metric.to_owned()))
            .filter(metrics::completed.eq(true))
            .select((
                metrics::parameter_set_id,
                parameter_sets::params,
                metrics::dataset,
                metrics::value,
            ))
            .order((metrics::parameter_set_id, metrics::dataset, metrics::run_id))
            .into_boxed();
        for predicate in filter.predicates(METRICS) {
            query = query.filter(predicate);
        }
        if let Some(ids) = &filter.strategy_ids {
            // Implied by the metrics' own strategy, but without it the planner may hash the
            // whole parameter_sets table rather than read the strategy's sets by index.
            query = query.filter(parameter_sets::strategy_id.eq_any(ids.clone()));
        }
        if let Some(datasets) = datasets {
            query = query.filter(metrics::dataset.eq_any(datasets.to_vec()));
        }
        query
    };
    Ok(explain::load(conn, query).await?)
}

/// A parameter's value, ordered numbers first (by value), then strings, then booleans.
#[derive(Debug, Clone)]
pub enum ParamValue {
    /// The canonical decimal text (so `10` and `10.0` are one value) and its f64 for ordering.
    Number(String, f64),
    Text(String),
    Bool(bool),
}

impl ParamValue {
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::Number(n) => {
                let text = n.to_string();
                let canonical = if is_canonical(&text) {
                    text
                } else {
                    BigDecimal::from_str(&text)
                        .map(|d| decimal::canonical(&d))
                        .unwrap_or(text)
                };
                let float = canonical.parse().unwrap_or(f64::NAN);
                Some(ParamValue::Number(canonical, float))
            }
            serde_json::Value::String(s) => Some(ParamValue::Text(s.clone())),
            serde_json::Value::Bool(b) => Some(ParamValue::Bool(*b)),
            _ => None,
        }
    }

    fn kind(&self) -> u8 {
        match self {
            ParamValue::Number(..) => 0,
            ParamValue::Text(_) => 1,
            ParamValue::Bool(_) => 2,
        }
    }
}

/// Whether `text` is already what `decimal::canonical` writes (`10`, `-0.25`): most parameter
/// values are, and skipping the decimal parse makes pivoting a large sweep several times faster.
fn is_canonical(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    text.len() <= 15
        && text != "-0"
        && digits(int)
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(|f| digits(f) && !f.ends_with('0'))
}

impl PartialEq for ParamValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ParamValue {}

impl PartialOrd for ParamValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ParamValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (ParamValue::Number(a, x), ParamValue::Number(b, y)) => {
                x.total_cmp(y).then_with(|| a.cmp(b))
            }
            (ParamValue::Text(a), ParamValue::Text(b)) => a.cmp(b),
            (ParamValue::Bool(a), ParamValue::Bool(b)) => a.cmp(b),
            _ => self.kind().cmp(&other.kind()),
        }
    }
}

/// A `--where` condition selecting the runs whose parameters equal `pairs`: what a chart's
/// cell links to. `None` for a key the language cannot spell (one holding `"`).
pub fn condition(pairs: &[(&str, &ParamValue)]) -> Option<String> {
    let terms: Option<Vec<String>> = pairs
        .iter()
        .map(|(key, value)| {
            let plain = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let key = match (plain, key.contains('"')) {
                (true, _) => (*key).to_owned(),
                (false, false) => format!("\"{key}\""),
                (false, true) => return None,
            };
            let literal = match value {
                ParamValue::Number(text, _) => text.clone(),
                ParamValue::Text(text) => format!("'{}'", text.replace('\'', "''")),
                ParamValue::Bool(b) => b.to_string(),
            };
            Some(format!("params.{key} = {literal}"))
        })
        .collect();
    Some(terms?.join(" and "))
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Number(text, _) => f.write_str(text),
            ParamValue::Text(text) => f.write_str(text),
            ParamValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for ParamValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // The exact decimal, as written (serde_json keeps a number's text).
            ParamValue::Number(text, float) => match serde_json::Number::from_str(text) {
                Ok(number) => number.serialize(s),
                Err(_) => s.serialize_f64(*float),
            },
            ParamValue::Text(text) => s.serialize_str(text),
            ParamValue::Bool(b) => s.serialize_bool(*b),
        }
    }
}

/// Summary of the metric over a group of runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cell {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Cell {
    fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        Some(Cell {
            mean: mean(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            runs: values.len(),
        })
    }
}

/// The metric by values of `x` (one row), or of `x` and `y` (a grid: `cells[y][x]`).
#[derive(Debug, Clone, Serialize)]
pub struct Pivot {
    pub x: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub x_values: Vec<ParamValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub y_values: Vec<ParamValue>,
    pub cells: Vec<Vec<Option<Cell>>>,
    /// Runs left out because they lack `x` or `y`.
    pub runs_without_parameter: usize,
}

/// The metric per value of one parameter, over every other parameter.
#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    pub parameter: String,
    /// Largest minus smallest per-value mean: how much the parameter moves the metric.
    pub spread: f64,
    pub values: Vec<(ParamValue, Cell)>,
}

/// Every parameter name of the rows, sorted.
pub fn parameter_names(rows: &[SweepRow]) -> Vec<String> {
    let names: BTreeSet<&String> = rows
        .iter()
        .filter_map(|r| r.params.as_object())
        .flat_map(|o| o.keys())
        .collect();
    names.into_iter().cloned().collect()
}

fn param(row: &SweepRow, name: &str) -> Option<ParamValue> {
    row.params.get(name).and_then(ParamValue::from_json)
}

/// Fails with close matches when no row has parameter `name`.
pub fn ensure_parameter(rows: &[SweepRow], name: &str) -> Result<()> {
    suggest::require(name, &parameter_names(rows), || {
        format!("no run of this sweep has parameter `{name}`")
    })
}

/// Groups the rows by `x` (and `y`).
pub fn pivot(rows: &[SweepRow], x: &str, y: Option<&str>) -> Pivot {
    let mut groups: BTreeMap<(Option<ParamValue>, ParamValue), Vec<f64>> = BTreeMap::new();
    let mut skipped = 0;
    for row in rows {
        let Some(xv) = param(row, x) else {
            skipped += 1;
            continue;
        };
        let yv = match y {
            Some(y) => match param(row, y) {
                Some(v) => Some(v),
                None => {
                    skipped += 1;
                    continue;
                }
            },
            None => None,
        };
        groups.entry((yv, xv)).or_default().push(row.value);
    }
    let x_values: Vec<ParamValue> = groups
        .keys()
        .map(|(_, xv)| xv.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let y_values: Vec<ParamValue> = groups
        .keys()
        .filter_map(|(yv, _)| yv.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let row_keys: Vec<Option<ParamValue>> = if y.is_some() {
        y_values.iter().cloned().map(Some).collect()
    } else {
        vec![None]
    };
    let cells = row_keys
        .iter()
        .map(|yv| {
            x_values
                .iter()
                .map(|xv| {
                    groups
                        .get(&(yv.clone(), xv.clone()))
                        .and_then(|values| Cell::of(values))
                })
                .collect()
        })
        .collect();
    Pivot {
        x: x.to_owned(),
        y: y.map(str::to_owned),
        x_values,
        y_values,
        cells,
        runs_without_parameter: skipped,
    }
}

/// Every parameter's effect, the most influential first.
pub fn sensitivity(rows: &[SweepRow]) -> Vec<Sensitivity> {
    let mut out: Vec<Sensitivity> = parameter_names(rows)
        .into_iter()
        .map(|name| {
            let pivot = pivot(rows, &name, None);
            let values: Vec<(ParamValue, Cell)> = pivot
                .x_values
                .into_iter()
                .zip(pivot.cells.into_iter().next().unwrap_or_default())
                .filter_map(|(v, c)| Some((v, c?)))
                .collect();
            let means = values.iter().map(|(_, c)| c.mean);
            let spread = means.clone().fold(f64::NEG_INFINITY, f64::max)
                - means.fold(f64::INFINITY, f64::min);
            Sensitivity {
                parameter: name,
                spread: if spread.is_finite() { spread } else { 0.0 },
                values,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.spread
            .total_cmp(&a.spread)
            .then_with(|| a.parameter.cmp(&b.parameter))
    });
    out
}

/// A parameter set's metric in sample and out of sample, with its ranks (1 = best).
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    pub parameter_set_id: ParameterSetId,
    pub params: serde_json::Value,
    pub in_sample: f64,
    pub out_of_sample: f64,
    pub in_sample_rank: f64,
    pub out_of_sample_rank: f64,
}

/// How well the in-sample ranking of parameter sets holds out of sample.
#[derive(Debug, Clone, Serialize)]
pub struct OutOfSample {
    pub in_sample: String,
    pub out_of_sample: String,
    /// Parameter sets with runs on both data sets.
    pub parameter_sets: usize,
    /// Spearman's rank correlation of the two; `null` below two sets or for constant values.
    pub spearman: Option<f64>,
    /// The in-sample winner (ties: the earliest recorded set); its out-of-sample rank says
    /// whether it stayed on top.
    pub winner: Option<SetResult>,
    /// Every set, in-sample best first.
    pub sets: Vec<SetResult>,
}

/// Compares each parameter set's mean metric on `is` and `oos`; `descending` when higher is
/// better.
pub fn out_of_sample(rows: &[SweepRow], is: &str, oos: &str, descending: bool) -> OutOfSample {
    // Per set: (params, values in sample, values out of sample), in id order.
    let mut sets: BTreeMap<ParameterSetId, (&serde_json::Value, Vec<f64>, Vec<f64>)> =
        BTreeMap::new();
    for row in rows {
        let entry = sets
            .entry(row.parameter_set_id)
            .or_insert_with(|| (&row.params, Vec::new(), Vec::new()));
        if row.dataset == is {
            entry.1.push(row.value);
        }
        if row.dataset == oos {
            entry.2.push(row.value);
        }
    }
    let paired: Vec<(ParameterSetId, &serde_json::Value, f64, f64)> = sets
        .into_iter()
        .filter(|(_, (_, a, b))| !a.is_empty() && !b.is_empty())
        .map(|(id, (params, a, b))| (id, params, mean(&a), mean(&b)))
        .collect();
    let sign = if descending { -1.0 } else { 1.0 };
    // Rank 1 is the best: rank the values with the better end first.
    let is_ranks = stats::average_ranks(&paired.iter().map(|p| sign * p.2).collect::<Vec<_>>());
    let oos_ranks = stats::average_ranks(&paired.iter().map(|p| sign * p.3).collect::<Vec<_>>());
    let spearman = stats::spearman(
        &paired.iter().map(|p| p.2).collect::<Vec<_>>(),
        &paired.iter().map(|p| p.3).collect::<Vec<_>>(),
    );
    let mut results: Vec<SetResult> = paired
        .iter()
        .zip(is_ranks.iter().zip(&oos_ranks))
        .map(|(p, (ir, or))| SetResult {
            parameter_set_id: p.0,
            params: p.1.clone(),
            in_sample: p.2,
            out_of_sample: p.3,
            in_sample_rank: *ir,
            out_of_sample_rank: *or,
        })
        .collect();
    results.sort_by(|a, b| {
        a.in_sample_rank
            .total_cmp(&b.in_sample_rank)
            .then(a.parameter_set_id.cmp(&b.parameter_set_id))
    });
    OutOfSample {
        in_sample: is.to_owned(),
        out_of_sample: oos.to_owned(),
        parameter_sets: results.len(),
        spearman,
        winner: <[SetResult]>::first(&results).cloned(),
        sets: results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_condition_parses_back_to_its_values() {
        let (fast, kind) = (
            ParamValue::Number("10".into(), 10.0),
            ParamValue::Text("e'ma".into()),
        );
        let text = condition(&[("fast", &fast), ("odd key", &kind)]).expect("spelt");
        assert_eq!(text, "params.fast = 10 and params.\"odd key\" = 'e''ma'");
        assert!(super::super::where_parse::parse(&text).is_ok(), "{text}");
        assert_eq!(condition(&[("a\"b", &fast)]), None);
    }

    #[test]
    fn canonical_text_is_recognised_and_the_rest_is_normalised() {
        for text in ["10", "-0.25", "0", "0.5", "123456789"] {
            assert!(is_canonical(text), "{text}");
            let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            let Some(ParamValue::Number(canonical, _)) = ParamValue::from_json(&value) else {
                panic!("{text} is a number");
            };
            let slow = decimal::canonical(&BigDecimal::from_str(text).unwrap_or_default());
            assert_eq!(canonical, slow);
        }
        for text in ["10.0", "1e3", "-0", "007", "0.50", "1.0E+2"] {
            assert!(!is_canonical(text), "{text}");
        }
        let ten: serde_json::Value = serde_json::from_str("10.0").unwrap_or_default();
        let Some(ParamValue::Number(canonical, _)) = ParamValue::from_json(&ten) else {
            panic!("a number");
        };
        assert_eq!(canonical, "10");
    }
}
