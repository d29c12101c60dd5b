//! Reads from a hot standby: a real streaming replica of a primary the test starts
//! (pg_basebackup -R). Reads go to the standby, records to the primary, `--read-your-writes`
//! waits for replay or fails with the lag, and a write sent to the standby is refused.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use btdb::db::cluster::Cluster;
use btdb::db::{Db, DbOptions, SchemaUse};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

struct Running(Vec<Cluster>);

impl Drop for Running {
    fn drop(&mut self) {
        for cluster in self.0.iter().rev() {
            let _ = cluster.stop();
        }
    }
}

fn btdb(primary: &str, standby: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_btdb"));
    cmd.args(args)
        .env("DATABASE_URL", primary)
        .env_remove("BTDB_READ_URL")
        .env_remove("RUST_LOG");
    if let Some(standby) = standby {
        cmd.env("BTDB_READ_URL", standby);
    }
    cmd.output().expect("running btdb")
}

fn ok(primary: &str, standby: Option<&str>, args: &[&str]) -> String {
    let out = btdb(primary, standby, args);
    assert!(
        out.status.success(),
        "btdb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn runs(primary: &str, standby: Option<&str>, extra: &[&str]) -> usize {
    let mut args = vec!["runs", "--format", "json", "--limit", "1000"];
    args.extend(extra);
    let page: serde_json::Value = serde_json::from_str(&ok(primary, standby, &args)).expect("json");
    page["runs"].as_array().expect("runs").len()
}

#[derive(diesel::QueryableByName)]
struct Recovery {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    standby: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_go_to_the_standby_and_see_the_primarys_writes_once_replayed() {
    let home = common::scratch_dir("replica");
    let primary = common::cluster_at(&home.join("primary")).with_setting("fsync", "off");
    primary.ensure_running().expect("primary");
    let standby = common::cluster_at(&home.join("standby"));
    standby.replicate_from(&primary).expect("pg_basebackup");
    standby.ensure_running().expect("standby");
    let running = Running(vec![primary.clone(), standby.clone()]);
    let (p, s) = (primary.url("btdb"), standby.url("btdb"));

    ok(&p, None, &["db", "migrate"]);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    ok(&p, Some(&s), &["record", "-q", fixture]);

    // Reads connect to the standby, once it has replayed the schema and the runs (a command
    // that starts right after the recorder's can otherwise find neither there yet).
    let db = Db::connect(&DbOptions {
        database_url: Some(p.clone()),
        read_url: Some(s.clone()),
        read_your_writes: Some(Duration::from_secs(10)),
        schema: SchemaUse::Read,
        ..DbOptions::default()
    })
    .await
    .expect("reading through the standby");
    let seen: Recovery = diesel::sql_query("SELECT pg_is_in_recovery() AS standby")
        .get_result(&mut *db.conn().await.expect("conn"))
        .await
        .expect("pg_is_in_recovery");
    assert!(seen.standby, "reads went to the primary");

    // Once replayed, the standby answers what the primary does, through every read command.
    assert_eq!(runs(&p, Some(&s), &["--read-your-writes"]), 25);
    for args in [
        &["rank", "--deflated"][..],
        &["compare", "--strategy", "alpha", "--x", "fast"],
        &["explain", "rank"],
        &["doctor"],
    ] {
        ok(&p, Some(&s), args);
    }
    let status = ok(&p, Some(&s), &["db", "status"]);
    assert!(
        status.contains("standby: database `btdb` on `") && status.contains("bytes behind"),
        "{status}"
    );

    // btdb serve reading the standby keeps its answers until a change is announced.
    let server = common::serve::Server::start(&p, &["--read-url", &s]);
    let listed = "/api/runs?limit=1000";
    let count = |page: &serde_json::Value| page["runs"].as_array().map_or(0, Vec::len);
    assert_eq!(count(&server.until_cached(listed)), 25);

    // Replay paused: a run recorded on the primary is not there yet, and waiting for it fails
    // with the lag instead of reading stale rows.
    let mut on_standby = btdb::db::establish(&s, Duration::from_secs(10))
        .await
        .expect("standby");
    on_standby
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .expect("pause");
    let doc =
        r#"{"run_key": "late", "strategy": "late", "dataset": "D", "metrics": {"sharpe": 1}}"#;
    let dir = common::scratch_dir("replica-doc");
    let late = dir.join("late.jsonl");
    std::fs::write(&late, doc).expect("document");
    ok(&p, None, &["record", "-q", late.to_str().expect("path")]);
    assert_eq!(runs(&p, None, &[]), 26);
    assert_eq!(runs(&p, Some(&s), &[]), 25, "replay is paused");
    // The server heard of the run: until the standby has replayed it, it reads the standby for
    // every request and keeps none of its answers.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let answer = server.get(listed, &[]);
        assert_ne!(
            answer.header("x-btdb-cache"),
            Some("hit"),
            "kept while the standby lags"
        );
        let page: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
        assert_eq!(count(&page), 25, "the standby's own answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = btdb(&p, Some(&s), &["runs", "--read-your-writes=0.5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the standby has not replayed the primary's writes within 0.5s:")
            && err.contains("bytes behind"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    on_standby
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .expect("resume");
    assert_eq!(runs(&p, Some(&s), &["--read-your-writes"]), 26);
    // Replayed: answers are kept again, and they hold the run.
    assert_eq!(count(&server.until_cached(listed)), 26);
    drop(server);

    // A write sent to the standby is refused in one line, and changes nothing.
    for args in [&["record", fixture][..], &["db", "migrate"]] {
        let out = btdb(&s, None, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("read-only standby"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    drop(running);
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_dir_all(&dir);
}
