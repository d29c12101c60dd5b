//! Running the `btdb` binary against a test database, as a user would.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::TestDb;

/// `btdb ARGS` with DATABASE_URL set to `db`, `stdin` written to its standard input.
pub fn btdb(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    btdb_at(db.url(), args, stdin)
}

/// `btdb ARGS` with DATABASE_URL set to `url` (another role's, say).
pub fn btdb_at(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running btdb");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("writing stdin");
    drop(input);
    child.wait_with_output().expect("btdb output")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stdout of a run that must succeed.
pub fn ok(db: &TestDb, args: &[&str]) -> String {
    ok_at(db.url(), args)
}

/// Stdout of a run against `url` that must succeed.
pub fn ok_at(url: &str, args: &[&str]) -> String {
    let out = btdb_at(url, args, None);
    assert!(
        out.status.success(),
        "btdb {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The one-line error of a run that must fail with exit code 1.
pub fn fails(db: &TestDb, args: &[&str]) -> String {
    let out = btdb(db, args, None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "btdb {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The run ids of a `runs --format json` page, in order.
pub fn page_ids(page: &str) -> Vec<i64> {
    let page: serde_json::Value = serde_json::from_str(page).expect("a JSON page");
    page["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}
