//! `record`'s closing summary.

use super::{Format, Table, emit_text};
use crate::ingest::Summary;

/// Prints the counts of a batch: one line for people, a CSV row, or JSON with the failures.
pub fn summary(format: Format, summary: &Summary) -> anyhow::Result<()> {
    emit_text(format, summary, || match format {
        Format::Csv => {
            let mut table = Table::new(["recorded", "already_present", "failed"]);
            table.push(vec![
                summary.recorded.to_string(),
                summary.already_present.to_string(),
                summary.failed.to_string(),
            ]);
            table.to_csv()
        }
        _ => format!("{}\n", describe(summary)),
    })
}

/// The counts in one line, for people (the summary and the progress bar); runs replaced
/// (`--replace`) and runs moved into the sweep given are said when there are some.
pub fn describe(summary: &Summary) -> String {
    let moved = match summary.moved {
        0 => String::new(),
        n => format!(" ({n} moved into the sweep given)"),
    };
    let mut line = format!(
        "recorded {}, already present {}{moved}, failed {}",
        summary.recorded, summary.already_present, summary.failed
    );
    if summary.replaced > 0 {
        line.push_str(&format!(", replaced {}", summary.replaced));
    }
    line
}
