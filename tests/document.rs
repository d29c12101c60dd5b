//! The run document's identity: the content hash of fixed documents, pinned. It keys every
//! stored run (a document without a `run_key` is keyed by it, and recording the same key with
//! another hash is a conflict), so a change to the canonical form must fail here rather than
//! re-key every run a team has recorded. The same hashes are in docs/run-document.md.

use btdb::document;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_of(text: &str) -> (String, String) {
    let doc = document::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let run = document::validate(doc, None).unwrap_or_else(|e| panic!("{e}"));
    (hex(&run.content_hash), run.run_key)
}

/// tests/fixtures/good/sma_cross_run.json without its run_key: every kind of field, defaults
/// applied (status), both forms of equity points, a trade with and one without pnl.
const WITHOUT_KEY: &str = r#"{
  "strategy": {"name": "sma_cross", "version": "1.2.0"},
  "params": {"fast": 10, "slow": 50, "allow_short": false},
  "dataset": "AAPL-1d",
  "period_start": "2024-01-02T00:00:00Z",
  "period_end": "2024-01-10T00:00:00Z",
  "initial_capital": "100000",
  "periods_per_year": 252,
  "sweep": "sma-grid-2026-11",
  "tags": ["daily", "long-only"],
  "metrics": {"custom.exposure": 0.62},
  "trades": [
    {"symbol": "AAPL", "side": "long", "quantity": "100", "entry_time": "2024-01-02T14:30:00Z",
     "entry_price": "185.64", "exit_time": "2024-01-05T21:00:00Z", "exit_price": "181.18", "fees": "1.00"},
    {"symbol": "AAPL", "side": "long", "quantity": "120", "entry_time": "2024-01-08T14:30:00Z",
     "entry_price": "182.09", "exit_time": "2024-01-10T21:00:00Z", "exit_price": "186.19", "fees": "1.00",
     "pnl": "491.00"}
  ],
  "equity": [
    ["2024-01-02T00:00:00Z", 100000.0],
    ["2024-01-03T00:00:00Z", 99512.0],
    ["2024-01-04T00:00:00Z", 99310.0],
    ["2024-01-05T00:00:00Z", 99553.0],
    {"ts": "2024-01-08T00:00:00Z", "equity": 99553.0},
    {"ts": "2024-01-09T00:00:00Z", "equity": 99890.5},
    {"ts": "2024-01-10T00:00:00Z", "equity": 100044.0}
  ]
}"#;

#[test]
fn the_content_hash_of_a_fixed_document_is_pinned() {
    let (hash, key) = hash_of(WITHOUT_KEY);
    assert_eq!(hash, PINNED_WITHOUT_KEY);
    assert_eq!(key, format!("sha256:{PINNED_WITHOUT_KEY}"));
    // The same content spelled otherwise: keys reordered, numbers as other texts of the same
    // values, a timestamp in another zone.
    let respelled = WITHOUT_KEY
        .replace(r#""fast": 10, "slow": 50"#, r#""slow": 50.0, "fast": 1e1"#)
        .replace(
            r#""initial_capital": "100000""#,
            r#""initial_capital": 100000"#,
        )
        .replace("2024-01-02T14:30:00Z", "2024-01-02T09:30:00-05:00");
    assert_ne!(respelled, WITHOUT_KEY);
    assert_eq!(hash_of(&respelled).0, PINNED_WITHOUT_KEY);
}

/// A document recorded by an earlier btdb, whose content hash the database kept: the one
/// written here was computed by that btdb, not by the code under test.
#[test]
fn a_hash_an_earlier_btdb_stored_is_the_same_today() {
    let recorded = r#"{"run_key": "arr-1", "strategy": "s", "dataset": "d3",
        "metrics": {"x": 11099.605836499999}, "periods_per_year": 11099.605836499999,
        "params": {"p": 11099.605836499999},
        "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 11099.605836499999]],
        "trades": [{"symbol": "A", "side": "long", "quantity": 11099.605836499999,
                    "entry_time": "2024-01-01T00:00:00Z", "exit_time": "2024-01-02T00:00:00Z",
                    "entry_price": 1.1, "exit_price": 11099.605836499999}]}"#;
    assert_eq!(
        hash_of(recorded).0,
        "42f40f954d217bc3f5979ac8db0923c627554a1f1fe68e0bb319d27b1b91efed"
    );
    let extremes = r#"{"run_key":"rt-1","strategy":"s","dataset":"d",
        "metrics":{"x":11099.605836499999,"y":1.7e308,"z":5e-324,"w":-0.0},
        "equity":[["2024-01-01T00:00:00Z",100],["2024-01-02T00:00:00Z",11099.605836499999]]}"#;
    assert_eq!(
        hash_of(extremes).0,
        "87b0ee4c6a112d8f0c6fca36657d664c93af12b3928dddeb5e222adb466656f8"
    );
}

/// Also in docs/run-document.md ("The run key and idempotency").
const PINNED_WITHOUT_KEY: &str = "6e75464b822edd03ea79eaa9906bc5824f53b43ad5dbe44725a04c6dbdcbaa0a";
