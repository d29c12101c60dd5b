//! btdb on a team's server: migrations only when asked for, and the reader and writer roles
//! that `btdb db grant` makes, each able to do its work and nothing more.

mod common;

use common::TestDb;
use common::cli::{btdb, btdb_at, fails, ok, text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

const TABLES: &str = "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'";
const RUNS: &str = "SELECT count(*) AS n FROM runs";

/// The newest migration the database records.
async fn max_version(conn: &mut diesel_async::AsyncPgConnection) -> String {
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    diesel::sql_query("SELECT max(version)::text AS v FROM __diesel_schema_migrations")
        .get_result::<V>(conn)
        .await
        .expect("version")
        .v
}

#[tokio::test(flavor = "multi_thread")]
async fn only_db_migrate_changes_the_schema_and_other_commands_check_it() {
    let db = TestDb::empty().await;
    let mut conn = db.conn().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");

    // No schema: reads and records refuse, and create nothing, not even the migrations table.
    for args in [&["rank"][..], &["runs"], &["record", fixture]] {
        let err = fails(&db, args);
        assert!(
            err.contains("the database has no btdb schema yet: run `btdb db migrate`"),
            "{err}"
        );
    }
    let status = ok(&db, &["db", "status"]);
    assert!(
        status.contains("schema: no btdb schema (btdb db migrate)"),
        "{status}"
    );
    assert_eq!(common::count(&mut conn, TABLES).await, 0);

    let migrated = ok(&db, &["db", "migrate"]);
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
        &btdb::db::migrate::MIGRATIONS,
    )
    .expect("embedded migrations")
    .len();
    assert_eq!(migrated.lines().count(), embedded, "{migrated}");
    assert!(ok(&db, &["db", "status"]).contains("schema: up to date"));
    ok(&db, &["record", "-q", fixture]);

    // Behind: a migration of this btdb is missing.
    let last = max_version(&mut conn).await;
    conn.batch_execute(&format!(
        "DELETE FROM __diesel_schema_migrations WHERE version = '{last}'"
    ))
    .await
    .expect("forgetting a migration");
    let at = max_version(&mut conn).await;
    for args in [&["rank"][..], &["record", fixture]] {
        let err = fails(&db, args);
        assert!(
            err.contains(&format!(
                "the database is at migration {at}; this btdb needs {last}: run `btdb db migrate` as the schema's owner"
            )),
            "{err}"
        );
    }
    assert!(ok(&db, &["db", "status"]).contains("1 behind this btdb"));
    conn.batch_execute(&format!(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('{last}')"
    ))
    .await
    .expect("restoring it");

    // Ahead: a newer btdb migrated it. Reads go on with a warning; recording refuses.
    conn.batch_execute(
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')",
    )
    .await
    .expect("a future migration");
    let read = btdb(&db, &["rank"], None);
    assert!(read.status.success(), "{}", text(&read.stderr));
    assert!(
        text(&read.stderr).contains("newer than this btdb knows"),
        "{}",
        text(&read.stderr)
    );
    let runs = common::count(&mut conn, RUNS).await;
    let err = fails(&db, &["record", fixture]);
    assert!(
        err.contains(&format!(
            "the database is at migration 29991231000000, newer than this btdb knows ({last}): upgrade btdb before recording"
        )),
        "{err}"
    );
    assert_eq!(common::count(&mut conn, RUNS).await, runs);
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_read_writers_record_and_neither_changes_the_schema() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    let suffix = std::process::id();
    let (reader, writer) = (format!("reader_{suffix}"), format!("writer_{suffix}"));
    let reader_url = common::login_role(&db, &mut conn, &reader).await;
    let writer_url = common::login_role(&db, &mut conn, &writer).await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");

    // Before any grant, a reader cannot even check the schema: one line, no panic.
    let out = btdb_at(&reader_url, &["rank"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("permission denied"),
        "{}",
        text(&out.stderr)
    );

    assert!(ok(&db, &["db", "grant", "reader", &reader]).contains("granted reader"));
    ok(&db, &["db", "grant", "writer", &writer]);
    // Granting twice changes nothing; a role that does not exist is named.
    ok(&db, &["db", "grant", "writer", &writer]);
    let err = fails(&db, &["db", "grant", "reader", "nobody_here"]);
    assert!(err.contains("there is no role `nobody_here`"), "{err}");

    // The writer records and reads.
    let out = btdb_at(&writer_url, &["record", "-q", fixture], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(common::count(&mut conn, RUNS).await, 25);
    let out = btdb_at(&writer_url, &["rank"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An Optuna study too: its directions and intermediate values are the writer's to record.
    let journal = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/optuna/journal.log"
    );
    let out = btdb_at(&writer_url, &["import", "optuna", "-q", journal], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(common::count(&mut conn, RUNS).await, 25 + 64);
    // ... and folded what it recorded into the ranking summaries, with the one function it
    // may run for that.
    let pending = "SELECT count(*) AS n FROM metric_summary_changes";
    assert_eq!(common::count(&mut conn, pending).await, 0);
    let kept = "SELECT count(*) AS n FROM metric_summaries";
    assert!(common::count(&mut conn, kept).await > 0);

    // ... moved what it recorded into a sweep by recording it again, and wrote notes.
    let out = btdb_at(
        &writer_url,
        &["import", "optuna", "-q", "--sweep", "later", journal],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let moved = "SELECT count(*) AS n FROM runs r JOIN sweeps s ON s.id = r.sweep_id \
                 WHERE s.name = 'later'";
    assert_eq!(common::count(&mut conn, moved).await, 64);
    for args in [
        &["note", "1", "--text", "a writer's note"][..],
        &["note", "--sweep", "later", "--text", "moved"],
    ] {
        let out = btdb_at(&writer_url, args, None);
        assert!(
            out.status.success(),
            "writer: btdb {args:?}: {}",
            text(&out.stderr)
        );
    }
    // A reader may not write one: one line saying the role lacks a privilege.
    let out = btdb_at(&reader_url, &["note", "1", "--text", "mine"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("permission denied for table runs"), "{err}");
    assert!(err.contains("lacks a privilege"), "{err}");

    // The reader runs every read command.
    let id = {
        let out = btdb_at(
            &reader_url,
            &["runs", "--format", "json", "--limit", "1"],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        page["runs"][0]["id"].to_string()
    };
    let reads: &[&[&str]] = &[
        &["rank", "--deflated"],
        &["rank", "--by", "median"],
        &["compare", "--strategy", "alpha", "--x", "fast"],
        &["runs", "--where", "sharpe > 0"],
        &["show", &id, "--trades"],
        &["explain", "rank"],
        &["doctor"],
        &["db", "status"],
    ];
    for args in reads {
        let out = btdb_at(&reader_url, args, None);
        assert!(
            out.status.success(),
            "reader: btdb {args:?}: {}",
            text(&out.stderr)
        );
    }

    // What the reader may not see, doctor says instead of failing.
    let doctor = text(&btdb_at(&reader_url, &["doctor"], None).stdout);
    assert!(
        doctor.contains("slowest statements unavailable: this role may not read"),
        "{doctor}"
    );

    // Recording as the reader: one line naming the role and the privilege, nothing written.
    let out = btdb_at(&reader_url, &["record", fixture], None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "the role `{reader}` may not record: it lacks INSERT on table strategies; the schema's owner can grant what it needs with `btdb db grant writer {reader}`"
        )),
        "{err}"
    );
    assert_eq!(common::count(&mut conn, RUNS).await, 25 + 64);

    // Neither role may delete, truncate, drop, alter or migrate.
    for url in [&reader_url, &writer_url] {
        let mut as_role = btdb::db::establish(url, std::time::Duration::from_secs(10))
            .await
            .expect("connecting as the role");
        for sql in [
            "DELETE FROM runs",
            "TRUNCATE trades",
            "UPDATE runs SET dataset = 'x'",
            "DROP TABLE metrics",
            "ALTER TABLE runs ADD COLUMN x int",
            "CREATE TABLE public.mine (x int)",
            "DELETE FROM __diesel_schema_migrations",
            // The summaries change only through btdb's own functions.
            "INSERT INTO metric_summaries VALUES ('sharpe', 'x', 1, 1, 0, 0, 0, 0)",
            "UPDATE pooled_metric_summaries SET mean = 0",
            "DELETE FROM metric_summary_changes",
        ] {
            let result = as_role.batch_execute(sql).await;
            assert!(result.is_err(), "{url}: {sql} was allowed");
        }
        let out = btdb_at(url, &["db", "migrate"], None);
        assert_eq!(out.status.code(), Some(1));
        let fold = as_role.batch_execute("SELECT btdb_summarize()").await;
        assert_eq!(fold.is_ok(), url == &writer_url, "{url}: btdb_summarize()");
    }
    assert_eq!(common::count(&mut conn, RUNS).await, 25 + 64);

    // A table a later migration adds (created by the owner) is readable by both at once.
    conn.batch_execute("CREATE TABLE later_table (x int); INSERT INTO later_table VALUES (1)")
        .await
        .expect("a later table");
    for url in [&reader_url, &writer_url] {
        let mut as_role = btdb::db::establish(url, std::time::Duration::from_secs(10))
            .await
            .expect("connecting as the role");
        let n = common::count(&mut as_role, "SELECT count(*) AS n FROM later_table").await;
        assert_eq!(n, 1);
    }

    // Roles belong to the cluster: once the database is gone, so are their privileges.
    drop(conn);
    common::drop_roles(db, &[&reader, &writer]).await;
}
