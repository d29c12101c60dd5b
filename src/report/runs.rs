//! `runs`' output: a page of runs and the cursor of the next.

use serde::Serialize;

use super::{Table, number, thousands};
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
