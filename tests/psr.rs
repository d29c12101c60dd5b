//! The probabilistic Sharpe ratio and the minimum track record length of a run, in `show` and
//! `rank --runs --psr`, against scipy (tests/golden/generate_psr.py).

mod common;

use common::TestDb;
use common::cli::ok;
use serde_json::Value;

fn golden() -> Value {
    common::golden::load("psr.json")
}

fn close(actual: &Value, expected: &Value, what: &str) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {actual}"));
    common::golden::assert_close(actual, expected, 1e-9, what);
}

/// `confidence` (psr and min_track_record) matches the golden case.
fn matches(confidence: &Value, want: &Value, what: &str) {
    close(&confidence["psr"], &want["psr"], what);
    match &want["min_track_record"] {
        Value::Null => assert_eq!(confidence["min_track_record"], Value::Null, "{what}"),
        track => {
            close(
                &confidence["min_track_record"]["periods"],
                &track["periods"],
                what,
            );
            close(
                &confidence["min_track_record"]["years"],
                &track["years"],
                what,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn psr_and_min_track_record_match_scipy() {
    let db = TestDb::new().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/psr/runs.jsonl");
    ok(&db, &["record", "-q", fixture]);
    let golden = golden();
    let cases = golden.as_object().expect("cases");
    for (key, want) in cases {
        let benchmark = want["benchmark"].to_string();
        let shown: Value = serde_json::from_str(&ok(
            &db,
            &[
                "show",
                "--key",
                key,
                "--psr-benchmark",
                &benchmark,
                "--format",
                "json",
            ],
        ))
        .expect("json");
        matches(&shown, want, key);
    }
    // rank --runs --psr: the same figures, against one benchmark for all.
    let ranked: Value = serde_json::from_str(&ok(
        &db,
        &[
            "rank",
            "--runs",
            "--psr",
            "--psr-benchmark",
            "0.5",
            "--dataset",
            "PSR",
            "--format",
            "json",
        ],
    ))
    .expect("json");
    let ranked = ranked.as_array().expect("runs");
    assert_eq!(ranked.len(), cases.len());
    for (key, want) in cases.iter().filter(|(_, w)| w["benchmark"] == 0.5) {
        let row = ranked
            .iter()
            .find(|r| r["run"]["run_key"] == key.as_str())
            .expect("ranked");
        matches(&row["confidence"], want, key);
    }
    // Without the moments there is nothing to say; a benchmark must be a number.
    let bare = common::scratch_dir("psr-bare");
    let doc = bare.join("bare.json");
    std::fs::write(
        &doc,
        r#"{"run_key": "bare", "strategy": "s", "dataset": "PSR"}"#,
    )
    .expect("doc");
    ok(&db, &["record", "-q", doc.to_str().expect("path")]);
    let shown: Value =
        serde_json::from_str(&ok(&db, &["show", "--key", "bare", "--format", "json"]))
            .expect("json");
    assert_eq!(shown["psr"], Value::Null);
    assert_eq!(shown["min_track_record"], Value::Null);
    let out = common::cli::btdb(
        &db,
        &["show", "--key", "bare", "--psr-benchmark", "inf"],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    let out = common::cli::btdb(&db, &["rank", "--psr"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::cli::text(&out.stderr).contains("--runs"));
    let _ = std::fs::remove_dir_all(&bare);
}
