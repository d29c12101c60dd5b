//! Golden values: answers worked out by independent code (tests/golden/generate_*.py).

use serde_json::Value;

/// `tests/golden/NAME`, parsed.
pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fails unless `actual` is within `relative` of `expected` (an absolute bound below 1).
pub fn assert_close(actual: f64, expected: &Value, relative: f64, what: &str) {
    let expected = expected
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {expected}"));
    assert!(
        (actual - expected).abs() <= relative * expected.abs().max(1.0),
        "{what}: {actual} against {expected}"
    );
}
