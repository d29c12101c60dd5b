//! Comparing btdb's answers with another tool's figures: JSON from the command line, numbers
//! that may be JSON numbers or decimal strings, and equality to 1e-9 relative.

use serde_json::Value;

use super::TestDb;
use super::cli::ok;

/// `text` as JSON, or a failure that shows it.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A number as btdb prints it: a JSON number, or a decimal as a string.
pub fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("a decimal"),
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a number: {other}")),
    }
}

/// Equal to 1e-9 relative.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

/// `btdb compare --strategy STRATEGY --x X --y Y` as JSON: the pivot of an imported sweep.
pub fn pivot(db: &TestDb, strategy: &str, x: &str, y: &str) -> Value {
    json(&ok(
        db,
        &[
            "compare",
            "--strategy",
            strategy,
            "--x",
            x,
            "--y",
            y,
            "--format",
            "json",
        ],
    ))["pivot"]
        .clone()
}

/// The header of a CSV document and its rows as maps from column to cell.
pub fn csv_table(csv: &str) -> (Vec<String>, Vec<std::collections::BTreeMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.expect("a record").iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}
