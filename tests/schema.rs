//! The JSON Schema that `btdb schema` prints, checked by a standard validator: every good
//! document (fixtures, the demo's, `btdb gen`'s) passes, and every malformed fixture whose fault
//! is one of shape fails, so the schema and btdb's own rules agree.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn btdb(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .output()
        .expect("running btdb");
    assert!(
        out.status.success(),
        "btdb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&btdb(&["schema"])).expect("the schema is JSON");
    jsonschema::draft202012::meta::validate(&schema).expect("a valid draft 2020-12 schema");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// The documents of a file: one object, an array of them, or JSON Lines. Text that is no JSON
/// value yields nothing: that is the parser's to refuse, not the schema's.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("fixture");
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        return match value {
            Value::Array(items) => items,
            other => vec![other],
        };
    }
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn good_documents_pass_the_schema() {
    let validator = validator();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut docs = Vec::new();
    for file in [
        "good/sma_cross_run.json",
        "good/sweep.jsonl",
        "rank/runs.jsonl",
    ] {
        docs.extend(documents(&fixtures.join(file)));
    }
    assert!(docs.len() > 25, "{}", docs.len());
    let demo = std::env::temp_dir().join(format!("btdb-schema-demo-{}", std::process::id()));
    let (runs, _) = btdb::demo::write_documents(&demo).expect("demo documents");
    for entry in std::fs::read_dir(&runs).expect("demo runs") {
        docs.extend(documents(&entry.expect("entry").path()));
    }
    std::fs::remove_dir_all(&demo).ok();
    let generated = btdb(&["gen", "--runs", "20", "--metrics", "2"]);
    docs.extend(
        generated
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON")),
    );
    assert!(docs.len() > 250, "{}", docs.len());
    for doc in &docs {
        let errors = errors(&validator, doc);
        assert!(errors.is_empty(), "{errors:?} in {doc}");
    }
}

/// Malformed fixtures whose fault a schema cannot see: order and range between values, or
/// magnitudes beyond NUMERIC and float64.
const BEYOND_SHAPE: &[&str] = &[
    "period_end_before_start.jsonl",
    "period_end_equals_start.jsonl",
    "period_end_before_default_start.jsonl",
    "trade_exit_before_entry.jsonl",
    "equity_repeated_timestamp.jsonl",
    "equity_timestamps_going_back.jsonl",
    "initial_capital_too_large.jsonl",
    "initial_capital_too_precise.jsonl",
    "trade_pnl_too_large.jsonl",
    "equity_beyond_float.jsonl",
    "metric_out_of_float_range.jsonl",
    // A parser keeps one of two equal keys; what is left has the right shape.
    "duplicate_field.jsonl",
    "finished_before_started.jsonl",
    "intermediate_steps_going_back.jsonl",
    "search_space_low_above_high.jsonl",
];

#[test]
fn malformed_fixtures_of_shape_fail_the_schema_and_only_those_pass_it() {
    let validator = validator();
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let manifest = std::fs::read_to_string(bad.join("cases.tsv")).expect("cases.tsv");
    let mut passed = BTreeSet::new();
    let mut checked = 0;
    for file in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
    {
        let docs = documents(&bad.join(file));
        if docs.is_empty() {
            continue;
        }
        checked += 1;
        if docs.iter().all(|d| errors(&validator, d).is_empty()) {
            passed.insert(file);
        }
    }
    assert!(checked >= 65, "only {checked} fixtures are JSON");
    assert_eq!(
        passed,
        BEYOND_SHAPE.iter().copied().collect::<BTreeSet<_>>()
    );
}
