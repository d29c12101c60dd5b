//! `btdb import optuna` on studies Optuna itself ran (tests/fixtures/real/regen.sh): the same two
//! studies in a SQLite file, a journal file and a PostgreSQL database, each compared field by
//! field, float by float, with what Optuna's `get_trials()` read back from it.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, fails, ok, text};
use common::figures::json;
use diesel_async::SimpleAsyncConnection;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real/optuna");
const POSTGRES: &str = include_str!("fixtures/real/optuna/study.sql");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// A float as generate.py writes it: Python's float.hex.
fn from_hex(text: &str) -> f64 {
    match text {
        "inf" => return f64::INFINITY,
        "-inf" => return f64::NEG_INFINITY,
        "nan" => return f64::NAN,
        _ => {}
    }
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix("0x").expect("0x");
    let (mantissa, exponent) = rest.split_once('p').expect("p");
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let exponent: i32 = exponent.parse().expect("exponent");
    let mut bits = u64::from_str_radix(int, 16).expect("hex") as f64;
    // Every digit of the fraction is exact in an f64 (at most 52 bits), as is each step here.
    let mut scale = 1.0 / 16.0;
    for digit in frac.chars() {
        bits += f64::from(digit.to_digit(16).expect("hex digit")) * scale;
        scale /= 16.0;
    }
    let value = bits * 2f64.powi(exponent);
    if negative { -value } else { value }
}

/// A parameter as Optuna's reading gives it: floats hex-encoded, the rest as JSON.
fn expected_param(value: &Value) -> Value {
    match value.as_str() {
        Some(text) if text.starts_with("0x") || text.starts_with("-0x") => {
            serde_json::json!(from_hex(text))
        }
        _ => value.clone(),
    }
}

