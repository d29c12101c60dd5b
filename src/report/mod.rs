//! Output: aligned tables, CSV and JSON on stdout, and SVG charts. Every command prints
//! through [`print`], and the shapes it prints (JSON and tables) are this module's, so that any
//! front end prints the same.

pub mod arrow;
pub mod calendar;
pub mod compare;
pub mod delete;
pub mod demo;
pub mod doctor;
pub mod explain;
pub mod plot;
pub mod rank;
pub mod readable;
pub mod record;
pub mod rows;
pub mod runs;
pub mod show;
pub mod side_by_side;
pub mod sink;
pub mod sweep_charts;
pub mod table;

use std::io;

use anyhow::{Context, Result, bail};
use serde::Serialize;

pub use table::{Cell, Table};

/// A failure of btdb's own, not of what it was asked: a chart that could not be drawn, output
/// that could not be written. `btdb serve` answers it 500, never 400.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Internal(pub String);

/// `1 run`, `2 runs`, `3 strategies`: a count with its noun in the right number.
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    match (n.into(), noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (n, Some(stem)) => format!("{n} {stem}ies"),
        (n, None) => format!("{n} {noun}s"),
    }
}

/// An integer with thousands separators: `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for programs (docs/json-output.md documents its shape).
    Json,
    /// CSV with a header line.
    Csv,
    /// An Arrow IPC stream of typed columns (docs/arrow-output.md documents their types).
    Arrow,
    /// Parquet files in a directory (`export` alone).
    Parquet,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }
}

tokio::task_local! {
    static SILENCED: ();
}

/// Runs `work` with `emit` printing nothing: `btdb explain` shows plans, not results.
pub async fn silenced<F: std::future::Future>(work: F) -> F::Output {
    SILENCED.scope((), work).await
}

/// Prints `value` as JSON, or `tables()` as aligned text (separated by blank lines) or CSV
/// (the first table only: one CSV document has one header).
pub fn emit<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    tables: impl FnOnce() -> Vec<Table>,
) -> Result<()> {
    if format == Format::Arrow {
        let tables = tables();
        let first = tables.first().context("nothing to write as Arrow")?;
        return arrow::write_table(first);
    }
    emit_text(format, value, || match format {
        Format::Csv => tables().first().map(Table::to_csv).unwrap_or_default(),
        _ => tables()
            .iter()
            .map(Table::to_text)
            .collect::<Vec<_>>()
            .join("\n"),
    })
}

/// Prints `value` as JSON, or the text `text()` writes for the other formats.
pub fn emit_text<T: Serialize + ?Sized>(
    format: Format,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<()> {
    let text = match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(value)?;
            text.push('\n');
            text
        }
        Format::Table | Format::Csv => text(),
        Format::Arrow => {
            bail!("--format arrow: this command writes no table of rows; use table, json or csv")
        }
        Format::Parquet => bail!(
            "--format parquet writes files of runs, trades and equity: btdb export --format \
             parquet -o DIR (this command: table, json, csv or arrow)"
        ),
    };
    print(&text)
}

/// Writes `text` where results go (standard output, or the `-o` file): the one way every
/// command prints.
pub fn print(text: &str) -> Result<()> {
    if silenced_now() {
        return Ok(());
    }
    sink::write_all(text.as_bytes())
}

/// Writes `bytes` where results go, as [`print`] writes text.
pub fn print_bytes(bytes: &[u8]) -> Result<()> {
    if silenced_now() {
        return Ok(());
    }
    sink::write_all(bytes)
}

/// Whether this command's results are to be dropped ([`silenced`]).
pub fn silenced_now() -> bool {
    SILENCED.try_with(|()| ()).is_ok()
}

/// The outcome of writing to standard output. A closed pipe (`| head`) is the reader's choice,
/// not an error: the command ends quietly with success.
pub fn stdout_written(result: io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// A metric value for people: 6 significant digits, no exponent for everyday magnitudes.
pub fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if (-4..9).contains(&magnitude) {
        let decimals = (5 - magnitude).clamp(0, 10) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            text
        }
    } else {
        format!("{value:.5e}")
    }
}

/// A value for programs: the shortest text that reads back as the same f64, bit for bit
/// (`-0` stays negative), with an exponent only for magnitudes no one writes out in full.
pub fn exact(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-7..1e16).contains(&magnitude) {
        value.to_string()
    } else {
        format!("{value:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(100_000), "100,000");
    }

    #[test]
    fn exact_numbers_read_back_bit_for_bit() {
        for value in [
            11099.605836499999,
            0.1 + 0.2,
            -0.0,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            1e16,
            1e-7,
            1e16 - 2.0,
            123456789.0,
        ] {
            let text = exact(value);
            let back: f64 = text.parse().expect("a number");
            assert_eq!(
                back.to_bits(),
                value.to_bits(),
                "{value:e} written as {text}"
            );
        }
        assert_eq!(exact(f64::MAX), "1.7976931348623157e308");
        assert_eq!(exact(f64::from_bits(1)), "5e-324");
        assert_eq!(exact(1234.5), "1234.5");
        assert_eq!(exact(-0.0), "-0");
    }

    #[test]
    fn numbers_keep_six_significant_digits() {
        assert_eq!(number(1.234_567_89), "1.23457");
        assert_eq!(number(-0.000_123_456_7), "-0.000123457");
        assert_eq!(number(1234.5), "1234.5");
        assert_eq!(number(30.0), "30");
        assert_eq!(number(1.0e12), "1.00000e12");
        assert_eq!(number(0.0), "0");
    }
}
