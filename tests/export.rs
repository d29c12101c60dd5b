//! `btdb export`: runs back out as run documents that record, on another database, into the
//! same runs (same content hashes, metrics and rows); written whole or not at all.

mod common;

use std::path::Path;

use common::TestDb;
use common::cli::{btdb, fails, ok, text};
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
struct Fingerprint {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    rows: String,
}

/// Every table's content keyed by run_key rather than by ids (which differ between two
/// databases), as one text per table: equal texts, equal contents.
async fn fingerprint(conn: &mut AsyncPgConnection) -> Vec<Fingerprint> {
    diesel::sql_query(
        "SELECT 'runs' AS table_name, coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',
                  r.run_key, encode(r.content_hash, 'hex'), lower(s.name), s.version, p.params,
                  r.dataset, r.status, r.period_start, r.period_end, r.initial_capital,
                  r.periods_per_year, r.tags, w.name), E'\\n' ORDER BY r.run_key), '') AS rows
         FROM runs r JOIN strategies s ON s.id = r.strategy_id
         JOIN parameter_sets p ON p.id = r.parameter_set_id LEFT JOIN sweeps w ON w.id = r.sweep_id
         UNION ALL
         SELECT 'metrics', coalesce(string_agg(format('%s|%s|%s|%s', r.run_key, m.name,
                  m.value, m.completed), E'\\n' ORDER BY r.run_key, m.name), '')
         FROM metrics m JOIN runs r ON r.id = m.run_id
         UNION ALL
         SELECT 'trades', coalesce(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', r.run_key,
                  t.seq, t.symbol, t.side, t.quantity, t.entry_time, t.entry_price, t.exit_time,
                  t.exit_price, t.fees, t.pnl), E'\\n' ORDER BY r.run_key, t.seq), '')
         FROM trades t JOIN runs r ON r.id = t.run_id
         UNION ALL
         SELECT 'equity_points', coalesce(string_agg(format('%s|%s|%s|%s', r.run_key, e.seq, e.ts,
                  e.equity), E'\\n' ORDER BY r.run_key, e.seq), '')
         FROM equity_points e JOIN runs r ON r.id = e.run_id
         UNION ALL
         SELECT 'counts', format('%s %s %s', (SELECT count(*) FROM strategies),
                  (SELECT count(*) FROM parameter_sets), (SELECT count(*) FROM sweeps))",
    )
    .load(conn)
    .await
    .expect("fingerprint")
}

/// The lines of a JSON Lines export, sorted: the order follows ids, which two databases that
/// recorded in parallel assign differently.
fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .expect("export file")
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Exports all of `from`, records it into a new empty database, and checks that both hold
/// the same runs, and that exporting the copy gives the same documents.
async fn round_trip(from: &TestDb, dir: &Path) {
    let file = dir.join("all.jsonl");
    let out = btdb(from, &["export", "-o", file.to_str().expect("path")], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let to = TestDb::new().await;
    let recorded = ok(&to, &["record", file.to_str().expect("path")]);
    assert!(recorded.contains("failed 0"), "{recorded}");
    let (before, after) = (
        fingerprint(&mut from.conn().await).await,
        fingerprint(&mut to.conn().await).await,
    );
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "{} differ after the round trip", b.table_name);
    }
    let again = dir.join("again.jsonl");
    ok(&to, &["export", "-o", again.to_str().expect("path")]);
    assert_eq!(sorted_lines(&file), sorted_lines(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_record_gives_the_same_runs_on_the_fixtures() {
    let db = TestDb::new().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    for dir in ["good", "rank", "export"] {
        let out = ok(&db, &["record", "-q", &format!("{fixtures}/{dir}")]);
        assert!(out.contains("failed 0"), "{out}");
    }
    ok(
        &db,
        &[
            "gen", "--record", "-q", "--runs", "60", "--trades", "5", "--equity", "30",
        ],
    );
    let dir = common::scratch_dir("export");
    round_trip(&db, &dir).await;

    // Standard output carries the same documents as the file.
    let file = sorted_lines(&dir.join("all.jsonl"));
    let mut stdout: Vec<String> = ok(&db, &["export"]).lines().map(str::to_owned).collect();
    stdout.sort();
    assert_eq!(stdout, file);

    // Filters select as everywhere else; a document keeps supplied metrics apart from the
    // computed ones, and a strategy's name as that document spelled it.
    let sma = ok(
        &db,
        &["export", "--strategy", "sma_cross", "--dataset", "SPY-1d"],
    );
    let docs: Vec<serde_json::Value> = sma
        .lines()
        .map(|l| serde_json::from_str(l).expect("a document"))
        .collect();
    assert!(docs.iter().all(|d| d["dataset"] == "SPY-1d"), "{sma}");
    let spelled = docs
        .iter()
        .find(|d| d["strategy"] == "SMA_Cross")
        .expect("the run recorded as SMA_Cross");
    assert_eq!(
        spelled["metrics"],
        serde_json::json!({"sharpe": 1.5, "turnover": 0.3}),
        "only the supplied metrics"
    );
    assert_eq!(
        spelled["equity"][0][1], "100000.500",
        "the decimal as recorded"
    );
    let err = fails(
        &db,
        &["export", "--strategy", "sma_cross", "--dataset", "nowhere"],
    );
    assert!(err.contains("no run matches; nothing exported"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_record_gives_the_same_runs_on_the_demo() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("export-demo");
    let out = btdb(
        &db,
        &["demo", "--out", dir.join("demo").to_str().expect("path")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    round_trip(&db, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_that_fails_leaves_no_file() {
    let db = TestDb::new().await;
    ok(&db, &["gen", "--record", "-q", "--runs", "20"]);
    let dir = common::scratch_dir("export-bad");
    // A path that cannot be written: one line naming it.
    let err = fails(&db, &["export", "-o", "/nonexistent/dir/runs.jsonl"]);
    assert!(
        err.contains("cannot write `/nonexistent/dir/runs.jsonl`"),
        "{err}"
    );
    // A failure after the file was opened (an unknown metric in --where) leaves nothing.
    let target = dir.join("runs.jsonl");
    let err = fails(
        &db,
        &[
            "export",
            "--where",
            "no_such_metric > 1",
            "-o",
            target.to_str().expect("path"),
        ],
    );
    assert!(err.contains("no_such_metric"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // An existing file is replaced only by a whole export.
    std::fs::write(&target, "old\n").expect("old file");
    ok(&db, &["export", "-o", target.to_str().expect("path")]);
    assert_eq!(sorted_lines(&target).len(), 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_recorded_before_supplied_metrics_were_kept_still_round_trip() {
    let db = TestDb::new().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    ok(&db, &["record", "-q", &format!("{fixtures}/good")]);
    ok(
        &db,
        &[
            "gen", "--record", "-q", "--runs", "40", "--trades", "5", "--equity", "30",
        ],
    );
    // As an earlier schema left them: which metrics were supplied is unknown, and inferred.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut db.conn().await,
        "UPDATE runs SET supplied_metrics = NULL",
    )
    .await
    .expect("forgetting the supplied metrics");
    let dir = common::scratch_dir("export-inferred");
    round_trip(&db, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}
