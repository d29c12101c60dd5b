//! `explain`'s output: every query a command ran, with its plan.

use serde::Serialize;

use super::{Format, print};
use crate::db::explain::Captured;

/// One explained query (`--format json`): its SQL with bound values and EXPLAIN's JSON plan.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedQuery<'a> {
    pub sql: &'a str,
    pub plan: &'a serde_json::Value,
    /// Which way the command answered, where it has several (rank: summaries or aggregate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
}

/// Prints the plans: EXPLAIN's JSON, or each query followed by its plan as a tree.
pub fn plans(format: Format, plans: &[Captured]) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            let queries: Vec<ExplainedQuery> = plans
                .iter()
                .map(|c| ExplainedQuery {
                    sql: &c.sql,
                    plan: &c.json,
                    path: c.path.as_deref(),
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&queries)?;
            text.push('\n');
            print(&text)
        }
        Format::Arrow | Format::Parquet => anyhow::bail!(
            "--format {}: explain prints plans as a table or JSON",
            format.name()
        ),
        Format::Table | Format::Csv => {
            let mut text = String::new();
            for (i, captured) in plans.iter().enumerate() {
                let path = captured
                    .path
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "query {} of {}{path}: {}\n{}\n",
                    i + 1,
                    plans.len(),
                    captured.sql,
                    captured.to_text()
                ));
            }
            print(&text)
        }
    }
}
