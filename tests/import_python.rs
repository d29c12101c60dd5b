//! The Python package's documents of a backtesting.py sweep and a swept vectorbt portfolio,
//! made from the real libraries by tests/fixtures/real/regen.sh, recorded as any run is: btdb's
//! figures equal the libraries' own (expected.json, written by the libraries themselves).

mod common;

use common::TestDb;
use common::cli::ok;
use common::figures::{close, json, number as f};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real/python");
const EXPECTED: &str = include_str!("fixtures/real/python/expected.json");

/// Records `file` and checks every run against the library's figures.
fn check(db: &TestDb, file: &str, library: &str, strategy: &str) {
    let path = format!("{DIR}/{file}");
    let summary = json(&ok(db, &["record", &path, "--format", "json"]));
    let expected = json(EXPECTED);
    let expected = expected[library].as_array().expect("runs");
    assert_eq!(
        summary["recorded"].as_u64(),
        Some(expected.len() as u64),
        "{summary}"
    );
    let page = json(&ok(
        db,
        &[
            "runs",
            "--strategy",
            strategy,
            "--limit",
            "100",
            "--format",
            "json",
            "--metrics",
            "total_return,max_drawdown,n_trades",
        ],
    ));
    let runs = page["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), expected.len());
    for want in expected {
        let run = runs
            .iter()
            .find(|r| r["params"] == want["params"])
            .unwrap_or_else(|| panic!("no run with {}", want["params"]));
        let metrics = &run["metrics"];
        assert_eq!(
            metrics["n_trades"].as_f64(),
            want["trades"].as_f64(),
            "{}",
            want["params"]
        );
        assert!(
            close(f(&metrics["total_return"]), f(&want["total_return"])),
            "{want}"
        );
        assert!(
            close(f(&metrics["max_drawdown"]), f(&want["max_drawdown"])),
            "{want}"
        );
        let id = run["id"].to_string();
        let shown = json(&ok(
            db,
            &["show", &id, "--trades", "--equity", "--format", "json"],
        ));
        let equity = shown["equity"].as_array().expect("equity");
        assert!(
            close(f(&equity[equity.len() - 1][1]), f(&want["final_equity"])),
            "{want}"
        );
        if let Some(profit) = want.get("total_profit") {
            let pnl: f64 = shown["trades"]
                .as_array()
                .expect("trades")
                .iter()
                .map(|t| f(&t["pnl"]))
                .sum();
            assert!(close(pnl, f(profit)), "{want}: {pnl}");
        }
    }
    let again = json(&ok(db, &["record", &path, "--format", "json"]));
    assert_eq!(
        again["already_present"].as_u64(),
        Some(expected.len() as u64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backtesting_py_sweep_keeps_its_figures_and_compares() {
    let db = TestDb::new().await;
    check(&db, "backtesting.jsonl", "backtesting", "SmaCross");
    let pivot = common::figures::pivot(&db, "SmaCross", "fast", "slow");
    assert_eq!(pivot["x_values"], serde_json::json!([5, 10, 20]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swept_vectorbt_portfolio_keeps_its_figures_and_ranks() {
    let db = TestDb::new().await;
    check(&db, "vectorbt.jsonl", "vectorbt", "ma_cross");
    let ranked = json(&ok(
        &db,
        &[
            "rank",
            "--runs",
            "--metric",
            "vbt.total_return",
            "--format",
            "json",
        ],
    ));
    let best = json(EXPECTED)["vectorbt"]
        .as_array()
        .expect("runs")
        .iter()
        .max_by(|a, b| f(&a["total_return"]).total_cmp(&f(&b["total_return"])))
        .cloned()
        .expect("a run");
    assert_eq!(ranked[0]["run"]["params"], best["params"]);
}
