//! `btdb import mlflow` on a store MLflow's own client filled (tests/fixtures/real/regen.sh):
//! its dump loaded into a database of the test's own, and what MLflow's client read back from
//! it (expected.json) as the figures to meet.

mod common;

use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, fails, ok, text};
use common::figures::json;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::Value;

const STORE: &str = include_str!("fixtures/real/mlflow/store.sql");
const EXPECTED: &str = include_str!("fixtures/real/mlflow/expected.json");
const SQLITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/real/mlflow/store.db"
);
const EXPECTED_SQLITE: &str = include_str!("fixtures/real/mlflow/expected-sqlite.json");

async fn store() -> TestDb {
    let store = TestDb::empty().await;
    store
        .conn()
        .await
        .batch_execute(STORE)
        .await
        .expect("loading the MLflow store");
    store
}

/// The names the store's metrics are recorded under, as docs/importing.md's rule gives them.
const RENAMED: &[(&str, &str)] = &[
    ("sharpe", "sharpe"),
    ("max_drawdown", "max_drawdown"),
    ("val loss", "val_loss"),
    ("accuracy/top-1", "accuracy_top_1"),
    ("1st_quartile", "_1st_quartile"),
];

fn renamed(name: &str) -> &'static str {
    RENAMED
        .iter()
        .find(|(from, _)| *from == name)
        .map(|(_, to)| *to)
        .unwrap_or_else(|| panic!("a metric the fixture does not log: {name}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_run_keeps_mlflow_s_params_last_metrics_tags_and_status() {
    let store = store().await;
    imports_as_mlflow_reads_it(store.url(), EXPECTED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_store_imports_as_a_postgresql_one() {
    imports_as_mlflow_reads_it(&format!("sqlite:///{SQLITE}"), EXPECTED_SQLITE).await;
}

/// `btdb import mlflow --tracking-uri URI --format json` into `db`.
fn import(db: &TestDb, uri: &str) -> std::process::Output {
    btdb(
        db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            uri,
            "--format",
            "json",
        ],
        None,
    )
}

/// Imports the store at `uri` into a database of its own and compares every run with what
/// MLflow's client read from it (`expected`).
async fn imports_as_mlflow_reads_it(uri: &str, expected: &str) {
    let db = TestDb::new().await;
    let out = import(&db, uri);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let expected = json(expected);
    let expected = expected.as_array().expect("runs");
    assert_eq!(
        expected.len(),
        13,
        "12 finished, 1 failed; the deleted run is not there"
    );
    assert_eq!(json(&stdout)["recorded"], 13, "{stdout}");
    // Nothing is dropped silently: the renamed names and the NaN are said.
    assert!(stderr.contains("`val loss` as `val_loss`"), "{stderr}");
    assert!(
        stderr.contains("`accuracy/top-1` as `accuracy_top_1`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 metric value left out, which a run cannot hold: 1 NaN"),
        "{stderr}"
    );

    let page = json(&ok(
        &db,
        &[
            "runs",
            "--status",
            "completed",
            "--limit",
            "100",
            "--format",
            "json",
        ],
    ));
    let failed = json(&ok(
        &db,
        &["runs", "--status", "failed", "--format", "json"],
    ));
    let runs: Vec<&Value> = page["runs"]
        .as_array()
        .into_iter()
        .chain(failed["runs"].as_array())
        .flatten()
        .collect();
    assert_eq!(runs.len(), 13);
    for want in expected {
        let key = format!("mlflow:{}", want["run_id"].as_str().expect("id"));
        let run = runs
            .iter()
            .find(|r| r["run_key"] == key.as_str())
            .unwrap_or_else(|| panic!("{key} missing"));
        let id = run["id"].to_string();
        let shown = json(&ok(&db, &["show", &id, "--format", "json"]));
        assert_eq!(shown["strategy"]["name"], want["experiment"]);
        assert_eq!(shown["dataset"], want["tags"]["dataset"]);
        let status = if want["status"] == "FINISHED" {
            "completed"
        } else {
            "failed"
        };
        assert_eq!(shown["status"], status);
        for (name, value) in want["params"].as_object().expect("params") {
            let value = value.as_str().expect("MLflow params are text");
            let stored = &shown["params"][name];
            match value.parse::<f64>() {
                Ok(n) => assert_eq!(stored.as_f64(), Some(n), "{key} {name}"),
                Err(_) if value == "False" => assert_eq!(stored, &Value::Bool(false)),
                Err(_) => assert_eq!(stored, value, "{key} {name}"),
            }
        }
        for (name, value) in want["metrics"].as_object().expect("metrics") {
            let stored = &shown["metrics"][renamed(name)];
            match value.as_f64() {
                // The last value MLflow's client reports, to the bit.
                Some(v) => assert_eq!(stored.as_f64(), Some(v), "{key} {name}"),
                None => assert!(stored.is_null(), "{key} {name}: NaN is not stored"),
            }
        }
        let tags: Vec<&str> = shown["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            tags.contains(&"owner=research") || want["tags"]["owner"].is_null(),
            "{tags:?}"
        );
        let run_name = format!(
            "mlflow.run_name={}",
            want["run_name"].as_str().expect("name")
        );
        assert!(tags.contains(&run_name.as_str()), "{tags:?}");
    }

    let again = import(&db, uri);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let again = json(&text(&again.stdout));
    assert_eq!(
        (
            again["recorded"].as_u64(),
            again["already_present"].as_u64()
        ),
        (Some(0), Some(13))
    );
    let ranked = json(&ok(
        &db,
        &["rank", "--metric", "sharpe", "--format", "json"],
    ));
    assert_eq!(ranked.as_array().map(Vec::len), Some(2));
    let pivot = common::figures::pivot(&db, "sma_cross", "fast", "slow");
    assert_eq!(pivot["x_values"], serde_json::json!([5, 10, 20]));
}

#[tokio::test(flavor = "multi_thread")]
async fn experiments_are_chosen_by_name_and_a_typo_gets_the_close_ones() {
    let (store, db) = (store().await, TestDb::new().await);
    let printed = ok(
        &db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            store.url(),
            "--experiment",
            "momentum",
            "--dry-run",
        ],
    );
    let docs: Vec<Value> = printed.lines().map(json).collect();
    assert_eq!(docs.len(), 6);
    assert!(
        docs.iter()
            .all(|d| d["strategy"] == "momentum" && d["dataset"] == "QQQ-1d")
    );
    let err = fails(
        &db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            store.url(),
            "--experiment",
            "momentun",
        ],
    );
    assert!(
        err.contains("no active experiment `momentun`; did you mean `momentum`?"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_an_mlflow_store_is_one_line_and_records_nothing() {
    let db = TestDb::new().await;
    // btdb's own database is a PostgreSQL database, but no MLflow store.
    let err = fails(&db, &["import", "mlflow", "--tracking-uri", db.url()]);
    assert!(err.contains("not an MLflow tracking store"), "{err}");
    let err = fails(
        &db,
        &["import", "mlflow", "--tracking-uri", "mysql://me@db/mlflow"],
    );
    assert!(err.contains("PostgreSQL or SQLite"), "{err}");
    // A file that is no SQLite database, and one that is not there.
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let err = fails(
        &db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            &format!("sqlite:///{readme}"),
        ],
    );
    assert!(
        err.contains(&format!("{readme}: not a SQLite database")),
        "{err}"
    );
    let err = fails(
        &db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            "sqlite:///no/such/mlflow.db",
        ],
    );
    assert!(
        err.contains("no/such/mlflow.db: No such file or directory"),
        "{err}"
    );
    let err = fails(
        &db,
        &[
            "import",
            "mlflow",
            "--tracking-uri",
            "http://127.0.0.1:5000",
        ],
    );
    assert!(err.contains("--backend-store-uri"), "{err}");
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0));
}

