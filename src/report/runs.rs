//! `runs`' output: a page of runs and the cursor of the next.

use serde::Serialize;

use super::{Table, number};
use crate::models::RunId;
use crate::query::runs::RunSummary;

/// A page of runs, newest first (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct RunPage {
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
            let mut row = vec![
                run.id.to_string(),
                run.strategy.to_string(),
                run.dataset.clone(),
                run.status.to_string(),
                run.params.to_string(),
            ];
            row.extend(metrics.iter().map(|m| {
                run.metrics
                    .get(m)
                    .map_or_else(|| "-".to_owned(), |v| number(*v))
            }));
            table.push(row);
        }
        if let Some(previous) = self.previous {
            table.note(format!("newer: --before {previous}"));
        }
        if let Some(next) = self.next {
            table.note(format!("more: --after {next}"));
        }
        table
    }
}
