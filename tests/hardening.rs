//! Input that once crashed btdb, and its answers now: `--where` past its bounds, a closed
//! standard output, a number that is both an id and a run_key, a server error btdb has no
//! words of its own for.

mod common;

use std::process::{Command, Stdio};

use common::TestDb;
use common::cli::{btdb, fails, ok, page_ids, text};
use diesel_async::SimpleAsyncConnection;
use serde_json::{Value, json};

/// A database holding the ranking fixture (25 runs of 3 strategies).
async fn recorded() -> TestDb {
    let db = TestDb::new().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    ok(&db, &["record", "--jobs", "1", "-q", fixture]);
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn where_past_its_bounds_fails_in_one_line_and_at_its_bounds_answers_like_the_plain_condition()
 {
    let db = recorded().await;
    // 30,000 parentheses: this aborted the process with a stack overflow (exit 134).
    let deep = format!("{}sharpe > 1{}", "(".repeat(30_000), ")".repeat(30_000));
    let err = fails(&db, &["rank", "--where", &deep]);
    assert!(
        err.contains("--where at column 33: parentheses and `not` nest more than 32 deep"),
        "{err}"
    );
    let nots = format!("{}sharpe > 1", "not ".repeat(20_000));
    fails(&db, &["runs", "--where", &nots]);
    let many = (0..101)
        .map(|i| format!("sharpe > {i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let err = fails(&db, &["runs", "--where", &many]);
    assert!(err.contains("more than 100 comparisons"), "{err}");

    // The deepest nesting and the longest chain allowed reach the server and select exactly
    // what the plain condition does.
    let plain = page_ids(&ok(
        &db,
        &["runs", "--format", "json", "--where", "sharpe > 0.5"],
    ));
    assert!(!plain.is_empty() && plain.len() < 25, "{plain:?}");
    let nested = format!("{}sharpe > 0.5{}", "(".repeat(32), ")".repeat(32));
    // `sharpe > 0.5 or sharpe > 1001 or …`: 99 terms that select nothing more.
    let chain = std::iter::once("sharpe > 0.5".to_owned())
        .chain((1..100).map(|i| format!("sharpe > {}", 1000 + i)))
        .collect::<Vec<_>>()
        .join(" or ");
    let not_not = format!("{}sharpe > 0.5", "not not ".repeat(15));
    for condition in [nested, chain, not_not] {
        let out = ok(&db, &["runs", "--format", "json", "--where", &condition]);
        assert_eq!(page_ids(&out), plain, "{}", &condition[..60]);
        ok(&db, &["rank", "--where", &condition]);
        ok(
            &db,
            &["explain", "--no-analyze", "rank", "--where", &condition],
        );
    }
}

/// Runs `btdb ARGS` with its standard output closed before it writes anything: every command
/// must end as if the reader had read it all.
fn with_stdout_closed(db: &TestDb, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running btdb");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("btdb output");
    let err = text(&out.stderr);
    assert!(out.status.success(), "btdb {args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_standard_output_ends_every_command_quietly() {
    let db = recorded().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    let id = page_ids(&ok(&db, &["runs", "--format", "json"]))[0].to_string();
    let commands: &[&[&str]] = &[
        &["explain", "rank"],
        &["explain", "--format", "json", "runs"],
        &["runs", "--format", "csv"],
        &["runs"],
        &["rank", "--format", "json"],
        &["rank", "--runs"],
        &["compare", "--strategy", "alpha", "--x", "fast"],
        &["show", &id, "--trades"],
        &["record", "-q", fixture],
        &["record", "-q", "--format", "json", fixture],
        &["doctor"],
        &["db", "url"],
        &["db", "status"],
        &["gen", "--runs", "2000"],
        &["schema"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in commands {
        with_stdout_closed(&db, args);
    }
    // As a shell runs them: the first line, and a clean exit of btdb itself.
    for command in ["explain rank", "runs --format csv"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "\"$BTDB\" {command} | head -1; exit ${{PIPESTATUS[0]}}"
            ))
            .env("BTDB", env!("CARGO_BIN_EXE_btdb"))
            .env("DATABASE_URL", db.url())
            .output()
            .expect("bash");
        assert!(out.status.success(), "{command}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 1, "{command}");
    }
}

fn record_one(db: &TestDb, doc: &Value) {
    let out = btdb(db, &["record", "-q", "-"], Some(&doc.to_string()));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn shown(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["show", "--format", "json"];
    all.extend(args);
    serde_json::from_str(&ok(db, &all)).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn show_takes_an_id_or_a_key_and_says_when_a_number_is_both() {
    let db = TestDb::new().await;
    let doc = |key: &str| json!({"run_key": key, "strategy": "s", "dataset": "d", "metrics": {"sharpe": 1}});
    record_one(&db, &doc("first"));
    let first = shown(&db, &["--key", "first"])["id"].as_i64().expect("id");
    // A second run whose run_key is the first run's id.
    record_one(&db, &doc(&first.to_string()));
    let second = shown(&db, &["--key", &first.to_string()])["id"]
        .as_i64()
        .expect("id");
    assert_ne!(first, second);

    let out = btdb(&db, &["show", &first.to_string()], None);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with(&format!("run              {first} (first)")),
        "{}",
        text(&out.stdout)
    );
    let note = text(&out.stderr);
    assert!(
        note.contains(&format!(
            "`{first}` is also the run_key of run {second}; this is run {first}: btdb show --key {first} shows the other"
        )),
        "{note}"
    );
    // No note where the number names one run only.
    let out = btdb(&db, &["show", &second.to_string()], None);
    assert!(out.status.success() && text(&out.stderr).is_empty());

    // A number that is no id but is a run_key: the error says how to reach it.
    record_one(&db, &doc("900001"));
    let err = fails(&db, &["show", "900001"]);
    let third = shown(&db, &["--key", "900001"])["id"].clone();
    assert_eq!(
        err.trim(),
        format!(
            "error: no run with id 900001; run {third} has the run_key `900001`: btdb show --key 900001"
        )
    );
    let err = fails(&db, &["show", "900002"]);
    assert_eq!(err.trim(), "error: no run with id 900002");
    // Neither or both: clap's usage error.
    assert_eq!(btdb(&db, &["show"], None).status.code(), Some(2));
    assert_eq!(
        btdb(&db, &["show", "1", "--key", "x"], None).status.code(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_btdb_does_not_recognise_ends_in_one_line_with_the_servers_message() {
    let db = recorded().await;
    let mut conn = db.conn().await;
    conn.batch_execute("ALTER TABLE metrics RENAME TO metrics_gone")
        .await
        .expect("rename");
    let err = fails(&db, &["rank"]);
    assert!(
        err.contains(r#"relation "metrics" does not exist"#),
        "{err}"
    );
}
