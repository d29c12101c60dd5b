//! `delete`'s summary: what went, or with --dry-run what would.

use serde::Serialize;

use super::{Format, Table, emit_text, plural};
use crate::query::delete::Removed;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deletion {
    pub dry_run: bool,
    #[serde(flatten)]
    pub removed: Removed,
}

impl Deletion {
    pub fn new(removed: Removed, dry_run: bool) -> Self {
        Self { dry_run, removed }
    }

    /// The counts in one line, for people.
    pub fn describe(&self) -> String {
        let r = &self.removed;
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let mut line = format!(
            "{verb} {} with {}, {} and {}",
            plural(r.runs, "run"),
            plural(r.metrics, "metric"),
            plural(r.trades, "trade"),
            plural(r.equity_points, "equity point")
        );
        if r.intermediate_values > 0 {
            line.push_str(&format!(
                " (and {})",
                plural(r.intermediate_values, "intermediate value")
            ));
        }
        if r.parameter_sets + r.sweeps + r.strategies > 0 {
            line.push_str(&format!(
                "; pruned {}, {} and {}",
                plural(r.parameter_sets, "parameter set"),
                plural(r.sweeps, "sweep"),
                plural(r.strategies, "strategy")
            ));
        }
        line
    }
}

/// Prints the deletion: one line for people, a CSV row, or JSON.
pub fn summary(format: Format, deletion: &Deletion) -> anyhow::Result<()> {
    emit_text(format, deletion, || match format {
        Format::Csv => {
            let r = &deletion.removed;
            let mut table = Table::new([
                "dry_run",
                "runs",
                "metrics",
                "trades",
                "equity_points",
                "parameter_sets",
                "sweeps",
                "strategies",
            ]);
            table.push(
                [
                    u64::from(deletion.dry_run),
                    r.runs,
                    r.metrics,
                    r.trades,
                    r.equity_points,
                    r.parameter_sets,
                    r.sweeps,
                    r.strategies,
                ]
                .iter()
                .map(|n| n.to_string())
                .collect(),
            );
            table.to_csv()
        }
        _ => format!("{}\n", deletion.describe()),
    })
}
