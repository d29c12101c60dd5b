//! `runs`' output: a page of runs and the cursor of the next.

use serde::Serialize;

use super::table::csv_lines;
use super::{Cell, Table, exact, thousands};
use crate::models::RunId;
use crate::query::runs::{Count, RunSummary, Sort};

/// A page of runs in the order asked for (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunPage {
    pub sort: Sort,
    /// How many runs match the filters (all pages).
    pub count: Count,
    pub runs: Vec<RunSummary>,
    /// `--after` for the next page; `null` on the last.
    pub next: Option<RunId>,
    /// `--before` for the previous page; `null` on the first.
    pub previous: Option<RunId>,
}

impl RunPage {
    /// The runs with their parameters and the `metrics` columns asked for.
    pub fn table(&self, metrics: &[String]) -> Table {
        let mut header = vec!["id", "strategy", "dataset", "status", "params"];
        header.extend(metrics.iter().map(String::as_str));
        let mut table = Table::new(header);
        for run in &self.runs {
            let mut row: Vec<Cell> = vec![
                run.id.to_string().into(),
                run.strategy.to_string().into(),
                run.dataset.clone().into(),
                run.status.to_string().into(),
                run.params.to_string().into(),
            ];
            row.extend(
                metrics
                    .iter()
                    .map(|m| Cell::maybe(run.metrics.get(m).copied())),
            );
            table.push(row);
        }
        table.note(self.count.to_string());
        if let Some(previous) = self.previous {
            table.note(format!("back: --before {previous}"));
        }
        if let Some(next) = self.next {
            table.note(format!("more: --after {next}"));
        }
        table
    }
}

impl std::fmt::Display for Count {
    /// `1,234 runs match`, or `more than 10,000 runs match` past the count's bound.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let noun = if self.runs == 1 {
            "run matches"
        } else {
            "runs match"
        };
        match self.exact {
            true => write!(f, "{} {noun}", thousands(self.runs)),
            false => write!(f, "more than {} runs match", thousands(self.runs)),
        }
    }
}

/// Every run of a listing as CSV, written a page at a time: the run's columns, then one column
/// per parameter key and one per metric, empty where a run has none. Values are written in
/// full (JSON numbers as recorded, metrics in Rust's shortest exact form), not rounded as the
/// table rounds them.
#[derive(Debug, Clone)]
pub struct RunsCsv {
    pub parameters: Vec<String>,
    pub metrics: Vec<String>,
}

impl RunsCsv {
    /// The header line.
    pub fn header(&self) -> Vec<u8> {
        let mut header: Vec<String> = [
            "id",
            "run_key",
            "strategy",
            "version",
            "dataset",
            "status",
            "sweep",
            "tags",
            "recorded_at",
        ]
        .map(str::to_owned)
        .to_vec();
        header.extend(self.parameters.iter().map(|p| format!("params.{p}")));
        header.extend(self.metrics.iter().cloned());
        csv_lines([&header])
    }

    /// The lines of `runs`.
    pub fn rows(&self, runs: &[RunSummary]) -> Vec<u8> {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|run| {
                let mut row = vec![
                    run.id.to_string(),
                    run.run_key.clone(),
                    run.strategy.name.clone(),
                    run.strategy.version.clone(),
                    run.dataset.clone(),
                    run.status.to_string(),
                    run.sweep.clone().unwrap_or_default(),
                    run.tags.join(";"),
                    run.recorded_at.to_rfc3339(),
                ];
                row.extend(self.parameters.iter().map(|p| match run.params.get(p) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                }));
                row.extend(
                    self.metrics
                        .iter()
                        .map(|m| run.metrics.get(m).copied().map(exact).unwrap_or_default()),
                );
                row
            })
            .collect();
        csv_lines(&rows)
    }
}
