//! The migrations: reversible, and in step with src/schema.rs.

mod common;

use std::collections::BTreeMap;

use btdb::db::migrate::{self, MIGRATIONS};
use common::TestDb;
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Integer, Text};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

async fn tables(conn: &mut AsyncPgConnection) -> Vec<String> {
    let rows: Vec<Name> = diesel::sql_query(
        "SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .load(conn)
    .await
    .expect("listing tables");
    rows.into_iter().map(|r| r.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_up_down_up_on_an_empty_database() {
    let db = TestDb::empty().await;
    let conn = db.conn().await;

    let (mut conn, applied) = migrate::run_pending(conn).await.expect("first up");
    let all = MIGRATIONS_COUNT;
    assert_eq!(applied.len(), all);
    let after_up = tables(&mut conn).await;
    for table in [
        "strategies",
        "parameter_sets",
        "sweeps",
        "runs",
        "metrics",
        "trades",
        "equity_points",
    ] {
        assert!(
            after_up.contains(&table.to_owned()),
            "{table} missing after up: {after_up:?}"
        );
    }
    assert!(after_up.contains(&"trades_p15".to_owned()), "{after_up:?}");

    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness.revert_all_migrations(MIGRATIONS).expect("down");
    assert_eq!(reverted.len(), all);
    let mut conn = harness.into_inner();
    assert_eq!(
        tables(&mut conn).await,
        vec!["__diesel_schema_migrations".to_owned()]
    );

    let (mut conn, applied) = migrate::run_pending(conn).await.expect("second up");
    assert_eq!(applied.len(), all);
    assert_eq!(tables(&mut conn).await, after_up);
}

const MIGRATIONS_COUNT: usize = 21;

#[test]
fn every_migration_directory_is_embedded() {
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().join("up.sql").is_file()))
        .count();
    assert_eq!(on_disk, MIGRATIONS_COUNT);
    assert_eq!(
        diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
            .expect("embedded")
            .len(),
        MIGRATIONS_COUNT
    );
}

/// table -> (primary key, [(column, diesel type)])
type Shape = BTreeMap<String, (Vec<String>, Vec<(String, String)>)>;

/// Reads the `diesel::table!` blocks of src/schema.rs.
fn schema_rs_shape() -> Shape {
    let text = include_str!("../src/schema.rs");
    let mut shape = Shape::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some((table, rest)) = line.split_once(" (").filter(|_| line.ends_with(") {")) {
            let keys = rest
                .trim_end_matches(") {")
                .split(',')
                .map(|k| k.trim().to_owned())
                .collect();
            shape.insert(table.to_owned(), (keys, Vec::new()));
            current = Some(table.to_owned());
        } else if let (Some(table), Some((column, ty))) = (&current, line.split_once(" -> ")) {
            let ty = ty
                .trim_end_matches(',')
                .replace("Array<Nullable<Text>>", "Array<Text>");
            shape
                .get_mut(table)
                .expect("table")
                .1
                .push((column.to_owned(), ty));
        } else if line == "}" {
            current = None;
        }
    }
    shape
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Integer)]
    key_position: i32,
}

