//! Nothing lost or half-written: concurrent recorders, a recorder killed with SIGKILL, hostile
//! values, and a password that never shows.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use common::cli::{btdb, text};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

/// `btdb gen` into a file.
fn generate(db: &TestDb, path: &Path, args: &[&str]) {
    let mut all = vec!["gen", "-o", path.to_str().expect("path")];
    all.extend(args);
    let out = btdb(db, &all, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn record_process(db: &TestDb, file: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_btdb"));
    cmd.args(["record", "-q", "--format", "json", "--jobs", "2"])
        .arg(file)
        .env("DATABASE_URL", db.url())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let mut conn = db.conn().await;
    let row: Count = diesel::sql_query(sql)
        .get_result(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.n
}

/// Runs whose trades or equity points are not all there, and rows whose run is missing: both
/// must be zero whatever happened to the recorder.
async fn half_written(db: &TestDb, trades: i64, points: i64) -> i64 {
    let sql = format!(
        "SELECT (SELECT count(*) FROM runs r
                 WHERE (SELECT count(*) FROM trades t WHERE t.run_id = r.id) <> {trades}
                    OR (SELECT count(*) FROM equity_points e WHERE e.run_id = r.id) <> {points}
                    OR NOT EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = r.id))
              + (SELECT count(*) FROM trades t WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = t.run_id))
              + (SELECT count(*) FROM equity_points e WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = e.run_id))
              + (SELECT count(*) FROM metrics m WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = m.run_id))
         AS n"
    );
    count(db, &sql).await
}

/// Distinct strategies and (strategy, params) pairs of JSON Lines files, read from the files.
fn distinct_in(files: &[PathBuf]) -> (usize, usize) {
    let mut strategies = BTreeSet::new();
    let mut sets = BTreeSet::new();
    for file in files {
        for line in std::fs::read_to_string(file).expect("file").lines() {
            let doc: serde_json::Value = serde_json::from_str(line).expect("json");
            let strategy = doc["strategy"].as_str().expect("name").to_lowercase();
            sets.insert((strategy.clone(), doc["params"].to_string()));
            strategies.insert(strategy);
        }
    }
    (strategies.len(), sets.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_concurrent_recorders_sharing_strategies_write_each_run_once() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("eight");
    let files: Vec<PathBuf> = (1..=8)
        .map(|seed| {
            let file = dir.join(format!("batch{seed}.jsonl"));
            let seed = seed.to_string();
            generate(
                &db,
                &file,
                &[
                    "--runs",
                    "500",
                    "--strategies",
                    "5",
                    "--params",
                    "20",
                    "--trades",
                    "2",
                    "--equity",
                    "10",
                    "--seed",
                    &seed,
                ],
            );
            file
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| record_process(&db, f).spawn().expect("spawn"))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("recorder");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(summary["recorded"], 500, "{summary}");
    }
    let (strategies, sets) = distinct_in(&files);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM runs").await, 4000);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM strategies").await,
        strategies as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM parameter_sets").await,
        sets as i64
    );
    assert_eq!(half_written(&db, 2, 10).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorder_killed_mid_batch_leaves_no_partial_run_and_a_rerun_completes_it_once() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("kill9");
    let file = dir.join("batch.jsonl");
    generate(
        &db,
        &file,
        &[
            "--runs", "3000", "--trades", "20", "--equity", "200", "--seed", "42",
        ],
    );
    let mut child = record_process(&db, &file).spawn().expect("spawn");
    let started = Instant::now();
    loop {
        let recorded = count(&db, "SELECT count(*) AS n FROM runs").await;
        if recorded >= 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "recording never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL
    let status = child.wait().expect("killed");
    assert!(!status.success());

    let before = count(&db, "SELECT count(*) AS n FROM runs").await;
    assert!(before > 0 && before < 3000, "{before} runs when killed");
    assert_eq!(
        half_written(&db, 20, 200).await,
        0,
        "a partial run is visible"
    );

    let out = record_process(&db, &file).output().expect("rerun");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["already_present"], before, "{summary}");
    assert_eq!(summary["recorded"], 3000 - before, "{summary}");
    assert_eq!(count(&db, "SELECT count(*) AS n FROM runs").await, 3000);
    assert_eq!(half_written(&db, 20, 200).await, 0);
}