/// Random finite floats (the extremes among them) as every latest metric value of `store`'s
/// runs: (run_key, metric name as btdb names it) with the value the store reads back.
type Written = Vec<(String, &'static str, f64)>;

/// The store's (run, metric) pairs that hold a number, in a fixed order.
const PAIRS: &str = "SELECT run_uuid, key FROM latest_metrics WHERE is_nan = false \
                     ORDER BY run_uuid, key";

fn value_for(i: usize, bits: &mut Bits) -> f64 {
    EXTREMES.get(i).copied().unwrap_or_else(|| bits.finite())
}

/// Every metric that `import mlflow` recorded from `uri` equals `written`, bit for bit.
fn imported_exactly(uri: &str, written: &Written, db: &TestDb) {
    let out = import(db, uri);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs: Vec<Value> = ["completed", "failed"]
        .iter()
        .flat_map(|status| {
            let page = json(&ok(
                db,
                &[
                    "runs", "--status", status, "--limit", "100", "--format", "json",
                ],
            ));
            page["runs"].as_array().cloned().unwrap_or_default()
        })
        .collect();
    for (key, name, want) in written {
        let run = runs
            .iter()
            .find(|r| r["run_key"] == key.as_str())
            .unwrap_or_else(|| panic!("{key} missing"));
        let got = run["metrics"][*name]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} {name}: {}", run["metrics"]));
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{key} {name}: {want:e} as {got:e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_value_of_a_sqlite_store_comes_back_bit_for_bit() {
    let dir = common::scratch_dir("mlflow-bits");
    let path = dir.join("store.db");
    std::fs::copy(SQLITE, &path).expect("copying the store");
    let conn = rusqlite::Connection::open(&path).expect("opening the copy");
    let pairs: Vec<(String, String)> = conn
        .prepare(PAIRS)
        .and_then(|mut s| {
            s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .expect("reading the pairs");
    let mut bits = Bits::new(0x6d6c_666c_6f77);
    let mut written = Written::new();
    for (i, (uuid, key)) in pairs.iter().enumerate() {
        let value = value_for(i, &mut bits);
        let set = "UPDATE latest_metrics SET value = ?1 WHERE run_uuid = ?2 AND key = ?3";
        // Named in full: diesel-async's RunQueryDsl has an `execute` for every type.
        rusqlite::Connection::execute(&conn, set, rusqlite::params![value, uuid, key])
            .expect("writing a value");
        // What the store gives back is what MLflow's own client would read.
        let stored: f64 = conn
            .query_row(
                "SELECT value FROM latest_metrics WHERE run_uuid = ?1 AND key = ?2",
                rusqlite::params![uuid, key],
                |row| row.get(0),
            )
            .expect("reading it back");
        written.push((format!("mlflow:{uuid}"), renamed(key), stored));
    }
    drop(conn);
    assert!(written.len() > EXTREMES.len(), "{}", written.len());
    imported_exactly(
        &format!("sqlite:///{}", path.display()),
        &written,
        &TestDb::new().await,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_value_of_a_postgresql_store_comes_back_bit_for_bit() {
    #[derive(diesel::QueryableByName)]
    struct Pair {
        #[diesel(sql_type = diesel::sql_types::Text)]
        run_uuid: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let store = store().await;
    let mut conn = store.conn().await;
    let pairs: Vec<Pair> = diesel::sql_query(PAIRS)
        .load(&mut conn)
        .await
        .expect("reading the pairs");
    let mut bits = Bits::new(0x7067_6d6c_666c);
    let mut written = Written::new();
    for (i, pair) in pairs.iter().enumerate() {
        let value = value_for(i, &mut bits);
        diesel::sql_query("UPDATE latest_metrics SET value = $1 WHERE run_uuid = $2 AND key = $3")
            .bind::<diesel::sql_types::Double, _>(value)
            .bind::<diesel::sql_types::Text, _>(&pair.run_uuid)
            .bind::<diesel::sql_types::Text, _>(&pair.key)
            .execute(&mut conn)
            .await
            .expect("writing a value");
        written.push((
            format!("mlflow:{}", pair.run_uuid),
            renamed(&pair.key),
            value,
        ));
    }
    imported_exactly(store.url(), &written, &TestDb::new().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infinite_metric_is_left_out_and_said_to_be_infinity() {
    let store = store().await;
    store
        .conn()
        .await
        .batch_execute(
            "UPDATE latest_metrics SET value = 'Infinity' \
             WHERE (run_uuid, key) = (SELECT run_uuid, key FROM latest_metrics \
                                      WHERE NOT is_nan ORDER BY run_uuid, key LIMIT 1); \
             UPDATE latest_metrics SET value = '-Infinity' \
             WHERE (run_uuid, key) = (SELECT run_uuid, key FROM latest_metrics \
                                      WHERE NOT is_nan AND value <> 'Infinity' \
                                      ORDER BY run_uuid, key LIMIT 1)",
        )
        .await
        .expect("an infinite value");
    let db = TestDb::new().await;
    let out = import(&db, store.url());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "3 metric values left out, which a run cannot hold: 1 -infinity, 1 NaN, 1 infinity"
        ),
        "{stderr}"
    );
}
