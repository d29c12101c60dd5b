//! Importers: other tools' results as run documents, and nothing more. Each foreign format is
//! one module that reads its source and gives documents (`Read`); `btdb import` records them as
//! `btdb record` records a file, and says through `Read::warn` what each left out.

pub mod freqtrade;
pub mod mlflow;
pub mod optuna;

use std::collections::BTreeMap;

use serde_json::Value;
use tracing::warn;

use crate::report::plural;

/// The data set of a run that names none.
pub const NO_DATASET: &str = "unspecified";

/// What an import read: the run documents, and what it could not carry into them.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub documents: Vec<Value>,
    /// Names btdb's metric grammar refuses, and the names they were recorded under.
    pub renamed: BTreeMap<String, String>,
    /// Values NaN or infinite, which a run cannot hold: (run, metric, the value as a word).
    pub not_finite: Vec<(String, String, &'static str)>,
    /// What has not ended yet and was left out, counted by what it is ("running trial").
    pub unfinished: BTreeMap<&'static str, usize>,
    /// Anything else left out, one sentence each.
    pub notes: Vec<String>,
}

impl Read {
    /// Says on stderr what was left out or renamed: nothing is dropped without a word.
    pub fn warn(&self) {
        if !self.renamed.is_empty() {
            let renamed: Vec<String> = self
                .renamed
                .iter()
                .map(|(from, to)| format!("`{from}` as `{to}`"))
                .collect();
            warn!(
                "metrics whose names btdb refuses are recorded as: {}",
                renamed.join(", ")
            );
        }
        if let Some((run, metric, value)) = self.not_finite.first() {
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, _, word) in &self.not_finite {
                *kinds.entry(word).or_default() += 1;
            }
            let kinds: Vec<String> = kinds.iter().map(|(w, n)| format!("{n} {w}")).collect();
            warn!(
                "{} left out, which a run cannot hold: {} (first: metric `{metric}` of run {run} \
                 is {value})",
                plural(self.not_finite.len() as u64, "metric value"),
                kinds.join(", ")
            );
        }
        for (what, n) in &self.unfinished {
            warn!(
                "{} not imported; import again when they end",
                plural(*n as u64, what)
            );
        }
        for note in &self.notes {
            warn!("{note}");
        }
    }
}

/// A non-finite value as the warning says it.
pub fn not_finite_word(value: f64) -> &'static str {
    match value {
        v if v.is_nan() => "NaN",
        v if v > 0.0 => "infinity",
        _ => "-infinity",
    }
}

/// A metric name btdb takes (`^[A-Za-z_][A-Za-z0-9_.]{0,63}$`): every other character becomes
/// `_`, a name starting with a digit or `.` gets a leading `_`, and it is cut to 64 characters.
pub fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out.chars().take(64).collect()
}
