//! `btdb record` and `btdb show` as a user runs them: exit codes, one-line errors, standard
//! input, JSON output.

mod common;

use common::TestDb;
use common::cli::{btdb, text};

const RUN: &str = r#"{"run_key": "k1", "strategy": "s", "dataset": "D", "metrics": {"custom.x": 0.25}, "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101], ["2024-01-03T00:00:00Z", 99.5]]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_one_line_and_the_exit_code_is_1() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("cli-failed");
    let file = common::record::write(
        &dir,
        "runs.jsonl",
        &format!("{RUN}\n{{\"strategy\": \"s\"}}\n"),
    );
    let out = btdb(&db, &["record", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "error: {}:2: column 17: missing field `dataset`",
            file.display()
        )
    );
    assert_eq!(
        lines[1],
        "error: 1 of 2 runs failed; nothing of those runs was written"
    );
    assert_eq!(
        text(&out.stdout).trim(),
        "recorded 1, already present 0, failed 1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn standard_input_is_recorded_and_json_output_is_a_summary() {
    let db = TestDb::new().await;
    let out = btdb(
        &db,
        &["--format", "json", "record", "-", "--sweep", "from-stdin"],
        Some(RUN),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["recorded"], 1);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["failures"], serde_json::json!([]));

    let again = btdb(
        &db,
        &["--format", "json", "record", "-", "--sweep", "from-stdin"],
        Some(RUN),
    );
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["already_present"], 1);

    let show = btdb(&db, &["--format", "json", "show", "--key", "k1"], None);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let run: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(run["run_key"], "k1");
    assert_eq!(run["sweep"], "from-stdin");
    assert_eq!(run["metrics"]["custom.x"], 0.25);
    assert_eq!(run["n_equity_points"], 3);
    // Counted the same where the curve is read with the run.
    let with_curve = btdb(
        &db,
        &["--format", "json", "show", "--key", "k1", "--equity"],
        None,
    );
    let with_curve: serde_json::Value = serde_json::from_slice(&with_curve.stdout).unwrap();
    assert_eq!(with_curve["n_equity_points"], 3);
    assert_eq!(with_curve["equity"].as_array().map(Vec::len), Some(3));

    let missing = btdb(&db, &["show", "--key", "nope"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stderr).trim(),
        "error: no run with run_key `nope`"
    );
    // A run_key is never taken for an id, nor an id for a run_key.
    let not_an_id = btdb(&db, &["show", "k1"], None);
    assert_eq!(not_an_id.status.code(), Some(1));
    assert_eq!(
        text(&not_an_id.stderr).trim(),
        "error: `k1` is not a run id (a number); to show a run by its run_key: btdb show --key 'k1'"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_path_is_named() {
    let db = TestDb::new().await;
    let out = btdb(&db, &["record", "/nonexistent/runs.jsonl"], None);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("`/nonexistent/runs.jsonl`") && stderr.contains("No such file"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gen_records_straight_into_the_database_what_it_would_write_to_a_file() {
    let db = TestDb::new().await;
    let shape = [
        "--runs",
        "120",
        "--strategies",
        "3",
        "--trades",
        "4",
        "--equity",
        "30",
    ];
    let mut args = vec!["gen", "--record", "--format", "json"];
    args.extend(shape);
    let out = btdb(&db, &args, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["recorded"], 120);

    let mut args = vec!["gen"];
    args.extend(shape);
    let documents = btdb(&db, &args, None);
    assert!(documents.status.success());
    let again = btdb(
        &db,
        &["record", "-", "--format", "json"],
        Some(&text(&documents.stdout)),
    );
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(
        summary["already_present"], 120,
        "the same documents either way"
    );
    assert_eq!(summary["recorded"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_failing_every_run_alike_is_said_once_with_the_count() {
    let db = TestDb::new().await;
    // The server refuses every run the same way, as a full disk does (SQLSTATE 53100).
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut db.conn().await,
        "CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             RAISE EXCEPTION 'could not extend file \"base/1/2\": No space left on device' \
                 USING ERRCODE = 'disk_full'; \
         END $$; \
         CREATE TRIGGER no_room BEFORE INSERT ON runs FOR EACH ROW EXECUTE FUNCTION no_room();",
    )
    .await
    .expect("the failing trigger");
    let docs: Vec<String> = (0..150)
        .map(|i| RUN.replace("\"k1\"", &format!("\"full:{i}\"")))
        .collect();
    let out = btdb(&db, &["record", "--jobs", "2", "-"], Some(&docs.join("\n")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("error: <stdin>:")
            && lines[0].ends_with("could not extend file \"base/1/2\": No space left on device"),
        "{stderr}"
    );
    assert_eq!(lines[1], "error: the same error for 149 more runs");
    assert_eq!(
        lines[2],
        "error: 150 of 150 runs failed; nothing of those runs was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_records_a_run_in_place_of_the_other_content_its_key_had() {
    let db = TestDb::new().await;
    let first = r#"{"run_key": "k2", "strategy": "s", "dataset": "D", "params": {"fast": 1},
        "metrics": {"custom.x": 1}, "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 90]],
        "trades": [{"symbol": "A", "side": "long", "quantity": "1", "entry_time": "2024-01-01T00:00:00Z",
                    "entry_price": "10", "exit_time": "2024-01-02T00:00:00Z", "exit_price": "9"}]}"#;
    let second = RUN.replace("k1", "k2");
    let json = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).expect("a JSON answer")
    };
    assert!(btdb(&db, &["record", "-"], Some(first)).status.success());
    let old = json(&btdb(
        &db,
        &["--format", "json", "show", "--key", "k2"],
        None,
    ));
    // Without --replace: refused, saying how to replace it.
    let refused = btdb(&db, &["record", "-"], Some(&second));
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.contains("already recorded with different content"),
        "{err}"
    );
    assert!(
        err.contains("--replace records this run in its place"),
        "{err}"
    );
    // With it: the run is the second document's, with nothing left of the first.
    let out = btdb(
        &db,
        &["--format", "json", "record", "-", "--replace"],
        Some(&second),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = json(&out);
    assert_eq!(
        (summary["replaced"].as_u64(), summary["recorded"].as_u64()),
        (Some(1), Some(0))
    );
    let new = json(&btdb(
        &db,
        &["--format", "json", "show", "--key", "k2"],
        None,
    ));
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["metrics"]["custom.x"], 0.25);
    assert_eq!(new["n_trades"], 0);
    assert_eq!(new["n_equity_points"], 3);
    assert_eq!(new["params"], serde_json::json!({}));
    let gone = btdb(&db, &["show", &old["id"].to_string()], None);
    assert!(!gone.status.success());
    let runs = json(&btdb(&db, &["--format", "json", "runs"], None));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1));
    // Rankings know only the new run's value.
    for by in ["best", "mean", "count"] {
        let ranked = json(&btdb(
            &db,
            &[
                "--format", "json", "rank", "--metric", "custom.x", "--by", by,
            ],
            None,
        ));
        let want = if by == "count" { 1.0 } else { 0.25 };
        assert_eq!(
            ranked[0]["score"].as_f64(),
            Some(want),
            "--by {by}: {ranked}"
        );
        assert_eq!(ranked[0]["runs"], 1, "--by {by}: {ranked}");
    }
    // The same document again is the same run: nothing to replace.
    let again = json(&btdb(
        &db,
        &["--format", "json", "record", "-", "--replace"],
        Some(&second),
    ));
    assert_eq!(again["already_present"], 1);
    assert_eq!(again["replaced"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_recorded_again_with_a_sweep_moves_into_it_and_without_one_stays() {
    let db = TestDb::new().await;
    let json = |out: &std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("a JSON answer")
    };
    let record = |args: &[&str]| {
        let mut all = vec!["--format", "json", "record", "-"];
        all.extend_from_slice(args);
        json(&btdb(&db, &all, Some(RUN)))
    };
    let sweep_of = || {
        json(&btdb(
            &db,
            &["--format", "json", "show", "--key", "k1"],
            None,
        ))["sweep"]
            .clone()
    };
    let first = record(&[]);
    assert_eq!(first["recorded"], 1);
    assert_eq!(sweep_of(), serde_json::Value::Null);

    let moved = record(&["--sweep", "grid"]);
    assert_eq!(
        (
            &moved["recorded"],
            &moved["already_present"],
            &moved["moved"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!(1)
        ),
        "{moved}"
    );
    assert_eq!(sweep_of(), "grid");
    let listed = json(&btdb(
        &db,
        &["--format", "json", "runs", "--sweep", "grid"],
        None,
    ));
    assert_eq!(listed["runs"].as_array().map(Vec::len), Some(1));
    // The same again is nothing to move; without a sweep the run stays where it is.
    assert_eq!(record(&["--sweep", "grid"])["moved"], 0);
    let without = record(&[]);
    assert_eq!(
        (&without["already_present"], &without["moved"]),
        (&serde_json::json!(1), &serde_json::json!(0))
    );
    assert_eq!(sweep_of(), "grid");
    // Said in the line people read.
    let out = btdb(&db, &["record", "-", "--sweep", "grid-2"], Some(RUN));
    assert_eq!(
        text(&out.stdout).trim(),
        "recorded 0, already present 1 (1 moved into the sweep given), failed 0"
    );
    assert_eq!(sweep_of(), "grid-2");
    // Other content under the key is still refused, naming what differs, not the sweep.
    let other = RUN.replace("0.25", "0.5");
    let refused = btdb(&db, &["record", "-", "--sweep", "grid-3"], Some(&other));
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(
        err.contains("(first difference: metrics.custom.x)"),
        "{err}"
    );
    assert_eq!(sweep_of(), "grid-2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trade_s_entry_tag_exit_reason_and_leverage_come_back_as_given() {
    let db = TestDb::new().await;
    let doc = r#"{"run_key": "k3", "strategy": "s", "dataset": "D",
        "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-03T00:00:00Z", 101]],
        "trades": [
          {"symbol": "A", "side": "long", "quantity": "1", "entry_time": "2024-01-01T00:00:00Z",
           "entry_price": "10", "exit_time": "2024-01-02T00:00:00Z", "exit_price": "11", "entry_tag": "ema\u202ecross", "exit_reason": "roi", "leverage": "2.50"},
          {"symbol": "B", "side": "short", "quantity": "1", "entry_time": "2024-01-01T00:00:00Z",
           "entry_price": "10", "exit_time": "2024-01-02T00:00:00Z", "exit_price": "9"}]}"#;
    let out = btdb(&db, &["record", "-"], Some(doc));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let show = btdb(
        &db,
        &["--format", "json", "show", "--key", "k3", "--trades"],
        None,
    );
    let run: serde_json::Value = serde_json::from_slice(&show.stdout).expect("JSON");
    let trades = run["trades"].as_array().expect("trades");
    assert_eq!(trades[0]["entry_tag"], "ema\u{202e}cross");
    assert_eq!(trades[0]["exit_reason"], "roi");
    assert_eq!(trades[0]["leverage"], "2.50");
    for field in ["entry_tag", "exit_reason", "leverage"] {
        assert!(trades[1].get(field).is_none(), "{}", trades[1]);
    }
    // Grouped as Freqtrade's tables are: by pair, by exit reason.
    let by = btdb(
        &db,
        &[
            "--format",
            "json",
            "show",
            "--key",
            "k3",
            "--by",
            "symbol",
            "--by",
            "exit-reason",
        ],
        None,
    );
    let grouped: serde_json::Value = serde_json::from_slice(&by.stdout).expect("JSON");
    let symbols = &grouped["trades_by"]["symbol"];
    assert_eq!(symbols[0]["name"], "A", "{grouped}");
    assert_eq!(symbols[0]["pnl"], trades[0]["pnl"]);
    assert_eq!(symbols[1]["name"], "B");
    assert_eq!(symbols[1]["pnl"], trades[1]["pnl"]);
    let reasons = &grouped["trades_by"]["exit_reason"];
    assert_eq!(reasons.as_array().map(Vec::len), Some(2), "{reasons}");
    assert_eq!(reasons[1]["name"], serde_json::Value::Null);
    assert_eq!(
        (&reasons[0]["trades"], &reasons[0]["winners"]),
        (&1.into(), &1.into())
    );
    let shown = text(&btdb(&db, &["show", "--key", "k3", "--by", "exit-reason"], None).stdout);
    assert!(shown.contains("trades by exit reason"), "{shown}");
    // The exported document is the one recorded: recording it again is the same run.
    let exported = btdb(&db, &["export", "--key", "k3"], None);
    let line = text(&exported.stdout);
    let back: serde_json::Value = serde_json::from_str(line.trim()).expect("a document");
    assert_eq!(back["trades"][0]["exit_reason"], "roi");
    assert_eq!(back["trades"][0]["leverage"], "2.50");
    let again = btdb(&db, &["--format", "json", "record", "-"], Some(&line));
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(summary["already_present"], 1, "{summary}");
    // A run without them keeps the hash it always had: only the trades' details differ here.
    let plain = doc
        .replace(
            r#", "entry_tag": "ema\u202ecross", "exit_reason": "roi", "leverage": "2.50""#,
            "",
        )
        .replace("k3", "k4");
    assert!(btdb(&db, &["record", "-"], Some(&plain)).status.success());
    let refused = btdb(&db, &["record", "-"], Some(&doc.replace("k3", "k4")));
    assert!(
        text(&refused.stderr).contains("(first difference: trades[0])"),
        "{}",
        text(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_on_runs_and_sweeps_are_kept_shown_and_found() {
    let db = TestDb::new().await;
    let out = btdb(&db, &["record", "-", "--sweep", "grid"], Some(RUN));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let run = |args: &[&str]| btdb(&db, args, None);
    let written = run(&[
        "note",
        "--key",
        "k1",
        "--text",
        "Overfit: 100% in-sample\nsee grid B",
    ]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert_eq!(
        text(&run(&["note", "--key", "k1"]).stdout),
        "Overfit: 100% in-sample\nsee grid B\n"
    );
    let shown = run(&["--format", "json", "show", "--key", "k1"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    assert_eq!(shown["note"], "Overfit: 100% in-sample\nsee grid B");
    let id = shown["id"].to_string();
    assert!(
        text(&run(&["show", &id]).stdout)
            .contains("note             Overfit: 100% in-sample\n                 see grid B\n")
    );
    // Found by any of its words, in any case; a wildcard in the search is itself.
    let found = |needle: &str| -> usize {
        let out = run(&["--format", "json", "runs", "--note", needle]);
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        page["runs"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(
        (
            found("OVERFIT"),
            found("100%"),
            found("100_"),
            found("nothing")
        ),
        (1, 1, 0, 0)
    );
    // A note is no part of the run: recording it again is the same run, and export leaves it.
    let again = btdb(
        &db,
        &["--format", "json", "record", "-", "--sweep", "grid"],
        Some(RUN),
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(again["already_present"], 1);
    assert!(!text(&run(&["export", "--key", "k1"]).stdout).contains("Overfit"));
    // A run replaced by other content under its key keeps the analyst's note.
    let other = RUN.replace("0.25", "0.75");
    let replaced = btdb(
        &db,
        &["record", "-", "--sweep", "grid", "--replace"],
        Some(&other),
    );
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));
    assert_eq!(
        text(&run(&["note", "--key", "k1"]).stdout),
        "Overfit: 100% in-sample\nsee grid B\n"
    );
    // On a sweep, and cleared.
    assert!(
        run(&["note", "--sweep", "grid", "--text", "fast × slow"])
            .status
            .success()
    );
    assert_eq!(
        text(&run(&["note", "--sweep", "grid"]).stdout),
        "fast × slow\n"
    );
    assert!(run(&["note", "--key", "k1", "--clear"]).status.success());
    assert_eq!(text(&run(&["note", "--key", "k1"]).stdout), "");
    // Mistakes, each one line.
    let err = text(&run(&["note", "--sweep", "gird", "--text", "x"]).stderr);
    assert!(
        err.contains("no sweep named `gird`; did you mean `grid`"),
        "{err}"
    );
    let err = text(&run(&["note", "--key", "k1", "--text", "  "]).stderr);
    assert!(
        err.contains("--text is empty; --clear removes a note"),
        "{err}"
    );
    let long = "x".repeat(10_001);
    let err = text(&run(&["note", "--key", "k1", "--text", &long]).stderr);
    assert!(
        err.contains("a note holds at most 10000 characters, not 10001"),
        "{err}"
    );
}
