//! Recording: idempotent, atomic per run, exact, and streaming.

mod common;

use std::path::Path;

use btdb::query::run_detail::{RunDetail, RunRef};
use common::TestDb;
use common::record::{counts, options, record, record_with, write};

fn good() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good")
}

const RUN: &str = r#"{"run_key": "k1", "strategy": "s", "dataset": "D", "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101], ["2024-01-03T00:00:00Z", 99.5]]}"#;

#[tokio::test(flavor = "multi_thread")]
async fn recording_the_same_files_again_writes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let first = record(&db, &[&good()]).await;
    assert_eq!(
        (first.recorded, first.already_present, first.failed),
        (4, 0, 0)
    );
    let after_first = counts(&db).await;
    assert_eq!(
        (after_first.runs, after_first.strategies, after_first.sweeps),
        (4, 2, 2)
    );
    assert_eq!(
        (after_first.trades, after_first.equity_points),
        (2, 7 + 4 + 4)
    );

    let second = record(&db, &[&good()]).await;
    assert_eq!(
        (second.recorded, second.already_present, second.failed),
        (0, 4, 0)
    );
    assert_eq!(counts(&db).await, after_first);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_run_key_with_other_content_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("conflict");
    record(&db, &[&write(&dir, "a.jsonl", RUN)]).await;
    let before = counts(&db).await;

    let changed = RUN.replace(r#""dataset": "D""#, r#""dataset": "E""#);
    let summary = record(&db, &[&write(&dir, "b.jsonl", &changed)]).await;
    assert_eq!(summary.failed, 1);
    assert!(
        summary.failures[0].error.contains(
            "run_key `k1` is already recorded with different content (first difference: dataset)"
        ),
        "{:?}",
        summary.failures
    );
    // Deeper in the document, the element is named.
    let changed = RUN.replace("99.5]", "99.6]");
    let summary = record(&db, &[&write(&dir, "c.jsonl", &changed)]).await;
    assert!(
        summary.failures[0]
            .error
            .contains("(first difference: equity[2])"),
        "{:?}",
        summary.failures
    );
    let changed = RUN.replace(
        r#""dataset": "D""#,
        r#""dataset": "D", "metrics": {"sharpe": 9}"#,
    );
    let summary = record(&db, &[&write(&dir, "d.jsonl", &changed)]).await;
    assert!(
        summary.failures[0]
            .error
            .contains("(first difference: metrics)"),
        "{:?}",
        summary.failures
    );
    assert_eq!(counts(&db).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_without_a_key_are_keyed_by_their_content() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("autokey");
    let unkeyed = RUN.replace(r#""run_key": "k1", "#, "");
    let ten = unkeyed.replace(
        r#""dataset": "D""#,
        r#""dataset": "D", "params": {"fast": 10, "slow": 50}"#,
    );
    let ten_point_oh = unkeyed.replace(
        r#""dataset": "D""#,
        r#""dataset": "D", "params": {"slow": 50.00, "fast": 10.0}"#,
    );
    let other_data = ten.replace("99.5", "98");
    let file = write(
        &dir,
        "runs.jsonl",
        &[ten.as_str(), ten_point_oh.as_str(), other_data.as_str()].join("\n"),
    );
    let summary = record(&db, &[&file]).await;
    // 10 and 10.0 are one parameter set and one canonical document: the second line is the first.
    assert_eq!(
        (summary.recorded, summary.already_present, summary.failed),
        (2, 1, 0),
        "{summary:?}"
    );
    let c = counts(&db).await;
    assert_eq!((c.runs, c.parameter_sets, c.strategies), (2, 1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn decimals_timestamps_and_metrics_read_back_as_written() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    record(&db, &[&good()]).await;
    let mut conn = db.conn().await.unwrap();
    let key = RunRef::Key("sma_cross:AAPL-1d:fast=10,slow=50:2026-11-20".into());
    let run = RunDetail::load(&mut conn, &key, true, true).await.unwrap();
    let json = serde_json::to_value(&run).unwrap();

    assert_eq!(json["strategy"]["name"], "sma_cross");
    assert_eq!(json["strategy"]["version"], "1.2.0");
    assert_eq!(
        json["params"],
        serde_json::json!({"allow_short": false, "fast": 10, "slow": 50})
    );
    assert_eq!(json["initial_capital"], "100000");
    assert_eq!(json["sweep"], "sma-grid-2026-11");
    assert_eq!(json["tags"], serde_json::json!(["daily", "long-only"]));
    assert_eq!(json["period_start"], "2024-01-02T00:00:00Z");
    let trades = json["trades"].as_array().unwrap();
    assert_eq!(trades[0]["entry_price"], "185.64");
    assert_eq!(trades[0]["fees"], "1.00");
    // pnl absent: (181.18 - 185.64) * 100 - 1.00, exactly.
    assert_eq!(trades[0]["pnl"], "-447.00");
    assert_eq!(trades[1]["pnl"], "491.00");
    let equity = json["equity"].as_array().unwrap();
    assert_eq!(equity.len(), 7);
    assert_eq!(
        equity[5],
        serde_json::json!(["2024-01-09T00:00:00Z", "99890.5"])
    );
    // Supplied metrics are stored as given; computed ones sit beside them.
    assert_eq!(run.run.metrics.get("custom.exposure"), Some(0.62));
    assert_eq!(run.run.metrics.get("n_trades"), Some(2.0));
    assert_eq!(run.run.metrics.get("n_periods"), Some(6.0));
    assert!(run.run.metrics.contains("sharpe"));

    let by_id = RunDetail::load(&mut conn, &RunRef::Id(run.run.id), false, false)
        .await
        .unwrap();
    assert_eq!(by_id.run.run_key, run.run.run_key);
    assert!(by_id.trades.is_none() && by_id.n_trades == 2);
    let missing = RunDetail::load(&mut conn, &RunRef::Key("nope".into()), false, false).await;
    assert_eq!(
        missing.unwrap_err().to_string(),
        "no run with run_key `nope`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_supplied_metric_wins_over_the_computed_one() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("supplied");
    let doc = RUN.replace(
        r#""dataset": "D""#,
        r#""dataset": "D", "metrics": {"sharpe": 9.5}"#,
    );
    record(&db, &[&write(&dir, "a.jsonl", &doc)]).await;
    let mut conn = db.conn().await.unwrap();
    let run = RunDetail::load(&mut conn, &RunRef::Key("k1".into()), false, false)
        .await
        .unwrap();
    assert_eq!(run.run.metrics.get("sharpe"), Some(9.5));
    assert!(run.run.metrics.contains("volatility"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_line_fails_alone_and_the_rest_of_the_file_is_recorded() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("badline");
    let lines = [
        RUN.to_owned(),
        r#"{"run_key": "nan", "strategy": "s", "dataset": "D", "metrics": {"x": NaN}}"#.to_owned(),
        RUN.replace("k1", "k3"),
        // The last line is cut short, as a crashed writer leaves it.
        RUN.replace("k1", "k4")[..60].to_owned(),
    ];
    let file = write(&dir, "runs.jsonl", &lines.join("\n"));
    let summary = record(&db, &[&file]).await;
    assert_eq!((summary.recorded, summary.failed), (2, 2), "{summary:?}");
    let mut origins: Vec<&str> = summary.failures.iter().map(|f| f.origin.as_str()).collect();
    origins.sort();
    let name = file.display().to_string();
    assert_eq!(origins, [format!("{name}:2"), format!("{name}:4")]);
    assert_eq!(counts(&db).await.runs, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_fast_stops_at_the_first_failure() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("failfast");
    let mut lines = vec![r#"{"strategy": "s"}"#.to_owned()];
    lines.extend((0..200).map(|i| RUN.replace("k1", &format!("k{i}"))));
    let file = write(&dir, "runs.jsonl", &lines.join("\n"));
    let summary = record_with(
        &db,
        &[&file],
        btdb::ingest::RecordOptions {
            fail_fast: true,
            jobs: 1,
            ..options()
        },
    )
    .await;
    assert_eq!(summary.failed, 1);
    // Documents already handed to a worker may finish; the reader stops at once.
    assert!(
        summary.recorded < 20,
        "{} recorded after the failure",
        summary.recorded
    );

    let all = record(&db, &[&file]).await;
    assert_eq!(all.recorded + all.already_present, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn arrays_pretty_objects_and_directories_are_read() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("forms");
    let array = format!("[{},\n {}]", RUN, RUN.replace("k1", "k2"));
    write(&dir, "array.json", &array);
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&RUN.replace("k1", "k3")).unwrap(),
    )
    .unwrap();
    write(&dir, "pretty.json", &pretty);
    write(&dir, "notes.txt", "not a run document");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    write(
        &dir.join("nested"),
        "more.jsonl",
        &format!(
            "{}\n\n{}\n",
            RUN.replace("k1", "k4"),
            RUN.replace("k1", "k5")
        ),
    );
    let summary = record(&db, &[&dir]).await;
    assert_eq!((summary.recorded, summary.failed), (5, 0), "{summary:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_recorders_share_strategies_and_parameter_sets_without_duplicates() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("concurrent");
    // 200 runs over 4 strategies (two spellings of each name) and 5 parameter sets, in two
    // files that overlap by half.
    let doc = |i: usize| {
        let name = if i.is_multiple_of(2) {
            "Momentum"
        } else {
            "MOMENTUM"
        };
        RUN.replace("k1", &format!("k{i}"))
            .replace(
                r#""strategy": "s""#,
                &format!(r#""strategy": "{name}_{}""#, i % 4),
            )
            .replace(
                r#""dataset": "D""#,
                &format!(r#""dataset": "D", "params": {{"n": {}}}"#, i % 5),
            )
    };
    let first: Vec<String> = (0..150).map(doc).collect();
    let second: Vec<String> = (50..200).map(doc).collect();
    let a = write(&dir, "a.jsonl", &first.join("\n"));
    let b = write(&dir, "b.jsonl", &second.join("\n"));
    let (a, b) = ([a.as_path()], [b.as_path()]);
    let (left, right) = tokio::join!(record(&db, &a), record(&db, &b));
    assert_eq!(left.failed + right.failed, 0, "{left:?} {right:?}");
    assert_eq!(left.recorded + right.recorded, 200);
    assert_eq!(left.already_present + right.already_present, 100);
    let c = counts(&db).await;
    // Names compare case-insensitively: Momentum_0 and MOMENTUM_0 are one strategy.
    assert_eq!((c.runs, c.strategies, c.parameter_sets), (200, 4, 20));
}

#[tokio::test(flavor = "multi_thread")]
async fn losing_the_database_ends_the_batch_with_an_error_not_a_hang() {
    let test_db = TestDb::new().await;
    let db_options = btdb::db::DbOptions {
        database_url: Some(test_db.url().to_owned()),
        // Long enough for an attempt to finish on a busy machine, so that the pool's timeout
        // carries the server's answer rather than timing out before any attempt ended.
        connect_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let db = btdb::db::Db::connect(&db_options).await.unwrap();
    let dir = common::scratch_dir("lost");
    let lines: Vec<String> = (0..100)
        .map(|i| RUN.replace("k1", &format!("k{i}")))
        .collect();
    let file = write(&dir, "runs.jsonl", &lines.join("\n"));
    // The database goes away after btdb connected: no worker gets a connection, and the reader,
    // with far more documents than the channel holds, must not wait for them forever.
    drop(test_db);
    let writers = db.writers(2).unwrap();
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let inputs = [btdb::ingest::source::Input::File(file)];
            btdb::ingest::record(&writers, &inputs, &options(), &|_| {}, &mut |_| {})
        }),
    )
    .await
    .expect("record hung after losing the database")
    .unwrap();
    let error = format!("{:#}", outcome.unwrap_err());
    assert!(error.contains("does not exist"), "{error}");
}

/// Runs recorded in one transaction share its id (`xmin`): the number of distinct ones is the
/// number of transactions that wrote runs.
async fn transactions(test_db: &TestDb) -> i64 {
    let mut conn = test_db.conn().await;
    common::count(
        &mut conn,
        "SELECT count(DISTINCT xmin::text) AS n FROM runs",
    )
    .await
}

/// A first batch into a database just made checks each group's keys with a plan for the table
/// as it is: not with one made while `runs` was empty, which scans every run recorded so far
/// for each group (40,000 runs: up to 12.4 million rows read, depending on when the generic
/// plan was settled; planned afresh, about 1.5 million: the scans stop once the table is large
/// enough for the unique index to pay).
#[tokio::test(flavor = "multi_thread")]
async fn a_first_batch_checks_keys_with_plans_for_the_table_as_it_grows() {
    let test_db = TestDb::empty().await;
    common::cli::ok(&test_db, &["db", "migrate"]);
    let db = test_db.db().await;
    let dir = common::scratch_dir("plans");
    let runs: Vec<String> = (0..40_000)
        .map(|i| format!(r#"{{"run_key": "p{i}", "strategy": "s", "dataset": "D"}}"#))
        .collect();
    let file = write(&dir, "runs.jsonl", &runs.join("\n"));
    let summary = record_with(&db, &[&file], options()).await;
    assert_eq!((summary.recorded, summary.failed), (40_000, 0));
    drop(db);
    let mut conn = test_db.conn().await;
    // The recorder's connections are closed: what they read has reached the statistics.
    let scanned = common::count(
        &mut conn,
        "SELECT seq_tup_read AS n FROM pg_stat_user_tables WHERE relname = 'runs'",
    )
    .await;
    assert!(
        scanned < 5_000_000,
        "625 groups read {scanned} rows of runs by scans"
    );
}

/// Every run's key, by id.
async fn keys_by_id(test_db: &TestDb) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        run_key: String,
    }
    let mut conn = test_db.conn().await;
    diesel_async::RunQueryDsl::load::<Key>(
        diesel::sql_query("SELECT run_key FROM runs ORDER BY id"),
        &mut conn,
    )
    .await
    .expect("keys")
    .into_iter()
    .map(|k| k.run_key)
    .collect()
}

/// With several groups written at once, ids still follow the input: groups take their ids in
/// the order they were read, groups with nothing new to record giving their turn up.
#[tokio::test(flavor = "multi_thread")]
async fn ids_follow_the_input_with_groups_written_side_by_side() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("order");
    let key = |i: usize| format!("o{i}");
    let doc = |i: usize| RUN.replace("k1", &key(i));
    let jobs_4 = btdb::ingest::RecordOptions {
        jobs: 4,
        ..options()
    };
    // Every third run and a block of 400 first, then the whole file: the block's groups are
    // there already and take no ids.
    let first: Vec<usize> = (0..2_000)
        .filter(|i| i % 3 == 0 || (500..900).contains(i))
        .collect();
    let lines: Vec<String> = first.iter().map(|&i| doc(i)).collect();
    let file = write(&dir, "first.jsonl", &lines.join("\n"));
    let summary = record_with(&db, &[&file], jobs_4.clone()).await;
    assert_eq!((summary.recorded, summary.failed), (first.len() as u64, 0));
    let lines: Vec<String> = (0..2_000).map(doc).collect();
    let file = write(&dir, "all.jsonl", &lines.join("\n"));
    let summary = record_with(&db, &[&file], jobs_4).await;
    let then: Vec<usize> = (0..2_000).filter(|i| !first.contains(i)).collect();
    assert_eq!(
        (summary.recorded, summary.already_present, summary.failed),
        (then.len() as u64, first.len() as u64, 0)
    );
    let expected: Vec<String> = first.iter().chain(&then).map(|&i| key(i)).collect();
    assert_eq!(keys_by_id(&test_db).await, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_written_many_per_transaction_and_a_run_the_database_refuses_fails_alone() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("groups");
    let runs: Vec<String> = (0..200)
        .map(|i| RUN.replace("k1", &format!("g{i}")))
        .collect();
    let file = write(&dir, "runs.jsonl", &runs.join("\n"));
    let jobs_1 = btdb::ingest::RecordOptions {
        jobs: 1,
        ..options()
    };
    let summary = record_with(&db, &[&file], jobs_1.clone()).await;
    assert_eq!((summary.recorded, summary.failed), (200, 0));
    let groups = transactions(&test_db).await;
    assert!(groups <= 20, "200 runs took {groups} transactions");
    let after = counts(&db).await;
    assert_eq!(
        (after.runs, after.metrics > 0, after.equity_points),
        (200, true, 600)
    );
    // Ids follow the file (g0, g1, g2, …), not the keys' order (g0, g1, g10, g100, …).
    let in_file: Vec<String> = (0..200).map(|i| format!("g{i}")).collect();
    assert_eq!(keys_by_id(&test_db).await, in_file);
    let mut conn = test_db.conn().await;

    // The database refuses one run of a group (a rule the documents cannot break, added here):
    // that run fails alone with the server's words, every other run of its group is recorded
    // whole, and nothing of the refused one is left.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "ALTER TABLE runs ADD CONSTRAINT no_refused CHECK (dataset <> 'REFUSED')",
    )
    .await
    .expect("constraint");
    let mut more: Vec<String> = (0..30)
        .map(|i| RUN.replace("k1", &format!("h{i}")))
        .collect();
    more[17] = more[17].replace(r#""dataset": "D""#, r#""dataset": "REFUSED""#);
    let file = write(&dir, "more.jsonl", &more.join("\n"));
    let summary = record_with(&db, &[&file], jobs_1.clone()).await;
    assert_eq!((summary.recorded, summary.failed), (29, 1));
    assert!(
        summary.failures[0].origin.ends_with("more.jsonl:18")
            && summary.failures[0].error.contains("no_refused"),
        "{:?}",
        summary.failures
    );
    let now = counts(&db).await;
    assert_eq!((now.runs, now.equity_points), (229, 687));

    // With --fail-fast, a run refused when written stops the batch after its group, whose
    // other runs are recorded; the documents after that group are not.
    let refused: Vec<String> = (0..300)
        .map(|i| {
            let run = RUN.replace("k1", &format!("f{i}"));
            if i == 5 {
                run.replace(r#""dataset": "D""#, r#""dataset": "REFUSED""#)
            } else {
                run
            }
        })
        .collect();
    let file = write(&dir, "refused.jsonl", &refused.join("\n"));
    let summary = record_with(
        &db,
        &[&file],
        btdb::ingest::RecordOptions {
            fail_fast: true,
            ..jobs_1
        },
    )
    .await;
    assert_eq!(summary.failed, 1);
    assert!(
        summary.recorded >= 5 && summary.recorded < 299,
        "{} recorded",
        summary.recorded
    );
    assert_eq!(counts(&db).await.runs, 229 + summary.recorded as i64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_float_read_one_unit_off_by_an_earlier_btdb_is_the_same_run() {
    let test_db = TestDb::new().await;
    let db = test_db.db().await;
    let dir = common::scratch_dir("last-bits");
    // 11099.605836499999 as an earlier btdb's parser read it: one unit in the last place off.
    let exact: f64 = 11_099.605_836_499_999;
    let off = f64::from_bits(exact.to_bits() + 1);
    let with = |x: f64, ppy: f64| {
        RUN.replace(
            r#""dataset": "D""#,
            &format!(r#""dataset": "D", "metrics": {{"x": {x:?}}}, "periods_per_year": {ppy:?}"#),
        )
    };
    let summary = record(
        &db,
        &[&write(&dir, "a.jsonl", &with(off, 252.00000000000003))],
    )
    .await;
    assert_eq!(summary.recorded, 1, "{:?}", summary.failures);
    // The same document read exactly now: the same run, nothing written.
    let summary = record(&db, &[&write(&dir, "b.jsonl", &with(exact, 252.0))]).await;
    assert_eq!(
        (summary.already_present, summary.failed),
        (1, 0),
        "{:?}",
        summary.failures
    );
    // Two units apart is another value: a conflict, named.
    let further = f64::from_bits(exact.to_bits() - 1);
    let summary = record(
        &db,
        &[&write(&dir, "c.jsonl", &with(further, 252.00000000000003))],
    )
    .await;
    assert!(
        summary.failures[0]
            .error
            .contains("(first difference: metrics.x)"),
        "{:?}",
        summary.failures
    );
}