/// `db`'s URL with a password added (the test cluster trusts its socket, so it still connects).
fn with_password(db: &TestDb, password: &str) -> String {
    btdb::db::url::with_param(db.url(), "password", password).expect("test URL")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_the_database_url_is_never_printed() {
    let db = TestDb::new().await;
    let password = "pw-Zq81-secret";
    let url = with_password(&db, password);
    let dir = common::scratch_dir("password");
    let file = dir.join("runs.jsonl");
    generate(
        &db,
        &file,
        &["--runs", "20", "--trades", "2", "--equity", "5"],
    );
    let unreachable = format!("postgres://btdb:{password}@127.0.0.1:1/btdb");
    // (URL, arguments, whether the command succeeds)
    let runs: [(&str, Vec<&str>, bool); 6] = [
        (
            &url,
            vec!["-vv", "--timings", "record", file.to_str().expect("path")],
            true,
        ),
        (&url, vec!["-vv", "--timings", "rank"], true),
        (&url, vec!["-vv", "--timings", "doctor"], true),
        (&url, vec!["-vv", "explain", "runs"], true),
        (&url, vec!["rank", "--metric", "no_such_metric"], false),
        (
            &unreachable,
            vec!["--connect-timeout", "2", "-vv", "rank"],
            false,
        ),
    ];
    for (url, args, succeeds) in runs {
        let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env_remove("RUST_LOG")
            .output()
            .expect("btdb");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains(password),
            "btdb {args:?} printed the password:\n{all}"
        );
        assert!(!all.contains("panicked"), "{all}");
        assert_eq!(out.status.success(), succeeds, "btdb {args:?}:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_timeout_ends_a_long_query_with_a_clear_message() {
    let db = TestDb::new().await;
    let out = btdb(
        &db,
        &[
            "gen", "--record", "--runs", "2000", "--trades", "1", "--equity", "4",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = btdb(
        &db,
        &["--statement-timeout", "0.001", "runs", "--limit", "2000"],
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: a query ran longer than --statement-timeout 0.001s"),
        "{err}"
    );
    // Without the limit the same listing works.
    let out = btdb(&db, &["runs", "--limit", "2000", "--format", "json"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_names_and_values_are_stored_faithfully_or_refused_never_executed() {
    let db = TestDb::new().await;
    let strategy = "Robert'); DROP TABLE runs;-- \"q\" 策略 🚀 \u{202e}";
    let key = "a'b\"; DELETE FROM metrics; --";
    let doc = serde_json::json!({
        "run_key": "hostile:1",
        "strategy": strategy,
        "params": {key: "x'); TRUNCATE runs; --", "ünï": 1},
        "dataset": "DS'; DROP TABLE trades; --",
        "tags": ["tag'\"", "$$; SELECT pg_sleep(10); $$"],
        "metrics": {"sharpe": 1.5},
    });
    let out = btdb(&db, &["record", "-"], Some(&doc.to_string()));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let shown = btdb(
        &db,
        &["show", "--key", "hostile:1", "--format", "json"],
        None,
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["strategy"]["name"], strategy);
    assert_eq!(shown["params"], doc["params"]);
    assert_eq!(shown["dataset"], doc["dataset"]);
    assert_eq!(shown["tags"], doc["tags"]);

    // Found through bound values, quotes and all.
    let condition = format!(
        "params.\"{}\" = 'x''); TRUNCATE runs; --' and sharpe > 1",
        key.replace('"', "\"\"")
    );
    let listed = btdb(
        &db,
        &["runs", "--where", &condition, "--format", "json"],
        None,
    );
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(listed["runs"][0]["run_key"], "hostile:1", "{listed}");
    let tagged = btdb(
        &db,
        &[
            "runs",
            "--tag",
            "$$; SELECT pg_sleep(10); $$",
            "--format",
            "json",
        ],
        None,
    );
    let tagged: serde_json::Value = serde_json::from_slice(&tagged.stdout).expect("json");
    assert_eq!(tagged["runs"].as_array().map(Vec::len), Some(1));

    // The terminal table shows control characters escaped, never raw.
    let table = text(&btdb(&db, &["runs", "--metrics", "sharpe"], None).stdout);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\u{202e}'),
        "{table}"
    );
    assert!(table.contains("\\u{202e}"), "{table}");

    // A --where carrying SQL is a syntax error or a literal, never a statement.
    for hostile in [
        "sharpe > 1; DROP TABLE runs",
        "sharpe > 1 or 1=1 --",
        "params.x = ''; DELETE FROM runs; --'",
    ] {
        let _ = btdb(&db, &["runs", "--where", hostile], None);
    }
    // Names the rules refuse are refused with the field named.
    let bad_metric = r#"{"strategy": "s", "dataset": "d", "metrics": {"x; DROP TABLE runs": 1}}"#;
    let out = btdb(&db, &["record", "-"], Some(bad_metric));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("metrics"),
        "{}",
        text(&out.stderr)
    );
    let control = r#"{"strategy": "s\u0007", "dataset": "d"}"#;
    let out = btdb(&db, &["record", "-"], Some(control));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("strategy"),
        "{}",
        text(&out.stderr)
    );

    for table in ["runs", "metrics", "trades", "strategies"] {
        count(&db, &format!("SELECT count(*) AS n FROM {table}")).await;
    }
    assert_eq!(count(&db, "SELECT count(*) AS n FROM runs").await, 1);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM metrics").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_jobs_than_connections_wait_for_a_connection_instead_of_failing() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("jobs");
    let file = dir.join("runs.jsonl");
    generate(
        &db,
        &file,
        &["--runs", "300", "--trades", "2", "--equity", "10"],
    );
    let out = btdb(
        &db,
        &[
            "--pool-size",
            "1",
            "record",
            "--jobs",
            "16",
            "--format",
            "json",
            file.to_str().expect("path"),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("recording 1 group at a time"),
        "{}",
        text(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["recorded"], 300);
}
