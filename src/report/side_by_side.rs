//! Several runs side by side: their parameters and metrics by name, each row marked when the
//! runs differ on it (`/api/side-by-side`).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::query::runs::RunSummary;

/// Most runs one comparison holds: more no longer fit side by side.
pub const MAX_RUNS: usize = 8;

/// One parameter or metric across the runs, `null` where a run lacks it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row<T> {
    pub name: String,
    pub values: Vec<Option<T>>,
    /// Whether any two runs differ (a value against a missing one counts).
    pub differs: bool,
}

/// The runs in the order asked for, and their parameters and metrics by name.
#[derive(Debug, Clone, Serialize)]
pub struct SideBySide {
    pub runs: Vec<RunSummary>,
    pub parameters: Vec<Row<serde_json::Value>>,
    pub metrics: Vec<Row<f64>>,
}

impl SideBySide {
    pub fn new(runs: Vec<RunSummary>) -> Self {
        let parameter_names: BTreeSet<&String> = runs
            .iter()
            .filter_map(|r| r.params.as_object())
            .flat_map(|o| o.keys())
            .collect();
        let parameters = parameter_names
            .into_iter()
            .map(|name| row(name, runs.iter().map(|r| r.params.get(name).cloned())))
            .collect();
        let metric_names: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.names()).collect();
        let metrics = metric_names
            .into_iter()
            .map(|name| row(name, runs.iter().map(|r| r.metrics.get(name))))
            .collect();
        Self {
            runs,
            parameters,
            metrics,
        }
    }
}

fn row<T: PartialEq>(name: &str, values: impl Iterator<Item = Option<T>>) -> Row<T> {
    let values: Vec<Option<T>> = values.collect();
    let differs = values.windows(2).any(|w| w[0] != w[1]);
    Row {
        name: name.to_owned(),
        values,
        differs,
    }
}