fn diesel_type(pg: &str) -> String {
    if let Some(element) = pg.strip_prefix('_') {
        return format!("Array<{}>", diesel_type(element));
    }
    match pg {
        "int8" => "Int8",
        "int4" => "Int4",
        "text" => "Text",
        "bytea" => "Bytea",
        "jsonb" => "Jsonb",
        "numeric" => "Numeric",
        "float8" => "Float8",
        "bool" => "Bool",
        "timestamptz" => "Timestamptz",
        other => panic!("no diesel type known for {other}"),
    }
    .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_matches_the_migrated_catalog() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    // Parent tables only: partitions are reached through them. A key's INCLUDE columns are
    // not part of it.
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.relname AS table_name, a.attname AS column_name, t.typname AS type_name, \
                a.attnotnull AS not_null, \
                coalesce(nullif(least(array_position(i.indkey::int2[], a.attnum) \
                         - array_lower(i.indkey::int2[], 1) + 1, i.indnkeyatts + 1), \
                         i.indnkeyatts + 1), 0) AS key_position \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         JOIN pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND c.relname <> '__diesel_schema_migrations' \
         ORDER BY c.relname, a.attnum",
    )
    .load(&mut conn)
    .await
    .expect("catalog");
    let mut catalog = Shape::new();
    for col in &columns {
        let entry = catalog.entry(col.table_name.clone()).or_default();
        let ty = diesel_type(&col.type_name);
        let ty = if col.not_null {
            ty
        } else {
            format!("Nullable<{ty}>")
        };
        entry.1.push((col.column_name.clone(), ty));
    }
    for (table, entry) in &mut catalog {
        let mut keys: Vec<(i32, String)> = columns
            .iter()
            .filter(|c| &c.table_name == table && c.key_position > 0)
            .map(|c| (c.key_position, c.column_name.clone()))
            .collect();
        keys.sort();
        entry.0 = keys.into_iter().map(|(_, name)| name).collect();
    }
    // equity_points has no primary key (its migration says why); schema.rs keys it by the
    // columns that are unique by construction. No other table may lack one.
    let keyless: Vec<&String> = catalog
        .iter()
        .filter(|(_, (keys, _))| keys.is_empty())
        .map(|(t, _)| t)
        .collect();
    assert_eq!(keyless, ["equity_points"]);
    catalog.get_mut("equity_points").unwrap().0 = vec!["run_id".into(), "seq".into()];
    assert_eq!(
        schema_rs_shape(),
        catalog,
        "src/schema.rs has drifted from the migrations: run `diesel print-schema` on a migrated database"
    );
}

/// Migration 20 gives the runs recorded before it the metric rows the recorder now writes: each
/// run's array holds its `metrics` rows in bytewise name order, and the listing, which reads
/// the arrays, is the same after the migration fills them again from `metrics`.
#[tokio::test(flavor = "multi_thread")]
async fn migration_20_gives_runs_recorded_before_it_their_metric_rows() {
    let db = TestDb::new().await;
    let fixture = |path: &str| format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    for file in ["rank/runs.jsonl", "good/sweep.jsonl"] {
        common::cli::ok_at(db.url(), &["record", "--jobs", "1", &fixture(file)]);
    }
    // Names that sort differently bytewise and by a language's collation, and a failed run
    // without metrics.
    let odd = r#"{"run_key": "odd", "strategy": "s", "dataset": "D",
                  "metrics": {"a": 1.5, "B": -2, "_x": 1e300, "a.b": 0.1, "Z": 3}}
                 {"run_key": "failed", "strategy": "s", "dataset": "D", "status": "failed"}"#;
    let out = common::cli::btdb_at(db.url(), &["record", "-"], Some(odd));
    assert!(out.status.success(), "{}", common::cli::text(&out.stderr));
    let mut conn = db.conn().await;
    let differing = common::count(
        &mut conn,
        "SELECT count(*) AS n FROM runs r \
         WHERE (SELECT names FROM metric_sets s WHERE s.id = r.metric_set_id) \
               IS DISTINCT FROM (SELECT array_agg(name ORDER BY name COLLATE \"C\") \
                                 FROM metrics m WHERE m.run_id = r.id) \
            OR r.metric_values \
               IS DISTINCT FROM (SELECT array_agg(value ORDER BY name COLLATE \"C\") \
                                 FROM metrics m WHERE m.run_id = r.id)",
    )
    .await;
    assert_eq!(differing, 0, "runs whose metric row is not their metrics");
    let failed =
        "SELECT count(*) AS n FROM runs WHERE run_key = 'failed' AND metric_set_id IS NULL";
    assert_eq!(
        common::count(&mut conn, failed).await,
        1,
        "the failed run has no metric row"
    );
    // The paged listing and the streamed one.
    let listing = || {
        ["json --limit 100", "csv --limit all"].map(|args| {
            let mut args: Vec<&str> = args.split(' ').collect();
            args.splice(0..0, ["runs", "--format"]);
            common::cli::ok_at(db.url(), &args)
        })
    };
    let before = listing();
    for listed in &before {
        assert!(
            listed.contains("1e300") || listed.contains("1e+300"),
            "odd's metrics not listed"
        );
    }
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        common::redo_migration(&url, "2026-12-07-000020_metric_rows")
    })
    .await
    .expect("the migration thread");
    assert_eq!(listing(), before);
}

