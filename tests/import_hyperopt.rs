//! `btdb import freqtrade` on a `.fthypt` file Freqtrade 2026.9's own hyperopt wrote
//! (tests/fixtures/real/freqtrade/hyperopt/generate.py): every epoch compared with its line of
//! the file, as Freqtrade wrote it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use bigdecimal::BigDecimal;

use common::TestDb;
use common::cli::{btdb, fails, ok, text};
use common::figures::json;
use serde_json::Value;

const RESULTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/real/freqtrade/hyperopt/results"
);

fn fthypt() -> PathBuf {
    std::fs::read_dir(RESULTS)
        .expect("results")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "fthypt"))
        .expect("a .fthypt file")
}

/// The file's epochs, one per line.
fn epochs() -> Vec<Value> {
    std::fs::read_to_string(fthypt())
        .expect("reading the epochs")
        .lines()
        .map(json)
        .collect()
}

/// Parameters compare by value, as run documents say: `0.0` is stored as `0`.
fn same_param(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn exported(db: &TestDb) -> BTreeMap<i64, Value> {
    ok(db, &["export"])
        .lines()
        .map(json)
        .map(|doc| (doc["trial"].as_i64().expect("an epoch number"), doc))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_epoch_is_a_run_with_freqtrade_s_own_parameters_loss_and_trades() {
    let db = TestDb::new().await;
    let file = fthypt();
    let path = file.to_str().expect("a path");
    let summary = json(&ok(&db, &["import", "freqtrade", path, "--format", "json"]));
    let epochs = epochs();
    assert_eq!(epochs.len(), 40);
    assert_eq!(summary["recorded"], 40);
    let stem = file.file_stem().and_then(|s| s.to_str()).expect("stem");
    let docs = exported(&db);
    for epoch in &epochs {
        let number = epoch["current_epoch"].as_i64().expect("epoch");
        let doc = &docs[&number];
        let stats = &epoch["results_metrics"];
        assert_eq!(
            doc["run_key"],
            format!("freqtrade-hyperopt:{stem}:{number}")
        );
        assert_eq!(doc["sweep"], stem);
        assert_eq!(doc["strategy"], stats["strategy_name"]);
        // Every parameter hyperopt chose, as it wrote it, and those it did not optimise.
        let params = doc["params"].as_object().expect("params");
        for (key, value) in epoch["params_dict"].as_object().expect("params_dict") {
            assert!(same_param(&params[key], value), "epoch {number}: {key}");
        }
        for values in epoch["params_not_optimized"]
            .as_object()
            .expect("not optimised")
            .values()
        {
            for (key, value) in values.as_object().into_iter().flatten() {
                if value.is_null() {
                    assert!(!params.contains_key(key), "epoch {number}: {key} is null");
                } else {
                    assert!(same_param(&params[key], value), "epoch {number}: {key}");
                }
            }
        }
        // The loss, bit for bit, minimised.
        let loss = epoch["loss"].as_f64().expect("loss");
        let got = doc["metrics"]["loss"].as_f64().expect("loss metric");
        assert_eq!(got.to_bits(), loss.to_bits(), "epoch {number}");
        assert_eq!(doc["directions"]["loss"], "minimize");
        for figure in ["profit_total", "sharpe", "max_drawdown_account"] {
            if let Some(want) = stats[figure].as_f64() {
                let got = doc["metrics"][format!("freqtrade.{figure}")]
                    .as_f64()
                    .expect("a figure");
                assert_eq!(got.to_bits(), want.to_bits(), "epoch {number}: {figure}");
            }
        }
        let tags: Vec<&str> = doc["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for flag in ["is_best", "is_initial_point", "is_random"] {
            assert_eq!(
                tags.contains(&flag),
                epoch[flag] == true,
                "epoch {number}: {flag}"
            );
        }
        // Its trades, each with Freqtrade's profit as written.
        let trades = stats["trades"].as_array().expect("trades");
        let got = doc["trades"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(got, trades.len(), "epoch {number}");
        for (mine, theirs) in doc["trades"].as_array().into_iter().flatten().zip(trades) {
            let decimal = |text: &str| BigDecimal::from_str(text).expect("a decimal");
            assert_eq!(
                decimal(mine["pnl"].as_str().expect("pnl")),
                decimal(&theirs["profit_abs"].to_string())
            );
            assert_eq!(mine["symbol"], theirs["pair"]);
        }
    }

    // Ranked by loss, lowest first, as hyperopt judged the epochs.
    let mut losses: Vec<f64> = epochs
        .iter()
        .map(|e| e["loss"].as_f64().expect("loss"))
        .collect();
    losses.sort_by(f64::total_cmp);
    let ranked = json(&ok(
        &db,
        &[
            "rank", "--metric", "loss", "--runs", "--top", "100", "--format", "json",
        ],
    ));
    let ranked: Vec<f64> = ranked
        .as_array()
        .expect("ranked runs")
        .iter()
        .map(|r| r["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(ranked, losses);

    // Importing again, by the folder this time, records nothing.
    let again = json(&ok(
        &db,
        &["import", "freqtrade", RESULTS, "--format", "json"],
    ));
    assert_eq!(again["recorded"], 0);
    assert_eq!(again["already_present"], 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_line_is_named_and_the_other_epochs_import() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("fthypt");
    let text_of = std::fs::read_to_string(fthypt()).expect("epochs");
    let mut lines: Vec<&str> = text_of.lines().collect();
    let cut = &lines[4][..lines[4].len() / 2];
    lines[4] = cut;
    let damaged = dir.join("strategy_SmaCrossHyper_damaged.fthypt");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("writing");
    let out = btdb(
        &db,
        &[
            "import",
            "freqtrade",
            damaged.to_str().expect("path"),
            "--format",
            "json",
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("strategy_SmaCrossHyper_damaged.fthypt:5: not JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 hyperopt line could not be read and its epoch was not imported"),
        "{stderr}"
    );
    assert_eq!(json(&text(&out.stdout))["recorded"], 39);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_a_hyperopt_result_is_one_line_saying_what_it_is() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("fthypt-bad");
    // A backtest result under a hyperopt name.
    let backtest = dir.join("backtest.fthypt");
    std::fs::write(&backtest, r#"{"strategy": {}, "strategy_comparison": []}"#).expect("write");
    let err = fails(
        &db,
        &["import", "freqtrade", backtest.to_str().expect("path")],
    );
    assert!(
        err.contains("not a hyperopt result but a Freqtrade backtest result"),
        "{err}"
    );
    assert!(err.contains("fthypt_fileversion 2"), "{err}");
    // Text that is no JSON at all.
    let readme = dir.join("readme.fthypt");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), &readme).expect("copy");
    let err = fails(
        &db,
        &["import", "freqtrade", readme.to_str().expect("path")],
    );
    assert!(
        err.contains("readme.fthypt: not a Freqtrade hyperopt result"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // An epoch of an older file version.
    let old = dir.join("old.fthypt");
    let first = epochs().remove(0);
    let mut first = first.as_object().expect("epoch").clone();
    first.remove("fthypt_fileversion");
    std::fs::write(&old, Value::Object(first).to_string()).expect("write");
    let err = fails(&db, &["import", "freqtrade", old.to_str().expect("path")]);
    assert!(err.contains("no fthypt_fileversion (version 1)"), "{err}");
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0));
}