/// `btdb export` of every run, by run_key.
fn exported(db: &TestDb) -> BTreeMap<String, Value> {
    ok(db, &["export"])
        .lines()
        .map(json)
        .map(|doc| (doc["run_key"].as_str().expect("key").to_owned(), doc))
        .collect()
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

/// Imports `storage` and checks every trial against `expected` (generate.py's reading).
fn imports_as_optuna_reads_it(db: &TestDb, storage: &str, expected: &str) {
    let out = btdb(db, &["import", "optuna", storage, "--format", "json"], None);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // What is not imported is said: the trial still running, the one waiting, and the
    // infinite objective values of the multi-objective study.
    assert!(stderr.contains("1 running trial not imported"), "{stderr}");
    assert!(stderr.contains("1 waiting trial not imported"), "{stderr}");
    let studies = json(&std::fs::read_to_string(fixture(expected)).expect("expected"));
    let infinite = studies
        .as_array()
        .expect("studies")
        .iter()
        .flat_map(|s| s["trials"].as_array().expect("trials"))
        .filter(|t| t["state"] == "COMPLETE")
        .flat_map(|t| t["values"].as_array().expect("values"))
        .filter(|v| *v == "inf")
        .count();
    assert!(infinite > 0, "the fixture has infinite objectives");
    assert!(
        stderr.contains(&format!("{infinite} infinity")),
        "{infinite} infinite values said: {stderr}"
    );

    let docs = exported(db);
    let mut finished = 0;
    for study in studies.as_array().expect("studies") {
        let name = study["study_name"].as_str().expect("name");
        let directions: Vec<&str> = study["directions"]
            .as_array()
            .expect("directions")
            .iter()
            .map(|d| d.as_str().expect("direction"))
            .collect();
        let metric_names: Vec<String> = match study["metric_names"].as_array() {
            Some(names) => names
                .iter()
                .map(|n| n.as_str().expect("the test's data").to_owned())
                .collect(),
            None if directions.len() == 1 => vec!["value".into()],
            None => (0..directions.len())
                .map(|i| format!("values_{i}"))
                .collect(),
        };
        let strategy = study["user_attrs"]["strategy"].as_str().unwrap_or(name);
        for trial in study["trials"].as_array().expect("trials") {
            let number = trial["number"].as_i64().expect("number");
            let key = format!("optuna:{name}:{number}");
            let state = trial["state"].as_str().expect("state");
            let Some(doc) = docs.get(&key) else {
                assert!(
                    matches!(state, "RUNNING" | "WAITING"),
                    "{key} ({state}) was not imported"
                );
                continue;
            };
            finished += 1;
            let status = match state {
                "COMPLETE" => "completed",
                "PRUNED" => "pruned",
                "FAIL" => "failed",
                other => panic!("{key}: a {other} trial was imported"),
            };
            assert_eq!(doc["status"], status, "{key}");
            assert_eq!(doc["strategy"], strategy, "{key}");
            assert_eq!(doc["sweep"], name, "{key}");
            assert_eq!(doc["trial"], number, "{key}");
            assert_eq!(
                doc["dataset"],
                study["user_attrs"]["dataset"]
                    .as_str()
                    .unwrap_or("unspecified"),
                "{key}"
            );
            // Parameters as Optuna decodes them: categorical choices by value, ints as ints,
            // floats bit for bit.
            let params = doc["params"].as_object().expect("params");
            let want = trial["params"].as_object().expect("params");
            assert_eq!(params.len(), want.len(), "{key}: {params:?}");
            for (param, value) in want {
                let want = expected_param(value);
                let got = &params[param];
                match (want.as_f64(), got.as_f64()) {
                    (Some(w), Some(g)) if want.is_f64() => {
                        assert!(same_bits(w, g), "{key}.{param}: {g} != {w}")
                    }
                    _ => assert_eq!(got, &want, "{key}.{param}"),
                }
                // An int stays an int, a bool a bool.
                assert_eq!(got.is_i64(), want.is_i64(), "{key}.{param}: {got}");
                assert_eq!(got.is_boolean(), want.is_boolean(), "{key}.{param}");
            }
            // Each parameter's distribution, as the trial's search space.
            for (param, distribution) in trial["distributions"].as_object().expect("distributions")
            {
                let distribution = json(distribution.as_str().expect("distribution JSON"));
                let axis = &doc["search_space"][param];
                let attributes = distribution["attributes"].as_object().expect("attributes");
                if let Some(choices) = attributes.get("choices") {
                    assert_eq!(&axis["choices"], choices, "{key}.{param}");
                    continue;
                }
                for (name, value) in attributes {
                    match (value.as_f64(), axis[name].as_f64()) {
                        (Some(want), Some(got)) => assert_eq!(got, want, "{key}.{param}.{name}"),
                        _ => assert_eq!(&axis[name], value, "{key}.{param}.{name}"),
                    }
                }
                let kind = if distribution["name"] == "IntDistribution" {
                    "int"
                } else {
                    "float"
                };
                assert_eq!(axis["type"], kind, "{key}.{param}");
            }
            // Objective values under the study's metric names, each in its direction.
            let metrics = doc["metrics"].as_object().cloned().unwrap_or_default();
            if let Some(values) = trial["values"].as_array() {
                for (i, value) in values.iter().enumerate() {
                    let want = from_hex(value.as_str().expect("hex"));
                    let metric = &metric_names[i];
                    if want.is_finite() {
                        let got = metrics[metric].as_f64().expect("a number");
                        assert!(same_bits(got, want), "{key}.{metric}: {got} != {want}");
                    } else {
                        assert!(!metrics.contains_key(metric), "{key}: {metric} is infinite");
                    }
                    let direction = directions[i].to_lowercase();
                    assert_eq!(doc["directions"][metric], direction.as_str(), "{key}");
                }
            }
            // Number attributes are metrics, text ones tags.
            for (attr, value) in trial["user_attrs"].as_object().expect("attrs") {
                match value {
                    Value::String(s) if !s.starts_with("0x") => {
                        let tag = format!("{attr}={s}");
                        assert!(
                            doc["tags"]
                                .as_array()
                                .is_some_and(|t| t.contains(&Value::from(tag.clone()))),
                            "{key}: tag {tag}"
                        );
                    }
                    _ => {
                        let want = expected_param(value).as_f64().expect("a number");
                        let got = metrics[attr].as_f64().expect("a number");
                        assert!(same_bits(got, want), "{key}.{attr}");
                    }
                }
            }
            // Intermediate values in step order, bit for bit.
            let want: Vec<(i64, f64)> = trial["intermediate_values"]
                .as_object()
                .expect("intermediate")
                .iter()
                .map(|(step, v)| {
                    (
                        step.parse().expect("the test's data"),
                        from_hex(v.as_str().expect("the test's data")),
                    )
                })
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            let got: Vec<(i64, f64)> = doc["intermediate"]
                .as_array()
                .map(|values| {
                    values
                        .iter()
                        .map(|p| {
                            (
                                p[0].as_i64().expect("the test's data"),
                                p[1].as_f64().expect("the test's data"),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(got.len(), want.len(), "{key}: intermediate values");
            for ((gs, gv), (ws, wv)) in got.iter().zip(&want) {
                assert!(gs == ws && same_bits(*gv, *wv), "{key}: step {ws}");
            }
            // Times as Optuna read them (naive, in the generator's zone: UTC).
            for (field, naive) in [
                ("started_at", &trial["datetime_start"]),
                ("finished_at", &trial["datetime_complete"]),
            ] {
                let want = naive.as_str().map(|t| {
                    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                        .expect("naive time")
                        .and_utc()
                });
                let got = doc[field].as_str().map(|t| {
                    DateTime::parse_from_rfc3339(t)
                        .expect("the test's data")
                        .with_timezone(&Utc)
                });
                assert_eq!(got, want, "{key}.{field}");
            }
        }
    }
    assert_eq!(json(&stdout)["recorded"], finished, "{stdout}");
    assert_eq!(docs.len(), finished);

    // Importing again records nothing.
    let again = json(&ok(db, &["import", "optuna", storage, "--format", "json"]));
    assert_eq!(again["recorded"], 0);
    assert_eq!(again["already_present"], finished);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_storage_imports_as_optuna_reads_it() {
    let db = TestDb::new().await;
    imports_as_optuna_reads_it(
        &db,
        &format!("sqlite:///{}", fixture("study.db")),
        "expected-sqlite.json",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_trials_record_elsewhere_as_the_same_runs() {
    // Export writes each run back as the document the import made: recorded in another
    // database, then imported there, every trial is already present.
    let (db, elsewhere) = (TestDb::new().await, TestDb::new().await);
    let journal = fixture("journal.log");
    ok(&db, &["import", "optuna", &journal]);
    let documents = ok(&db, &["export"]);
    let out = btdb(
        &elsewhere,
        &["record", "-", "--format", "json"],
        Some(&documents),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recorded = json(&text(&out.stdout))["recorded"]
        .as_u64()
        .expect("recorded");
    assert_eq!(recorded as usize, documents.lines().count());
    let again = json(&ok(
        &elsewhere,
        &["import", "optuna", &journal, "--format", "json"],
    ));
    assert_eq!(again["recorded"], 0);
    assert_eq!(again["already_present"], recorded);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_imports_as_optuna_reads_it() {
    let db = TestDb::new().await;
    imports_as_optuna_reads_it(&db, &fixture("journal.log"), "expected-journal.json");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_storage_imports_as_optuna_reads_it() {
    let storage = TestDb::empty().await;
    storage
        .conn()
        .await
        .batch_execute(POSTGRES)
        .await
        .expect("loading the Optuna storage");
    let db = TestDb::new().await;
    imports_as_optuna_reads_it(&db, storage.url(), "expected-postgres.json");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_rank_the_way_their_study_optimised_them() {
    let db = TestDb::new().await;
    ok(&db, &["import", "optuna", &fixture("study.db")]);
    let studies =
        json(&std::fs::read_to_string(fixture("expected-sqlite.json")).expect("the test's data"));
    let completed = |study: usize, objective: usize| -> Vec<f64> {
        let mut values: Vec<f64> = studies[study]["trials"]
            .as_array()
            .expect("the test's data")
            .iter()
            .filter(|t| t["state"] == "COMPLETE")
            .map(|t| from_hex(t["values"][objective].as_str().expect("the test's data")))
            .filter(|v| v.is_finite())
            .collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let ranked = |metric: &str| -> Vec<f64> {
        let page = json(&ok(
            &db,
            &[
                "rank", "--metric", metric, "--runs", "--top", "1000", "--format", "json",
            ],
        ));
        page.as_array()
            .or_else(|| page["runs"].as_array())
            .expect("ranked runs")
            .iter()
            .map(|r| {
                r["value"]
                    .as_f64()
                    .or_else(|| r["metrics"][metric].as_f64())
                    .expect("value")
            })
            .collect()
    };
    // sma_grid maximises `value`: highest first, pruned and failed trials never ranked.
    let mut want = completed(0, 0);
    want.reverse();
    assert_eq!(ranked("value"), want);
    // momentum_pareto minimises its `max_drawdown` (a positive number): smallest first,
    // although btdb's own max_drawdown ranks highest first.
    assert_eq!(ranked("max_drawdown"), completed(1, 1));
    let mut sharpe = completed(1, 0);
    sharpe.reverse();
    assert_eq!(ranked("sharpe"), sharpe);

    // A run of the same strategy that declares the other direction is refused, naming it.
    let doc = r#"{"strategy": "momentum_pareto", "dataset": "QQQ-1d",
                  "metrics": {"max_drawdown": -0.2}, "directions": {"max_drawdown": "maximize"}}"#;
    let out = btdb(&db, &["record", "-"], Some(doc));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("directions.max_drawdown: runs of strategy `momentum_pareto` already minimise max_drawdown"),
        "{err}"
    );
    // Another strategy maximising it cannot be ranked with the first without a choice.
    let doc = doc.replace("momentum_pareto", "breakout");
    let out = btdb(&db, &["record", "-"], Some(&doc));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = fails(&db, &["rank", "--metric", "max_drawdown"]);
    assert!(
        err.contains(
            "`max_drawdown` is minimised by strategy `momentum_pareto` and maximised by `breakout`"
        ),
        "{err}"
    );
    ok(
        &db,
        &["rank", "--metric", "max_drawdown", "--strategy", "breakout"],
    );
    ok(&db, &["rank", "--metric", "max_drawdown", "--asc"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_objective_value_comes_back_bit_for_bit() {
    // The fixture's values overwritten with the extremes and random bit patterns.
    let dir = common::scratch_dir("optuna-bits");
    let path = dir.join("study.db");
    std::fs::copy(fixture("study.db"), &path).expect("the test's data");
    let conn = rusqlite::Connection::open(&path).expect("the test's data");
    let ids: Vec<i64> = conn
        .prepare("SELECT trial_value_id FROM trial_values WHERE value_type = 'FINITE' ORDER BY 1")
        .expect("the test's data")
        .query_map([], |row| row.get(0))
        .expect("the test's data")
        .collect::<Result<_, _>>()
        .expect("the test's data");
    let mut bits = Bits::new(33);
    let mut written = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let value = EXTREMES.get(i).copied().unwrap_or_else(|| bits.finite());
        conn.execute(
            "UPDATE trial_values SET value = ?1 WHERE trial_value_id = ?2",
            rusqlite::params![value, id],
        )
        .expect("the test's data");
        // What the file then holds: SQLite keeps an integral REAL as an integer, so -0.0
        // reads back as 0.0, for Optuna as for btdb.
        let held: f64 = conn
            .query_row(
                "SELECT value FROM trial_values WHERE trial_value_id = ?1",
                [id],
                |row| row.get(0),
            )
            .expect("the test's data");
        assert!(held == value, "{value:e} became {held:e}");
        written.insert(*id, held);
    }
    let pairs: Vec<(String, i64, String, i64)> = conn
        .prepare(
            "SELECT s.study_name, t.number, t.state, v.objective FROM trial_values v \
             JOIN trials t USING (trial_id) JOIN studies s USING (study_id) \
             WHERE v.value_type = 'FINITE' ORDER BY v.trial_value_id",
        )
        .expect("the test's data")
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .expect("the test's data")
        .collect::<Result<_, _>>()
        .expect("the test's data");
    drop(conn);
    let db = TestDb::new().await;
    ok(
        &db,
        &["import", "optuna", path.to_str().expect("the test's data")],
    );
    let docs = exported(&db);
    for ((study, number, state, objective), value) in pairs.iter().zip(written.values()) {
        if state == "RUNNING" || state == "WAITING" {
            continue;
        }
        let metric = match (study.as_str(), objective) {
            ("sma_grid", _) => "value",
            (_, 0) => "sharpe",
            _ => "max_drawdown",
        };
        let doc = &docs[&format!("optuna:{study}:{number}")];
        let got = doc["metrics"][metric].as_f64().expect("a metric");
        assert!(
            same_bits(got, *value),
            "{study}#{number}.{metric}: {got:e} != {value:e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_not_an_optuna_storage_is_one_line_and_records_nothing() {
    let db = TestDb::new().await;
    // An MLflow store is a SQLite database, but no Optuna storage.
    let mlflow = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/real/mlflow/store.db"
    );
    let err = fails(&db, &["import", "optuna", &format!("sqlite:///{mlflow}")]);
    assert!(
        err.contains(&format!("{mlflow}: not an Optuna storage")),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // btdb's own database is a PostgreSQL database, but no Optuna storage either.
    let err = fails(&db, &["import", "optuna", db.url()]);
    assert!(err.contains("not an Optuna storage"), "{err}");
    assert!(!err.contains("password"), "{err}");

    // A schema revision btdb does not read is named, with the way out.
    let dir = common::scratch_dir("optuna-bad");
    let old = dir.join("old.db");
    std::fs::copy(fixture("study.db"), &old).expect("the test's data");
    rusqlite::Connection::open(&old)
        .expect("the test's data")
        .execute("UPDATE alembic_version SET version_num = 'v2.6.0.a'", [])
        .expect("the test's data");
    let err = fails(
        &db,
        &["import", "optuna", old.to_str().expect("the test's data")],
    );
    assert!(
        err.contains("Optuna storage schema v2.6.0.a: btdb reads v3.0.0.d and v3.2.0.a"),
        "{err}"
    );
    assert!(err.contains("optuna storage upgrade"), "{err}");

    // A file that is neither SQLite nor a journal.
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let err = fails(&db, &["import", "optuna", readme]);
    assert!(
        err.contains(&format!("{readme}: not an Optuna journal")),
        "{err}"
    );
    let err = fails(&db, &["import", "optuna", "no/such/journal.log"]);
    assert!(
        err.contains("no/such/journal.log: No such file or directory"),
        "{err}"
    );
    let err = fails(&db, &["import", "optuna", "redis://localhost"]);
    assert!(err.contains("journal files, not Redis"), "{err}");

    // A journal with a damaged line in its middle names the line, and records nothing.
    let journal = std::fs::read_to_string(fixture("journal.log")).expect("the test's data");
    let mut lines: Vec<&str> = journal.lines().collect();
    lines[9] = "{\"op_code\": 5, \"trial_id\"";
    let damaged = dir.join("damaged.log");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("the test's data");
    let err = fails(
        &db,
        &[
            "import",
            "optuna",
            damaged.to_str().expect("the test's data"),
        ],
    );
    assert!(err.contains("damaged.log: line 10: not JSON"), "{err}");
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0));

    // A journal cut in the middle of its last line (a write under way) imports what came
    // before it, and says what it left out.
    let cut = dir.join("cut.log");
    std::fs::write(&cut, &journal[..journal.len() - 40]).expect("the test's data");
    let out = btdb(
        &db,
        &["import", "optuna", cut.to_str().expect("the test's data")],
        None,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("last line is incomplete"), "{stderr}");
    // The last trial never finished as far as the cut journal says.
    assert!(stderr.contains("2 running trials not imported"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn studies_are_chosen_by_name_and_a_typo_gets_the_close_ones() {
    let db = TestDb::new().await;
    let journal = fixture("journal.log");
    let printed = ok(
        &db,
        &[
            "import",
            "optuna",
            &journal,
            "--study",
            "momentum_pareto",
            "--sweep",
            "mo",
            "--dry-run",
        ],
    );
    let docs: Vec<Value> = printed.lines().map(json).collect();
    assert!(!docs.is_empty());
    assert!(docs.iter().all(|d| d["strategy"] == "momentum_pareto"
        && d["dataset"] == "QQQ-1d"
        && d["sweep"] == "mo"));
    let err = fails(&db, &["import", "optuna", &journal, "--study", "sma_grd"]);
    assert!(
        err.contains("no study `sma_grd`; did you mean `sma_grid`?"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trial_recorded_with_its_backtest_is_left_by_a_later_import() {
    let db = TestDb::new().await;
    let journal = fixture("journal.log");
    let backtest = r#"{"strategy": "any", "dataset": "any",
        "params": {"fast": 1000, "commission": 0.002},
        "metrics": {"value": 1e9, "bt.trades": 1},
        "equity": [["2024-01-01T00:00:00Z", "100"], ["2024-01-02T00:00:00Z", "104"]],
        "trades": [{"symbol": "SPY", "side": "long", "quantity": "1",
                    "entry_time": "2024-01-01T00:00:00Z", "entry_price": "100",
                    "exit_time": "2024-01-02T00:00:00Z", "exit_price": "104"}]}"#;
    let attach = [
        "import", "optuna", &journal, "--study", "sma_grid", "--trial", "0",
    ];
    let out = btdb(
        &db,
        &[&attach[..], &["--attach", "-"]].concat(),
        Some(backtest),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = exported(&db).remove("optuna:sma_grid:0").expect("trial 0");
    // The trial's own parameters and value win; the backtest adds what the trial lacks.
    assert_eq!(doc["params"]["fast"], 5);
    assert_eq!(doc["params"]["commission"], 0.002);
    assert_ne!(doc["metrics"]["value"], 1e9);
    assert_eq!(doc["metrics"]["bt.trades"], 1.0);
    assert_eq!(doc["trades"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["equity"].as_array().map(Vec::len), Some(2));
    assert!(
        doc["tags"]
            .as_array()
            .expect("tags")
            .contains(&"optuna.backtest".into())
    );
    // btdb's own metrics come from the attached curve.
    let show = json(&ok(
        &db,
        &["show", "--key", "optuna:sma_grid:0", "--format", "json"],
    ));
    let total_return = show["metrics"]["total_return"]
        .as_f64()
        .expect("total_return");
    assert!((total_return - 0.04).abs() < 1e-12, "{total_return}");

    // The whole study now: the trial with its backtest is left as it is, and said.
    let out = btdb(
        &db,
        &[
            "import", "optuna", &journal, "--study", "sma_grid", "--format", "json",
        ],
        None,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 trial already recorded with its backtest"),
        "{stderr}"
    );
    let after = exported(&db).remove("optuna:sma_grid:0").expect("trial 0");
    assert_eq!(after, doc);

    // A trial of no one study, or one still running, is refused in one line.
    let err = fails(
        &db,
        &[
            "import",
            "optuna",
            &journal,
            "--trial",
            "0",
            "--study",
            "sma_grid",
            "--study",
            "momentum_pareto",
        ],
    );
    assert!(err.contains("--trial names a trial of one study"), "{err}");
    let err = fails(
        &db,
        &[
            "import", "optuna", &journal, "--study", "sma_grid", "--trial", "40",
        ],
    );
    assert!(
        err.contains("trial 40 of study `sma_grid` is a running trial"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watching_a_study_records_its_trials_as_they_finish() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("optuna-watch");
    let path = dir.join("journal.log");
    let journal = std::fs::read_to_string(fixture("journal.log")).expect("journal");
    let lines: Vec<&str> = journal.lines().collect();
    // The study as it stood a third of the way in.
    let (before, after) = lines.split_at(lines.len() / 3);
    std::fs::write(&path, before.join("\n") + "\n").expect("write");
    let runs = |db: &TestDb| -> usize { ok(db, &["export"]).lines().count() };
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args([
            "import",
            "optuna",
            path.to_str().expect("path"),
            "--watch",
            "0.2",
            "-q",
        ])
        .env("DATABASE_URL", db.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("btdb import --watch");
    let until = |want: &dyn Fn(usize) -> bool| {
        let deadline = std::time::Instant::now() + common::TIMEOUT;
        loop {
            let n = runs(&db);
            if want(n) {
                return n;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{n} runs after {:?}",
                common::TIMEOUT
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let early = until(&|n| n > 0);
    // The rest of the study is written: its trials arrive without another command.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    std::io::Write::write_all(&mut file, (after.join("\n") + "\n").as_bytes()).expect("append");
    drop(file);
    let all = until(&|n| n == 64);
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(early < all, "{early} then {all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_study_s_runs_takes_their_intermediate_values() {
    let db = TestDb::new().await;
    ok(&db, &["import", "optuna", &fixture("journal.log")]);
    let left = |db: &TestDb| {
        ok(db, &["export"])
            .lines()
            .map(json)
            .map(|d| d["intermediate"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    };
    let before = left(&db);
    assert!(before > 0);
    let deleted = json(&ok(
        &db,
        &[
            "delete", "--sweep", "sma_grid", "--yes", "--prune", "--format", "json",
        ],
    ));
    assert_eq!(deleted["intermediate_values"].as_u64(), Some(before as u64));
    // None is left behind: the other study reported none.
    let rows: Vec<Count> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT count(*) AS n FROM intermediate_values"),
        &mut db.conn().await,
    )
    .await
    .expect("counting");
    assert_eq!(rows[0].n, 0);
    assert_eq!(left(&db), 0);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