/// Migration 21 gives the summaries of runs recorded before it the deflated Sharpe ratio's
/// trials the fold now keeps: the same parameter sets and variances, pooled and per data set,
/// so that `rank --deflated` answers the same after it.
#[tokio::test(flavor = "multi_thread")]
async fn migration_21_gives_summaries_kept_before_it_their_trials() {
    let db = TestDb::new().await;
    let fixture = |path: &str| format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    for file in ["rank/runs.jsonl", "good/sweep.jsonl"] {
        common::cli::ok_at(db.url(), &["record", "--jobs", "1", &fixture(file)]);
    }
    let mut conn = db.conn().await;
    // Variances to 14 decimals (about 12 digits here): a sum's rounding depends on the order
    // in which the fold and the migration meet the runs.
    let kept = "SELECT string_agg(concat_ws(' ', strategy_id, dataset, parameter_sets, \
                                            round(period_sharpe_variance::numeric, 14)), ', ' \
                                  ORDER BY strategy_id, dataset) AS kept \
                FROM (SELECT strategy_id, dataset, parameter_sets, period_sharpe_variance \
                      FROM metric_summaries WHERE name = 'sharpe' \
                      UNION ALL \
                      SELECT strategy_id, NULL, parameter_sets, period_sharpe_variance \
                      FROM pooled_metric_summaries WHERE name = 'sharpe') t";
    #[derive(QueryableByName)]
    struct Kept {
        #[diesel(sql_type = Text)]
        kept: String,
    }
    let read = async |conn: &mut AsyncPgConnection| -> String {
        diesel::sql_query(kept)
            .get_result::<Kept>(conn)
            .await
            .expect("kept trials")
            .kept
    };
    let before = read(&mut conn).await;
    // Every sharpe group, pooled and per data set, has its trials.
    assert!(before.matches(", ").count() >= 6, "{before}");
    // (strategy, trials, probability, expected maximum) of each ranked strategy.
    let ranked = || -> Vec<(String, i64, f64, f64)> {
        let out = common::cli::ok_at(
            db.url(),
            &["--format", "json", "rank", "--deflated", "--min-runs", "1"],
        );
        let ranked: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        ranked
            .as_array()
            .expect("ranked strategies")
            .iter()
            .map(|row| {
                let deflated = &row["deflated"];
                (
                    row["strategy"]["name"].to_string(),
                    deflated["trials"].as_i64().expect("trials"),
                    deflated["probability"].as_f64().unwrap_or(-1.0),
                    deflated["expected_max_sharpe"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect()
    };
    let deflated = ranked();
    assert!(deflated.iter().any(|row| row.1 > 1), "{deflated:?}");
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        common::redo_migration(&url, "2026-12-07-000021_summarise_trials")
    })
    .await
    .expect("the migration thread");
    assert_eq!(read(&mut conn).await, before);
    let again = ranked();
    assert_eq!(again.len(), deflated.len());
    for (after, before) in again.iter().zip(&deflated) {
        assert_eq!((&after.0, after.1), (&before.0, before.1));
        assert!(
            (after.2 - before.2).abs() < 1e-9,
            "{after:?} against {before:?}"
        );
        assert!(
            (after.3 - before.3).abs() < 1e-9,
            "{after:?} against {before:?}"
        );
    }
}
