//! `btdb runs --sort METRIC [--asc]`: every run once, in value order with ties by id, paged
//! both ways, with the count of the runs matching.

mod common;

use std::collections::HashMap;
use std::fmt::Write;

use common::TestDb;
use common::cli::{fails, ok, page_ids};
use serde_json::{Value, json};

/// A run as the test wrote it: its strategy, data set, status and sharpe (if any).
struct Written {
    strategy: &'static str,
    dataset: &'static str,
    completed: bool,
    sharpe: Option<f64>,
}

/// 60 runs whose sharpe takes four values (so most runs tie), five without sharpe and four
/// failed; recorded one at a time. Returns the database and each run by id.
async fn tied() -> (TestDb, HashMap<i64, Written>) {
    let db = TestDb::new().await;
    let mut written = Vec::new();
    let mut lines = String::new();
    for i in 0..60 {
        let strategy = if i % 3 == 0 { "beta" } else { "alpha" };
        let dataset = if i % 2 == 0 { "D1" } else { "D2" };
        let completed = i % 15 != 7;
        let sharpe = (i % 12 != 5).then(|| [1.5, -0.25, 0.0, 1.5][i % 4]);
        let mut metrics = json!({ "n_trades": i });
        if let Some(s) = sharpe {
            metrics["sharpe"] = json!(s);
        }
        let doc = json!({
            "run_key": format!("tie:{i}"),
            "strategy": strategy,
            "dataset": dataset,
            "params": { "k": i },
            "status": if completed { "completed" } else { "failed" },
            "periods_per_year": 252,
            "metrics": metrics,
        });
        writeln!(lines, "{doc}").expect("write");
        written.push(Written {
            strategy,
            dataset,
            completed,
            sharpe,
        });
    }
    let dir = common::scratch_dir("sorting");
    let path = dir.join("runs.jsonl");
    std::fs::write(&path, lines).expect("writing the runs");
    ok(
        &db,
        &["record", "--jobs", "1", "-q", path.to_str().expect("path")],
    );
    // Ids by run_key, read in recording order (not the order under test).
    let listed = json_of(&ok(&db, &["runs", "--limit", "1000", "--format", "json"]));
    let mut by_id = HashMap::new();
    let mut written: Vec<Option<Written>> = written.into_iter().map(Some).collect();
    for run in listed["runs"].as_array().expect("runs") {
        let key = run["run_key"].as_str().expect("key");
        let i: usize = key.trim_start_matches("tie:").parse().expect("index");
        let id = run["id"].as_i64().expect("id");
        by_id.insert(id, written[i].take().expect("each run once"));
    }
    assert_eq!(by_id.len(), 60);
    (db, by_id)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The ids the listing should give: completed runs with sharpe matching `keep`, by sharpe
/// then id, largest first (or smallest first, `ascending`); then the other runs matching
/// `keep` (failed, or without sharpe) by id, newest first (oldest first, `ascending`).
fn expected(
    runs: &HashMap<i64, Written>,
    keep: impl Fn(&Written) -> bool,
    ascending: bool,
) -> Vec<i64> {
    let ranked = |w: &Written| w.completed && w.sharpe.is_some();
    let mut ids: Vec<(f64, i64)> = runs
        .iter()
        .filter(|(_, w)| ranked(w) && keep(w))
        .filter_map(|(id, w)| Some((w.sharpe?, *id)))
        .collect();
    ids.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut rest: Vec<i64> = runs
        .iter()
        .filter(|(_, w)| !ranked(w) && keep(w))
        .map(|(id, _)| *id)
        .collect();
    rest.sort();
    if !ascending {
        ids.reverse();
        rest.reverse();
    }
    ids.into_iter().map(|(_, id)| id).chain(rest).collect()
}

/// Every page of `args` forward from the first, by the `next` cursors: the ids in order and
/// the pages' `previous` cursors.
fn walk(db: &TestDb, args: &[&str]) -> (Vec<Vec<i64>>, Vec<Option<i64>>) {
    let (mut pages, mut previous) = (Vec::new(), Vec::new());
    let mut after: Option<String> = None;
    loop {
        let mut argv: Vec<&str> = args.to_vec();
        argv.extend(["--format", "json"]);
        if let Some(a) = &after {
            argv.extend(["--after", a]);
        }
        let text = ok(db, &argv);
        let page = json_of(&text);
        pages.push(page_ids(&text));
        previous.push(page["previous"].as_i64());
        match page["next"].as_i64() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
        assert!(pages.len() < 100, "paging does not end");
    }
    (pages, previous)
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_by_a_metric_hold_every_run_once_in_value_then_id_order() {
    let (db, runs) = tied().await;
    for ascending in [false, true] {
        let mut args = vec!["runs", "--sort", "sharpe", "--limit", "7"];
        if ascending {
            args.push("--asc");
        }
        let (pages, previous) = walk(&db, &args);
        let flat: Vec<i64> = pages.iter().flatten().copied().collect();
        assert_eq!(
            flat,
            expected(&runs, |_| true, ascending),
            "asc {ascending}"
        );
        assert!(pages.iter().rev().skip(1).all(|p| p.len() == 7));
        // Each page's `previous` cursor leads back to exactly the page before it.
        assert_eq!(previous[0], None);
        for k in 1..pages.len() {
            let cursor = previous[k].expect("a previous cursor").to_string();
            let mut argv = args.clone();
            argv.extend(["--before", &cursor, "--format", "json"]);
            assert_eq!(page_ids(&ok(&db, &argv)), pages[k - 1], "page {k}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sorting_keeps_the_filters_and_the_count_counts_every_page() {
    let (db, runs) = tied().await;
    let args = [
        "runs",
        "--sort",
        "sharpe",
        "--strategy",
        "alpha",
        "--dataset",
        "D2",
        "--limit",
        "4",
    ];
    let (pages, _) = walk(&db, &args);
    let wanted = expected(&runs, |w| w.strategy == "alpha" && w.dataset == "D2", false);
    assert_eq!(pages.concat(), wanted);
    let first = json_of(&ok(&db, &[&args[..], &["--format", "json"]].concat()));
    assert_eq!(
        first["count"],
        json!({ "runs": wanted.len(), "exact": true })
    );
    assert_eq!(
        first["sort"],
        json!({ "metric": "sharpe", "ascending": false })
    );

    // In recording order the count takes failed runs and runs without the metric too.
    let all = json_of(&ok(&db, &["runs", "--limit", "5", "--format", "json"]));
    assert_eq!(all["count"], json!({ "runs": 60, "exact": true }));
    let failed = json_of(&ok(
        &db,
        &["runs", "--status", "failed", "--format", "json"],
    ));
    let failures = runs.values().filter(|w| !w.completed).count();
    assert_eq!(failed["count"]["runs"], json!(failures));
    let oldest = json_of(&ok(
        &db,
        &["runs", "--asc", "--limit", "3", "--format", "json"],
    ));
    let mut ids: Vec<i64> = runs.keys().copied().collect();
    ids.sort();
    assert_eq!(page_ids(&oldest.to_string()), ids[..3]);

    let table = ok(&db, &["runs", "--sort", "sharpe", "--limit", "2"]);
    assert!(table.contains("60 runs match"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sort_mistakes_name_the_metric() {
    let (db, _) = tied().await;
    let err = fails(&db, &["runs", "--sort", "sharp"]);
    assert!(err.contains("did you mean `sharpe`"), "{err}");
    let err = fails(&db, &["runs", "--dataset", "d1"]);
    assert!(
        err.contains("no run is on `d1`; did you mean `D1`"),
        "{err}"
    );
    let err = fails(&db, &["runs", "--sort", "sharpe", "--status", "failed"]);
    assert!(
        err.contains("orders completed runs by their value"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_without_the_metric_follow_and_a_cursor_among_them_pages_on() {
    let (db, runs) = tied().await;
    let order = expected(&runs, |_| true, false);
    assert_eq!(order.len(), 60, "every run is listed, sorted or not");
    // A cursor among the runs without sharpe continues among them.
    let without = *order
        .iter()
        .find(|id| runs[id].sharpe.is_none())
        .expect("a run without sharpe");
    let at = order.iter().position(|id| *id == without).expect("listed");
    let after = json_of(&ok(
        &db,
        &[
            "runs",
            "--sort",
            "sharpe",
            "--after",
            &without.to_string(),
            "--limit",
            "100",
            "--format",
            "json",
        ],
    ));
    assert_eq!(page_ids(&after.to_string()), order[at + 1..]);
    // Sorting by a metric that no run of the filter has lists them, not none.
    assert!(runs.values().any(|w| w.sharpe.is_none()));
    let lacking = json_of(&ok(
        &db,
        &[
            "runs",
            "--sort",
            "sharpe",
            "--where",
            "n_trades = 5",
            "--format",
            "json",
        ],
    ));
    assert_eq!(lacking["count"]["runs"], 1);
    assert_eq!(lacking["runs"].as_array().map(Vec::len), Some(1));
    assert!(lacking["runs"][0]["metrics"].get("sharpe").is_none());
}
