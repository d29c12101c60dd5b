//! btdb behind Debian's PgBouncer in transaction mode on loopback: every command works, or
//! says in one line that it needs a session and which setting or port gives one; nothing is
//! half written either way.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use btdb::db::config::{ConnConfig, Environment};
use common::{Scratch, TestDb, tools};
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use nix::unistd::{Uid, User};

/// PgBouncer, stopped however the test ends.
struct Bouncer(Child);

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn btdb(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["--connect-timeout", "3"])
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .output()
        .expect("running btdb")
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Starts PgBouncer in transaction mode in front of `db`, with `pool` server connections,
/// and gives it with the URL that reaches `db` through it.
fn bounce(program: &Path, db: &TestDb, pool: u32) -> (Bouncer, String, Scratch) {
    let server = ConnConfig::parse(db.url(), &Environment::none()).expect("test URL");
    let dir = common::scratch_dir("pgbouncer");
    let port = common::free_port();
    std::fs::write(
        dir.join("pgbouncer.ini"),
        format!(
            "[databases]\n* = host={} port={}\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {}\n\
             pool_mode = transaction\ndefault_pool_size = {pool}\nmax_client_conn = 100\n\
             logfile = {}\n",
            server.hosts[0],
            server.ports[0],
            dir.join("users.txt").display(),
            dir.join("pgbouncer.log").display(),
        ),
    )
    .expect("pgbouncer.ini");
    std::fs::write(dir.join("users.txt"), format!("\"{}\" \"\"\n", server.user)).expect("users");
    // PgBouncer, like PostgreSQL, will not run as root: it runs as the server's account,
    // spawned directly so that stopping the child stops PgBouncer itself.
    let mut command = Command::new(program);
    command
        .arg(dir.join("pgbouncer.ini"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if Uid::effective().is_root() {
        let name = std::env::var("BTDB_PG_USER").unwrap_or_else(|_| "postgres".into());
        let account = User::from_name(&name)
            .expect("looking up the server's account")
            .expect("an account to run pgbouncer as");
        for file in [
            dir.to_path_buf(),
            dir.join("pgbouncer.ini"),
            dir.join("users.txt"),
        ] {
            nix::unistd::chown(&file, Some(account.uid), Some(account.gid)).expect("chown");
        }
        command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
    }
    let bouncer = Bouncer(
        command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display())),
    );
    let url = format!(
        "postgres://{}@127.0.0.1:{port}/{}?sslmode=disable",
        server.user, server.dbname
    );
    let mut up = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "pgbouncer did not listen on {port}");
    (bouncer, url, dir)
}

/// Fails unless `out` succeeded or said, in one line, that btdb needs a session and where to
/// find one; gives whether it succeeded.
fn works_or_asks_for_a_session(args: &[&str], out: &Output) -> bool {
    if out.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains("connection pooler in transaction mode")
            && err.contains("pool_mode = session"),
        "{args:?}: {err}"
    );
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_or_says_it_needs_a_session_behind_a_transaction_pooler() {
    let Some(program) = tools::PGBOUNCER.or_skip("the pooler tests") else {
        return;
    };
    let db = TestDb::new().await;
    // One server connection, so that every client lands on the session the last one left.
    let (bouncer, url, _dir) = bounce(&program, &db, 1);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    let commands: &[&[&str]] = &[
        &["record", "-q", fixture],
        &["rank"],
        &["rank", "--by", "median", "--deflated"],
        &["compare", "--strategy", "alpha", "--x", "fast"],
        &["runs", "--where", "sharpe > 0"],
        &["show", "1"],
        &["explain", "rank"],
        &["doctor"],
        &["db", "status"],
        &["db", "migrate"],
        &["record", "-q", fixture],
    ];
    for round in 0..2 {
        for (i, args) in commands.iter().enumerate() {
            let works = works_or_asks_for_a_session(args, &btdb(&url, args));
            eprintln!(
                "{args:?}: {}",
                if works { "works" } else { "asks for a session" }
            );
            // The first client finds a server session nobody used: it must get through.
            assert!(
                works || round + i > 0,
                "the first record failed through the pooler"
            );
        }
    }
    drop(bouncer);

    // Nothing half written: every run stored has its metrics.
    let mut conn = db.conn().await;
    let orphans: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM runs r WHERE NOT EXISTS \
         (SELECT 1 FROM metrics m WHERE m.run_id = r.id)",
    )
    .get_result(&mut conn)
    .await
    .expect("count");
    assert_eq!(orphans.n, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrating_through_a_transaction_pooler_applies_everything_or_nothing() {
    let Some(program) = tools::PGBOUNCER.or_skip("the pooler tests") else {
        return;
    };
    let db = TestDb::empty().await;
    let (bouncer, url, _dir) = bounce(&program, &db, 2);
    // Two at once, as two teammates' first commands would: the lock is the transaction's, so
    // the pooler cannot split it from the work it guards.
    let migrate = || {
        let url = url.clone();
        std::thread::spawn(move || btdb(&url, &["db", "migrate"]))
    };
    let outs = [migrate(), migrate()].map(|t| t.join().expect("btdb thread"));
    let migrated = outs
        .iter()
        .filter(|out| works_or_asks_for_a_session(&["db", "migrate"], out))
        .count();
    drop(bouncer);

    // Straight to the server: the schema is this btdb's whole, or (if both were refused)
    // absent, never a part.
    let status = btdb(db.url(), &["db", "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    let mut conn = db.conn().await;
    let tables: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' \
         AND tablename <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .await
    .expect("count");
    if migrated > 0 {
        assert!(text.contains("schema: up to date"), "{text}");
    } else {
        assert!(text.contains("no btdb schema"), "{text}");
        assert_eq!(tables.n, 0, "a refused migration left tables behind");
    }
}
