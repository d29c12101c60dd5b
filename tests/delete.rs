//! `btdb delete`: a run goes whole, with everything it owns, and nothing else; all of it or
//! nothing; only curators and the schema's owner delete; a run key deleted may be recorded again.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::TestDb;
use common::cli::{btdb_at, fails, ok, text};
use common::record::counts;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

const GEN: &[&str] = &[
    "gen", "--record", "-q", "--runs", "200", "--trades", "4", "--equity", "12",
];

/// What belongs to the runs `runs_of` selects, counted straight from the tables.
async fn owned(conn: &mut AsyncPgConnection, runs_of: &str) -> [i64; 4] {
    let mut out = [0; 4];
    for (i, table) in ["runs", "metrics", "trades", "equity_points"]
        .iter()
        .enumerate()
    {
        let column = if *table == "runs" { "id" } else { "run_id" };
        out[i] = common::count(
            conn,
            &format!("SELECT count(*) AS n FROM {table} WHERE {column} IN ({runs_of})"),
        )
        .await;
    }
    out
}

fn removed(json: &str) -> [i64; 4] {
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    ["runs", "metrics", "trades", "equity_points"].map(|k| v[k].as_i64().expect(k))
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_takes_the_selected_runs_whole_and_nothing_else() {
    let db = TestDb::new().await;
    ok(&db, GEN);
    let lib = db.db().await;
    let mut conn = db.conn().await;
    let all = counts(&lib).await;
    assert_eq!(all.runs, 200);
    let of_3 = "SELECT r.id FROM runs r JOIN strategies s ON s.id = r.strategy_id \
                WHERE s.name = 'strategy_3'";
    let expected = owned(&mut conn, of_3).await;
    assert!(
        expected[0] > 0 && expected[2] > 0 && expected[3] > 0,
        "{expected:?}"
    );

    // Nothing named, nothing matching, a mistyped id: refused, nothing changed.
    let err = fails(&db, &["delete"]);
    assert!(err.contains("name the runs to delete"), "{err}");
    let err = fails(&db, &["delete", "--dataset", "no-such-data", "--yes"]);
    assert!(err.contains("no run matches; nothing deleted"), "{err}");
    let err = fails(&db, &["delete", "1", "999999", "--yes"]);
    assert!(err.contains("no run with id 999999"), "{err}");
    let err = fails(&db, &["delete", "--key", "nope", "--yes"]);
    assert!(err.contains("no run with run_key `nope`"), "{err}");
    let err = fails(&db, &["delete", "--where", "sharpe >", "--yes"]);
    assert!(err.contains("--where"), "{err}");
    // Not on a terminal and no --yes: it asks for one.
    let err = fails(&db, &["delete", "--strategy", "strategy_3"]);
    assert!(err.contains("needs confirmation: pass --yes"), "{err}");
    assert_eq!(counts(&lib).await, all);

    // The dry run counts exactly what would go, and changes nothing.
    let dry = ok(
        &db,
        &[
            "delete",
            "--strategy",
            "strategy_3",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(removed(&dry), expected, "{dry}");
    assert_eq!(counts(&lib).await, all);

    let done = ok(
        &db,
        &[
            "delete",
            "--strategy",
            "strategy_3",
            "--yes",
            "--format",
            "json",
        ],
    );
    assert_eq!(removed(&done), expected, "{done}");
    assert_eq!(owned(&mut conn, of_3).await, [0; 4]);
    let after = counts(&lib).await;
    assert_eq!(
        [after.runs, after.metrics, after.trades, after.equity_points],
        [
            all.runs - expected[0],
            all.metrics - expected[1],
            all.trades - expected[2],
            all.equity_points - expected[3],
        ]
    );
    // Without --prune the parents stay.
    assert_eq!(
        (after.strategies, after.parameter_sets),
        (all.strategies, all.parameter_sets)
    );

    // By id and by key, narrowed by a filter: only runs that pass it go.
    let page: serde_json::Value = serde_json::from_str(&ok(
        &db,
        &[
            "runs",
            "--strategy",
            "strategy_4",
            "--format",
            "json",
            "--limit",
            "2",
        ],
    ))
    .expect("json");
    let (id, key) = (
        page["runs"][0]["id"].to_string(),
        page["runs"][1]["run_key"].as_str().expect("key").to_owned(),
    );
    let err = fails(
        &db,
        &[
            "delete",
            &id,
            "--key",
            &key,
            "--dataset",
            "no-such-data",
            "--yes",
        ],
    );
    assert!(err.contains("no run matches"), "{err}");
    let both = ok(
        &db,
        &["delete", &id, "--key", &key, "--yes", "--format", "json"],
    );
    assert_eq!(removed(&both)[0], 2, "{both}");

    // --prune takes the parameter sets and the strategy left without runs, and only those.
    let of_5 = "SELECT r.id FROM runs r JOIN strategies s ON s.id = r.strategy_id \
                WHERE s.name = 'strategy_5'";
    let sets_of_5 = common::count(
        &mut conn,
        "SELECT count(*) AS n FROM parameter_sets p JOIN strategies s ON s.id = p.strategy_id \
         WHERE s.name = 'strategy_5'",
    )
    .await;
    let before = counts(&lib).await;
    let pruned = ok(
        &db,
        &[
            "delete",
            "--strategy",
            "strategy_5",
            "--prune",
            "--yes",
            "--format",
            "json",
        ],
    );
    let pruned: serde_json::Value = serde_json::from_str(&pruned).expect("json");
    assert_eq!(pruned["strategies"], 1);
    assert_eq!(pruned["parameter_sets"], sets_of_5);
    assert_eq!(owned(&mut conn, of_5).await, [0; 4]);
    let now = counts(&lib).await;
    assert_eq!(now.strategies, before.strategies - 1);
    assert_eq!(now.parameter_sets, before.parameter_sets - sets_of_5);

    // The deleted run keys may be recorded again: the same generator brings back exactly them.
    let again = ok(
        &db,
        &[
            "gen", "--record", "--runs", "200", "--trades", "4", "--equity", "12",
        ],
    );
    let deleted = (all.runs - now.runs).to_string();
    assert!(
        again.contains(&format!("recorded {deleted}, already present {}", now.runs)),
        "{again}"
    );
    assert_eq!(counts(&lib).await, all);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_stopped_half_way_leaves_every_row() {
    let db = TestDb::new().await;
    ok(&db, GEN);
    let lib = db.db().await;
    let all = counts(&lib).await;
    // Another session holds one of the runs: the last statement (the runs themselves) waits
    // for it, after metrics, trades and equity points are gone, and the timeout ends it.
    let mut holder = db.conn().await;
    holder
        .batch_execute(
            "BEGIN; SELECT 1 FROM runs r JOIN strategies s ON s.id = r.strategy_id \
             WHERE s.name = 'strategy_2' LIMIT 1 FOR UPDATE OF r",
        )
        .await
        .expect("locking a run");
    // (--slow-ms: the wait is the point here, not a slow query to warn of.)
    let err = fails(
        &db,
        &[
            "--statement-timeout",
            "1",
            "--slow-ms",
            "60000",
            "delete",
            "--strategy",
            "strategy_2",
            "--yes",
        ],
    );
    assert!(err.contains("--statement-timeout"), "{err}");
    holder.batch_execute("ROLLBACK").await.expect("release");
    assert_eq!(counts(&lib).await, all);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_curator_or_the_owner_deletes() {
    let db = TestDb::new().await;
    ok(&db, GEN);
    let lib = db.db().await;
    let mut conn = db.conn().await;
    let suffix = std::process::id();
    let (writer, curator) = (format!("dwriter_{suffix}"), format!("curator_{suffix}"));
    let writer_url = common::login_role(&db, &mut conn, &writer).await;
    let curator_url = common::login_role(&db, &mut conn, &curator).await;
    ok(&db, &["db", "grant", "writer", &writer]);
    assert!(ok(&db, &["db", "grant", "curator", &curator]).contains("granted curator"));
    let all = counts(&lib).await;

    let as_role = |url: &str, args: &[&str]| btdb_at(url, args, None);
    for args in [
        &["delete", "--strategy", "strategy_1", "--yes"][..],
        &["delete", "--strategy", "strategy_1", "--dry-run"],
    ] {
        let out = as_role(&writer_url, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "the role `{writer}` may not delete runs: it lacks DELETE on table strategies; \
                 the schema's owner can grant what it needs with `btdb db grant curator {writer}`"
            )),
            "{err}"
        );
    }
    assert_eq!(counts(&lib).await, all);

    // The curator records and deletes, pruning included.
    let out = as_role(
        &curator_url,
        &["delete", "--strategy", "strategy_1", "--prune", "--yes"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(counts(&lib).await.runs < all.runs);
    let out = as_role(&curator_url, GEN);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(counts(&lib).await, all);

    drop((lib, conn));
    common::drop_roles(db, &[&writer, &curator]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_delete_asks_first() {
    // util-linux's `script` gives btdb a terminal; without it there is nothing to test here.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command (util-linux) to give btdb a terminal");
        return;
    }
    let db = TestDb::new().await;
    ok(&db, GEN);
    let lib = db.db().await;
    let all = counts(&lib).await;
    let on_terminal = |answer: &str| {
        let command = format!(
            "{} delete --strategy strategy_6",
            env!("CARGO_BIN_EXE_btdb")
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("DATABASE_URL", db.url())
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running script");
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(answer.as_bytes()).expect("answer");
        drop(stdin);
        child.wait_with_output().expect("output")
    };
    let no = on_terminal("n\n");
    let shown = text(&no.stdout);
    assert!(
        shown.contains("would delete 20 runs") && shown.contains("delete them? [y/N]"),
        "{shown}"
    );
    assert!(shown.contains("cancelled; nothing deleted"), "{shown}");
    assert_eq!(counts(&lib).await, all);
    let yes = on_terminal("y\n");
    assert!(yes.status.success(), "{}", text(&yes.stdout));
    assert!(text(&yes.stdout).contains("deleted 20 runs"));
    assert_eq!(counts(&lib).await.runs, all.runs - 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_and_a_recorder_racing_over_a_parent_both_succeed() {
    let db = TestDb::new().await;
    let run = |key: &str| {
        serde_json::json!({"run_key": key, "strategy": "raced", "dataset": "d",
                           "params": {"fast": 5}, "metrics": {"sharpe": 1.0}})
        .to_string()
    };
    let out = common::cli::btdb(&db, &["record", "-q", "-"], Some(&run("first")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A recorder's transaction gives the parameter set a second run and holds it open: its
    // foreign key check keeps the set's row locked until it commits.
    let mut recorder = db.conn().await;
    recorder
        .batch_execute(
            "BEGIN; INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, \
             dataset, status) SELECT 'second', content_hash, strategy_id, parameter_set_id, \
             dataset, status FROM runs WHERE run_key = 'first'",
        )
        .await
        .expect("the recorder's insert");
    // Deleting the first run with --prune finds the set without a committed run and waits
    // on its row; the recorder commits; the set is in use after all.
    let delete = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args([
            "delete", "--key", "first", "--prune", "--yes", "--format", "json",
        ])
        .env("DATABASE_URL", db.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("btdb delete");
    let mut watcher = db.conn().await;
    until_some(
        &mut watcher,
        "SELECT count(*) AS n FROM pg_locks WHERE NOT granted",
        "the delete never waited on the parameter set",
    )
    .await;
    recorder.batch_execute("COMMIT").await.expect("commit");
    let out = delete.wait_with_output().expect("btdb delete");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_str(&text(&out.stdout)).expect("json");
    assert_eq!(
        (answer["runs"].as_i64(), answer["parameter_sets"].as_i64()),
        (Some(1), Some(0)),
        "{answer}"
    );
    assert_eq!(
        common::count(&mut watcher, "SELECT count(*) AS n FROM parameter_sets").await,
        1
    );

    // The other way round: a recorder that knows a strategy and its parameter set records
    // again after both were pruned, and makes them again rather than failing its run.
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(["record", "-", "--jobs", "1", "--format", "json"])
        .env("DATABASE_URL", db.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("btdb record");
    let mut input = recorder.stdin.take().expect("stdin");
    let other = |key: &str| run(key).replace("\"raced\"", "\"raced_again\"");
    writeln!(input, "{}", other("third")).expect("writing");
    input.flush().expect("flushing");
    until_some(
        &mut watcher,
        "SELECT count(*) AS n FROM runs WHERE run_key = 'third'",
        "third never recorded",
    )
    .await;
    ok(&db, &["delete", "--key", "third", "--prune", "--yes"]);
    writeln!(input, "{}", other("fourth")).expect("writing");
    drop(input);
    let out = recorder.wait_with_output().expect("btdb record");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        common::count(
            &mut watcher,
            "SELECT count(*) AS n FROM runs WHERE run_key = 'fourth'"
        )
        .await,
        1
    );
}

/// Waits until `count_sql` counts something, failing with `never` after 30 s.
async fn until_some(conn: &mut AsyncPgConnection, count_sql: &str, never: &str) {
    let started = std::time::Instant::now();
    while common::count(conn, count_sql).await == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{never}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
