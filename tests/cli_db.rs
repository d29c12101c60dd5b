//! `btdb db` end to end: the embedded cluster on an empty BTDB_HOME, concurrent starts, and the
//! one-line errors a user can cause.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use btdb::db::establish;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use nix::unistd::{Uid, User};

fn btdb(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("BTDB_HOME", home)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("running btdb")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An embedded cluster home of a test's own, stopped at the end (and then removed).
struct Home(common::Scratch);

impl Home {
    fn new(name: &str) -> Self {
        Self(common::scratch_dir(name))
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = btdb(&self.0, &["db", "stop"]);
    }
}

/// The user-caused failure contract: exit code 1, one line on stderr starting `error: `.
fn assert_one_line_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn db_migrate_on_an_empty_home_builds_the_whole_schema() {
    let home = Home::new("migrate");
    let out = btdb(&home.0, &["db", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let applied = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("applied "))
        .count();
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("the migrations folder")
        .count();
    assert_eq!(applied, migrations, "{}", stdout(&out));

    let again = btdb(&home.0, &["db", "migrate"]);
    assert!(
        stdout(&again).starts_with("schema up to date"),
        "{}",
        stdout(&again)
    );

    let url = stdout(&btdb(&home.0, &["db", "url"])).trim().to_owned();
    let mut conn = establish(&url, Duration::from_secs(10))
        .await
        .expect("connecting via db url");

    let partitioned: Vec<Named> = diesel::sql_query(
        "SELECT c.relname::text AS name, count(i.inhrelid) AS n \
         FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid \
         LEFT JOIN pg_inherits i ON i.inhparent = c.oid \
         WHERE p.partstrat = 'h' GROUP BY 1 ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let partitioned: Vec<(String, i64)> = partitioned.into_iter().map(|r| (r.name, r.n)).collect();
    assert_eq!(
        partitioned,
        [("equity_points".to_owned(), 16), ("trades".to_owned(), 16)]
    );

    // One row per index kind the schema must carry: INCLUDE columns, a predicate, an expression.
    let kinds: Vec<Named> = diesel::sql_query(
        "SELECT k.kind AS name, count(*) AS n FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = 'public', \
         LATERAL (VALUES ('covering', i.indnkeyatts < i.indnatts), \
                         ('partial', i.indpred IS NOT NULL), \
                         ('expression', i.indexprs IS NOT NULL)) k(kind, holds) \
         WHERE k.holds GROUP BY 1 ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(kinds, ["covering", "expression", "partial"]);
}

#[test]
fn concurrent_starts_share_one_cluster() {
    let home = Home::new("concurrent");
    // Three processes race to create and start the cluster on an empty home.
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let home = home.0.to_path_buf();
            std::thread::spawn(move || btdb(&home, &["db", "start"]))
        })
        .collect();
    let outputs: Vec<Output> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for out in &outputs {
        assert!(
            out.status.success(),
            "a concurrent start failed: {}",
            stderr(out)
        );
    }
    let urls: Vec<String> = outputs.iter().map(stdout).collect();
    assert!(urls.iter().all(|u| u == &urls[0]), "{urls:?}");

    let log = std::fs::read_to_string(home.0.join("pg/server.log")).unwrap();
    assert_eq!(
        log.matches("database system is ready to accept connections")
            .count(),
        1,
        "the server started more than once:\n{log}"
    );
    assert!(
        !home.0.join("pg/data.init").exists(),
        "initdb scratch directory left behind"
    );
    let status = btdb(&home.0, &["db", "status"]);
    assert!(
        stdout(&status).contains("embedded cluster: running"),
        "{}",
        stdout(&status)
    );

    let stop = btdb(&home.0, &["db", "stop"]);
    assert!(stdout(&stop).starts_with("stopped"), "{}", stdout(&stop));
    let status = btdb(&home.0, &["db", "status"]);
    assert!(
        stdout(&status).contains("embedded cluster: stopped"),
        "{}",
        stdout(&status)
    );
}

#[test]
fn an_unreachable_database_url_is_named_without_its_password() {
    let home = Home::new("unreachable");
    // Nothing listens on port 1 of the loopback address: the connection is refused at once.
    let out = btdb(
        &home.0,
        &[
            "--database-url",
            "postgres://alice:hunter2@127.0.0.1:1/results",
            "db",
            "migrate",
        ],
    );
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("`results`") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    let url = btdb(
        &home.0,
        &[
            "--database-url",
            "postgres://alice:hunter2@h/db",
            "db",
            "url",
        ],
    );
    assert_eq!(stdout(&url).trim(), "postgres://alice:***@h/db");
}

#[test]
fn an_unwritable_btdb_home_is_one_line() {
    let parent = common::scratch_dir("unwritable");
    let home = parent.join("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_btdb"));
    cmd.args(["db", "start"])
        .env("BTDB_HOME", &home)
        .env_remove("DATABASE_URL");
    if Uid::effective().is_root() {
        // Root writes anywhere; an ordinary account meets the directory's permissions.
        let user = User::from_name("postgres")
            .unwrap()
            .expect("a postgres account");
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    } else {
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let out = cmd.output().unwrap();
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("is not writable") && err.contains(&*home.to_string_lossy()),
        "{err}"
    );
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_dir_all(&parent);
}

#[test]
fn missing_server_binaries_name_what_to_install() {
    let home = Home::new("nobin");
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["db", "start"])
        .env("BTDB_HOME", &home.0)
        .env("BTDB_PG_BIN", "/nonexistent/bin")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("/nonexistent/bin") && err.contains("apt-get install postgresql"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_restart_mid_batch_ends_it_with_an_error_and_a_rerun_completes_it_once() {
    let home = Home::new("restart");
    let file = home.0.join("batch.jsonl");
    let out = btdb(
        &home.0,
        &[
            "gen",
            "--runs",
            "3000",
            "--trades",
            "20",
            "--equity",
            "200",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(btdb(&home.0, &["db", "migrate"]).status.success());
    let url = stdout(&btdb(&home.0, &["db", "url"])).trim().to_owned();
    let runs = |url: String| async move {
        let mut conn = establish(&url, Duration::from_secs(10))
            .await
            .expect("connect");
        let row: Named = diesel::sql_query("SELECT 'runs' AS name, count(*) AS n FROM runs")
            .get_result(&mut conn)
            .await
            .expect("count");
        row.n
    };

    let recorder = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["record", "-q", "--jobs", "2", file.to_str().unwrap()])
        .env("BTDB_HOME", &home.0)
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("recorder");
    let started = std::time::Instant::now();
    while runs(url.clone()).await < 100 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "recording never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // pg_ctl stop -m fast: sessions are ended and their open transactions rolled back.
    assert!(btdb(&home.0, &["db", "stop"]).status.success());
    let out = recorder.wait_with_output().expect("recorder ends");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // One line for the batch, whatever was under way, with what was and was not recorded.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: the database connection was lost while recording ")
            && err.contains(" not recorded ")
            && err
                .trim_end()
                .ends_with("the same command records them once the database is back"),
        "{err}"
    );

    assert!(btdb(&home.0, &["db", "start"]).status.success());
    let complete = {
        let mut conn = establish(&url, Duration::from_secs(10))
            .await
            .expect("connect");
        let rows: Vec<Named> = diesel::sql_query(
            "SELECT 'partial' AS name, count(*) AS n FROM runs r
             WHERE (SELECT count(*) FROM trades t WHERE t.run_id = r.id) <> 20
                OR (SELECT count(*) FROM equity_points e WHERE e.run_id = r.id) <> 200
             UNION ALL SELECT 'runs', count(*) FROM runs",
        )
        .load(&mut conn)
        .await
        .expect("count");
        let get = |name: &str| rows.iter().find(|r| r.name == name).expect("row").n;
        assert_eq!(
            get("partial"),
            0,
            "a partial run is visible after the restart"
        );
        get("runs")
    };
    assert!(complete > 0 && complete < 3000, "{complete}");

    let out = btdb(
        &home.0,
        &["record", "--format", "json", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["already_present"], complete);
    assert_eq!(summary["recorded"], 3000 - complete);
    assert_eq!(runs(url).await, 3000);
}

#[test]
fn the_embedded_cluster_keeps_the_postgresql_that_made_it() {
    let home = Home::new("pgversion");
    let out = btdb(&home.0, &["db", "start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = btdb(&home.0, &["db", "stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let installed = btdb::db::pg_bin::installed();
    let [(newest, newest_bin), ..] = installed.as_slice() else {
        panic!("no PostgreSQL installed");
    };

    // Made by a version whose binaries are gone: named, with the package and the way on.
    let pg_version = home.0.join("pg/data/PG_VERSION");
    let made_by = std::fs::read_to_string(&pg_version).expect("PG_VERSION");
    std::fs::write(&pg_version, "9\n").expect("PG_VERSION");
    let err = assert_one_line_error(&btdb(&home.0, &["runs"]));
    assert!(
        err.contains("is PostgreSQL 9, whose server binaries are not installed")
            && err.contains("`apt-get install postgresql-9`")
            && err.contains(&format!("`btdb db upgrade` moves the cluster to {newest}")),
        "{err}"
    );
    let err = assert_one_line_error(&btdb(&home.0, &["db", "upgrade"]));
    assert!(
        err.contains("upgrading from PostgreSQL 9 needs its binaries"),
        "{err}"
    );
    // BTDB_PG_BIN of another version is refused, naming both.
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["db", "start"])
        .env("BTDB_HOME", &home.0)
        .env("BTDB_PG_BIN", newest_bin)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running btdb");
    let err = assert_one_line_error(&out);
    assert!(
        err.contains(&format!(
            "holds PostgreSQL {newest}, but the embedded cluster"
        )) && err.contains("is PostgreSQL 9"),
        "{err}"
    );
    std::fs::write(&pg_version, &made_by).expect("PG_VERSION");
    let out = btdb(&home.0, &["runs"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A URL's server is not btdb's to upgrade; nor is a cluster already at the newest.
    let out = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["db", "upgrade"])
        .env("BTDB_HOME", &home.0)
        .env("DATABASE_URL", "postgres://u:s3cret@h/db")
        .output()
        .expect("running btdb");
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("moves the embedded cluster only") && !err.contains("s3cret"),
        "{err}"
    );
    if made_by.trim() == newest.to_string() {
        let err = assert_one_line_error(&btdb(&home.0, &["db", "upgrade"]));
        assert!(err.contains("nothing to upgrade"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn db_upgrade_moves_the_cluster_to_the_newest_postgresql_and_keeps_the_old() {
    let installed = btdb::db::pg_bin::installed();
    let [(new, _), (old, old_bin), ..] = installed.as_slice() else {
        eprintln!(
            "skipped: one PostgreSQL version installed ({:?}); an upgrade needs two",
            installed.iter().map(|(v, _)| v).collect::<Vec<_>>()
        );
        return;
    };
    let home = Home::new("upgrade");
    let with_old = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(args)
            .env("BTDB_HOME", &home.0)
            .env("BTDB_PG_BIN", old_bin)
            .env_remove("DATABASE_URL")
            .output()
            .expect("running btdb")
    };
    let out = with_old(&["gen", "--record", "-q", "--runs", "50", "--equity", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = stdout(&with_old(&["runs", "--format", "json", "--limit", "100"]));
    let out = btdb(&home.0, &["db", "upgrade"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("upgraded from PostgreSQL {old} to {new}")),
        "{}",
        stdout(&out)
    );
    let version = std::fs::read_to_string(home.0.join("pg/data/PG_VERSION")).expect("PG_VERSION");
    assert_eq!(version.trim(), new.to_string());
    assert!(home.0.join(format!("pg/data.pg{old}/PG_VERSION")).is_file());
    let after = stdout(&btdb(
        &home.0,
        &["runs", "--format", "json", "--limit", "100"],
    ));
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread")]
async fn db_stop_says_when_the_server_had_ended_without_shutting_down() {
    let home = Home::new("killed");
    assert!(btdb(&home.0, &["db", "start"]).status.success());
    let pid_file = home.0.join("pg/data/postmaster.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("postmaster.pid")
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("the postmaster's pid");
    let signal = |sig: &str| {
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .expect("kill")
            .success()
    };
    assert!(signal("-KILL"), "killing the postmaster");
    // Until the process is gone, it is still running as far as anyone can tell.
    let started = std::time::Instant::now();
    while signal("-0") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the postmaster lingers"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = btdb(&home.0, &["db", "stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("not running: "),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the server had ended without shutting down (killed, or crashed: see ")
            && err.contains("its next start recovers the data from the write-ahead log"),
        "{err}"
    );
    // It does: the cluster starts again.
    assert!(btdb(&home.0, &["db", "start"]).status.success());
    let out = btdb(&home.0, &["db", "stop"]);
    assert_eq!(
        stdout(&out)
            .lines()
            .next()
            .map(|l| l.starts_with("stopped: ")),
        Some(true)
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}
