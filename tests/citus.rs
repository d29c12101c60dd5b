//! btdb on a local Citus cluster (a coordinator and two workers, `common::citus`): every
//! command answers as it does on one server, recording stays idempotent across shards, and
//! `explain` shows the distributed plan. Skipped, with one line saying why, where Citus is not
//! installed; the `--citus` refusal runs everywhere.

mod common;

use std::path::Path;
use std::process::Output;

use common::TestDb;
use common::citus::CitusDb;
use common::cli::{btdb_at, ok_at, text};
use common::serve::Server;
use serde_json::Value;

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

/// A JSON answer without what differs between two databases holding the same runs: the time
/// each was recorded, and the ids of parameter sets (Citus numbers the sets a multi-row
/// insert creates in an order of its own; they are compared by their parameters).
fn answer(url: &str, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let json: Value = serde_json::from_str(&ok_at(url, &args))
        .unwrap_or_else(|e| panic!("btdb {args:?}: not JSON: {e}"));
    without(without(json, "recorded_at"), "parameter_set_id")
}

/// `value` without the field `key`, at any depth.
fn without(mut value: Value, key: &str) -> Value {
    fn strip(value: &mut Value, key: &str) {
        match value {
            Value::Object(map) => {
                map.remove(key);
                map.values_mut().for_each(|v| strip(v, key));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| strip(v, key)),
            _ => {}
        }
    }
    strip(&mut value, key);
    value
}

/// `value` without the ids of the strategies it names (objects with `id`, `name` and
/// `version`), at any depth.
fn strip_strategy_ids(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("name") && map.contains_key("version") {
                map.remove("id");
            }
            map.values_mut().for_each(strip_strategy_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_strategy_ids),
        _ => {}
    }
}

/// Equal answers, numbers to 1e-12 relative: each worker sums its shards' values and the
/// coordinator sums the sums, so a mean may differ from one server's in its last bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Each of `commands` answers the same on one server and on Citus.
fn assert_same_answers(single: &str, citus: &str, commands: &[Vec<&str>]) {
    for args in commands {
        let (one, distributed) = (answer(single, args), answer(citus, args));
        assert!(
            same(&one, &distributed),
            "btdb {args:?} answers otherwise on Citus:\n{one}\n{distributed}"
        );
        assert_ne!(one, Value::Null, "btdb {args:?}");
    }
}

/// The fixtures, one run at a time so that both databases give the runs the same ids.
fn record_fixtures(url: &str) {
    for file in [
        "rank/runs.jsonl",
        "good/sweep.jsonl",
        "good/sma_cross_run.json",
        "pbo/sweep.jsonl",
    ] {
        let out = ok_at(url, &["record", "--jobs", "1", &fixture(file)]);
        assert!(out.contains("failed 0"), "{file}: {out}");
    }
}

/// The fixtures on a Citus database and on one server (`None` without Citus), and the id of
/// their run with trades and an equity curve.
async fn fixtures_on_both() -> Option<(CitusDb, TestDb, i64)> {
    let citus = CitusDb::new().await?;
    let single = TestDb::new().await;
    record_fixtures(single.url());
    record_fixtures(citus.url());
    let sma = answer(single.url(), &["runs", "--strategy", "sma_cross"])["runs"][0]["id"]
        .as_i64()
        .expect("the sma_cross run's id");
    Some((citus, single, sma))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_answers_on_citus_as_on_one_server() {
    let Some((citus, single, sma)) = fixtures_on_both().await else {
        return;
    };
    let sma = sma.to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["rank", "--metric", "sharpe"],
        vec!["rank", "--metric", "sharpe", "--by", "worst"],
        vec!["rank", "--metric", "sharpe", "--by", "mean"],
        vec!["rank", "--metric", "sharpe", "--by", "median"],
        vec!["rank", "--metric", "sharpe", "--by", "count"],
        vec![
            "rank",
            "--metric",
            "sharpe",
            "--by",
            "best",
            "--min-runs",
            "3",
        ],
        vec![
            "rank",
            "--metric",
            "volatility",
            "--asc",
            "--dataset",
            "IS-2020",
        ],
        vec!["rank", "--metric", "sharpe", "--runs", "--top", "7"],
        vec!["rank", "--metric", "sharpe", "--runs", "--psr"],
        vec!["rank", "--deflated"],
        vec!["rank", "--metric", "sharpe", "--where", "params.fast = 5"],
        vec![
            "rank",
            "--metric",
            "sharpe",
            "--by",
            "median",
            "--where",
            "sharpe > 0",
        ],
        vec!["rank", "--metric", "sharpe", "--tag", "golden"],
        vec!["rank", "--metric", "sharpe", "--sweep", "grid-1"],
        vec![
            "compare",
            "--strategy",
            "alpha",
            "--x",
            "fast",
            "--y",
            "slow",
        ],
        vec!["compare", "--strategy", "alpha", "--x", "fast"],
        vec![
            "compare",
            "--strategy",
            "alpha",
            "--is",
            "IS-2020",
            "--oos",
            "OOS-2021",
        ],
        vec![
            "compare",
            "--strategy",
            "pbo_sweep",
            "--dataset",
            "PBO-1d",
            "--pbo",
            "--partitions",
            "4",
        ],
        vec!["runs"],
        vec!["runs", "--limit", "5", "--after", "20"],
        vec!["runs", "--strategy", "beta", "--dataset", "OOS-2021"],
        vec!["runs", "--status", "failed"],
        vec!["show", "3"],
        vec!["show", "--key", "rank:7"],
        vec!["show", &sma, "--trades", "--equity"],
    ];
    assert_same_answers(single.url(), citus.url(), &commands);
    // The rankings above are not empty answers that agree by accident.
    let ranked = answer(
        citus.url(),
        &["rank", "--metric", "sharpe", "--by", "median"],
    );
    // alpha, beta, gamma, delta (rank), momentum, sma_cross (good) and pbo_sweep.
    assert_eq!(ranked.as_array().map(Vec::len), Some(7), "{ranked}");
}

/// `btdb serve` on Citus gives one server's answers, and its pages render there, the runs
/// page offering the data sets as it does on one server.
#[tokio::test(flavor = "multi_thread")]
async fn the_web_view_answers_on_citus_as_on_one_server() {
    let Some((citus, single, sma)) = fixtures_on_both().await else {
        return;
    };
    let (one, many) = (
        Server::start(single.url(), &[]),
        Server::start(citus.url(), &[]),
    );
    for path in [
        "/api/rank?metric=sharpe&by=median".to_owned(),
        "/api/rank?metric=sharpe&runs&top=7".to_owned(),
        "/api/compare?strategy=alpha&x=fast&y=slow".to_owned(),
        "/api/runs?limit=5&after=20".to_owned(),
        "/api/strategies/alpha".to_owned(),
        format!("/api/runs/{sma}"),
        format!("/api/runs/{sma}/trades"),
        format!("/api/side-by-side?id=3&id={sma}&id=1"),
    ] {
        let expected = without(one.json(&path), "recorded_at");
        let got = without(many.json(&path), "recorded_at");
        assert!(
            same(&expected, &got),
            "GET {path} answers otherwise on Citus:\n{expected}\n{got}"
        );
    }
    for path in [
        "/".to_owned(),
        "/strategies/alpha".to_owned(),
        format!("/runs/{sma}"),
        format!("/side-by-side?id=3&id={sma}"),
    ] {
        many.ok(&path);
    }
    let runs = many.ok("/runs");
    for dataset in ["IS-2020", "OOS-2021", "PBO-1d"] {
        assert!(
            runs.contains(&format!("<option value=\"{dataset}\">")),
            "the runs page on Citus does not offer {dataset}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_the_distributed_plan_and_doctor_runs() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    record_fixtures(citus.url());
    for args in [
        vec!["explain", "rank", "--metric", "sharpe", "--by", "median"],
        vec!["explain", "runs", "--limit", "5"],
        vec!["explain", "compare", "--strategy", "alpha", "--x", "fast"],
    ] {
        let plan = ok_at(citus.url(), &args);
        // Citus's executor is a custom scan node that runs the query on the workers' shards.
        assert!(plan.contains("Custom Scan"), "btdb {args:?}:\n{plan}");
    }
    let status = ok_at(citus.url(), &["db", "status"]);
    assert!(
        status.contains("layout: distributed over Citus"),
        "{status}"
    );
    let doctor = ok_at(citus.url(), &["doctor"]);
    assert!(doctor.contains("cache hit ratio"), "{doctor}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_runs_recorded_at_once_are_stored_once_across_shards() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let file = fixture("rank/runs.jsonl");
    // Four recorders at once, each with two workers, on the same 25 runs.
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
                .args(["record", "--jobs", "2", "--format", "json", &file])
                .env("DATABASE_URL", citus.url())
                .env_remove("RUST_LOG")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("running btdb record")
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("btdb record"))
        .collect();
    let mut recorded = 0;
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let summary: Value = serde_json::from_str(&text(&out.stdout)).expect("a JSON summary");
        assert_eq!(summary["failed"], 0, "{summary}");
        let (new, present) = (
            summary["recorded"].as_i64().expect("recorded"),
            summary["already_present"]
                .as_i64()
                .expect("already_present"),
        );
        assert_eq!(new + present, 25, "{summary}");
        recorded += new;
    }
    assert_eq!(recorded, 25, "every run recorded by exactly one recorder");
    let runs = answer(citus.url(), &["runs", "--limit", "100"]);
    let runs = runs["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 25);
    let mut keys: Vec<&str> = runs.iter().filter_map(|r| r["run_key"].as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 25, "no key stored twice");

    // The same key with other content is refused, and nothing of it is written.
    let original = std::fs::read_to_string(&file).expect("fixture");
    let changed = original
        .lines()
        .next()
        .expect("a run")
        .replace("\"IS-2020\"", "\"OOS-2021\"");
    let out = btdb_at(citus.url(), &["record", "-"], Some(&changed));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("rank:0"),
        "{}",
        text(&out.stderr)
    );
    let after = answer(citus.url(), &["runs", "--limit", "100"]);
    assert_eq!(after["runs"].as_array().map(Vec::len), Some(25));
}

#[tokio::test(flavor = "multi_thread")]
async fn citus_asked_of_a_server_without_it_is_one_line() {
    let db = TestDb::new().await;
    let out = btdb_at(db.url(), &["db", "migrate", "--citus"], None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no citus extension"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migration_citus_cannot_run_is_named_and_changes_nothing() {
    use diesel::{Connection, RunQueryDsl};
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let url = citus.url().to_owned();
    // A table, then a unique constraint without the distribution column, which Citus refuses.
    let pending = [(
        "29991231000000",
        "CREATE TABLE scratch (x int);\n\
         ALTER TABLE runs ADD CONSTRAINT runs_key_unique UNIQUE (run_key);",
    )];
    let (err, left) = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connecting");
        let err = conn
            .transaction(|conn| btdb::db::migrate::apply_statementwise(conn, &pending))
            .expect_err("Citus refuses the constraint")
            .to_string();
        #[derive(diesel::QueryableByName)]
        struct Left {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let left: Left = diesel::sql_query(
            "SELECT (SELECT count(*) FROM pg_class WHERE relname = 'scratch')
                  + (SELECT count(*) FROM __diesel_schema_migrations
                     WHERE version = '29991231000000') AS n",
        )
        .get_result(&mut conn)
        .expect("looking");
        (err, left.n)
    })
    .await
    .expect("the migration thread");
    assert!(err.contains("29991231000000"), "{err}");
    assert!(
        err.contains("`ALTER TABLE runs ADD CONSTRAINT runs_key_unique UNIQUE (run_key)`"),
        "{err}"
    );
    assert_eq!(left, 0, "nothing of the refused migration is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_holding_runs_is_distributed_and_records_on() {
    let (rank, sweep) = (fixture("rank/runs.jsonl"), fixture("good/sweep.jsonl"));
    // A run with trades and an equity curve, whose partitioned tables move to the shards too.
    let sma = fixture("good/sma_cross_run.json");
    let Some(citus) = CitusDb::holding(&[&rank, &sma]).await else {
        return;
    };
    // The runs recorded before are on the workers now, and the same file again is idempotent.
    let again = ok_at(citus.url(), &["record", &rank]);
    assert!(again.contains("recorded 0, already present 25"), "{again}");
    // New runs, strategies and parameter sets take ids after those already taken.
    let added = ok_at(citus.url(), &["record", "--jobs", "1", &sweep]);
    assert!(added.contains("recorded 3"), "{added}");
    let runs = answer(citus.url(), &["runs", "--limit", "100"]);
    let ids: Vec<i64> = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 29, "{runs}");
    assert_eq!(
        ids[..3],
        [29, 28, 27],
        "the new runs follow the 26 moved ones"
    );
    let single = TestDb::new().await;
    for file in [&rank, &sma, &sweep] {
        ok_at(single.url(), &["record", "--jobs", "1", file]);
    }
    assert_same_answers(
        single.url(),
        citus.url(),
        &[
            vec!["rank", "--metric", "sharpe", "--by", "mean"],
            vec!["runs", "--limit", "100"],
            vec!["compare", "--strategy", "momentum", "--x", "lookback"],
            vec!["show", "26", "--trades", "--equity"],
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_and_delete_work_on_citus_as_on_one_server() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    record_fixtures(single.url());
    record_fixtures(citus.url());
    // The same documents come out of both.
    let exported = |url: &str| ok_at(url, &["export", "--strategy", "alpha"]);
    let documents = exported(single.url());
    let alpha = std::fs::read_to_string(fixture("rank/runs.jsonl"))
        .expect("fixture")
        .lines()
        .filter(|line| line.contains(r#""strategy": "alpha""#))
        .count();
    assert_eq!(documents.lines().count(), alpha, "{documents}");
    assert_eq!(documents, exported(citus.url()));

    // The same deletion on both, its parents pruned: the dry run's counts, then the deletion's.
    for args in [
        &[
            "delete",
            "--strategy",
            "beta",
            "--prune",
            "--dry-run",
            "--format",
            "json",
        ][..],
        &[
            "delete",
            "--strategy",
            "beta",
            "--prune",
            "--yes",
            "--format",
            "json",
        ],
    ] {
        let counts = |url: &str| -> Value {
            serde_json::from_str(&ok_at(url, args)).expect("a JSON deletion")
        };
        let (one, distributed) = (counts(single.url()), counts(citus.url()));
        assert_eq!(one, distributed, "btdb {args:?}");
        assert_eq!(one["runs"], 8, "{one}");
        assert_eq!(one["strategies"], 1, "beta has no run left: {one}");
    }
    assert_same_answers(
        single.url(),
        citus.url(),
        &[
            vec!["runs", "--limit", "100"],
            vec!["rank", "--metric", "sharpe", "--by", "count"],
        ],
    );
    // The deleted runs' keys are free again: recording the file brings back just those.
    let again = ok_at(
        citus.url(),
        &["record", "--jobs", "1", &fixture("rank/runs.jsonl")],
    );
    assert!(again.contains("recorded 8, already present 17"), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn summaries_stay_exact_while_recorders_run_on_citus() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    let dir = common::scratch_dir("citus-summaries");
    // Four files of runs of the same three strategies over two data sets: every recorder
    // changes every group.
    let files: Vec<String> = (1..=4)
        .map(|seed| {
            let path = dir.join(format!("runs-{seed}.jsonl"));
            let path = path.display().to_string();
            let seed = seed.to_string();
            ok_at(
                single.url(),
                &[
                    "gen",
                    "--runs",
                    "300",
                    "--strategies",
                    "3",
                    "--params",
                    "40",
                    "--trades",
                    "2",
                    "--equity",
                    "20",
                    "--seed",
                    &seed,
                    "-o",
                    &path,
                ],
            );
            path
        })
        .collect();
    for file in &files {
        ok_at(single.url(), &["record", "--jobs", "1", file]);
    }
    // The first file alone, so that the strategies get the ids they have on one server (ties
    // in a ranking go to the lower id); the others by three recorders at once.
    ok_at(citus.url(), &["record", "--jobs", "1", &files[0]]);
    let recorders: Vec<_> = files[1..]
        .iter()
        .map(|file| {
            std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
                .args(["record", "--jobs", "2", "-q", file])
                .env("DATABASE_URL", citus.url())
                .env_remove("RUST_LOG")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("running btdb record")
        })
        .collect();
    // Rankings answer while the recorders write and fold.
    for _ in 0..5 {
        ok_at(
            citus.url(),
            &["rank", "--metric", "sharpe", "--by", "median"],
        );
    }
    for recorder in recorders {
        let out = recorder.wait_with_output().expect("btdb record");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let mut conn = btdb::db::establish(citus.url(), common::TIMEOUT)
        .await
        .expect("connecting to the coordinator");
    assert_folded_and_same(&mut conn, single.url(), citus.url()).await;
    // A deletion changes every group too.
    for url in [single.url(), citus.url()] {
        ok_at(url, &["delete", "--sweep", "gen-2", "--yes"]);
    }
    assert_folded_and_same(&mut conn, single.url(), citus.url()).await;
}

/// No note is left on Citus, so that its rankings come from the summaries alone, and every
/// order (pooled, per data set, with `--min-runs`) answers as on one server.
async fn assert_folded_and_same(
    conn: &mut diesel_async::AsyncPgConnection,
    single: &str,
    citus: &str,
) {
    #[derive(diesel::QueryableByName)]
    struct Left {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Left = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM metric_summary_changes"),
        conn,
    )
    .await
    .expect("counting notes");
    assert_eq!(left.n, 0, "every note folded");
    for by in ["best", "mean", "median", "worst", "count"] {
        let commands = [
            vec!["rank", "--metric", "sharpe", "--by", by],
            vec![
                "rank",
                "--metric",
                "max_drawdown",
                "--asc",
                "--by",
                by,
                "--dataset",
                "DS1-1d",
            ],
            vec![
                "rank",
                "--metric",
                "sharpe",
                "--by",
                by,
                "--min-runs",
                "250",
            ],
        ];
        for args in &commands {
            // Run ids differ: the recorders on Citus took them in another order.
            let (one, distributed) = (
                without(answer(single, args), "id"),
                without(answer(citus, args), "id"),
            );
            assert!(
                same(&one, &distributed),
                "btdb {args:?} answers otherwise on Citus:\n{one}\n{distributed}"
            );
            assert!(one.as_array().is_some_and(|s| !s.is_empty()), "{one}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn extreme_values_fold_and_rank_on_citus_as_on_one_server() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    // Means whose sums overflow a float, medians of values far apart across zero, subnormals.
    let max = f64::MAX;
    let groups: [(&str, &[f64]); 3] = [
        ("huge", &[max, max, 1.7e308, 1e300, 1.0]),
        ("across", &[max, -max, 1.0, -max]),
        (
            "tiny",
            &[5e-324, 1e-323, f64::MIN_POSITIVE, -0.0, 0.0, 5e-324],
        ),
    ];
    let mut lines = Vec::new();
    for (strategy, values) in groups {
        for dataset in ["d1", "d2"] {
            for (i, x) in values.iter().enumerate() {
                lines.push(
                    serde_json::json!({
                        "run_key": format!("{strategy}:{dataset}:{i}"),
                        "strategy": strategy,
                        "dataset": dataset,
                        "metrics": {"x": x},
                    })
                    .to_string(),
                );
            }
        }
    }
    for url in [single.url(), citus.url()] {
        let out = btdb_at(
            url,
            &["record", "--jobs", "1", "-"],
            Some(&lines.join("\n")),
        );
        let err = text(&out.stderr);
        assert!(
            out.status.success() && !err.contains("not brought up to date"),
            "{err}"
        );
    }
    let mut conn = btdb::db::establish(citus.url(), common::TIMEOUT)
        .await
        .expect("connecting to the coordinator");
    assert_eq!(
        common::count(
            &mut conn,
            "SELECT count(*) AS n FROM metric_summary_changes"
        )
        .await,
        0,
        "every note folded"
    );
    // Noted groups are aggregated from the workers' rows: a note on every group of one
    // strategy keeps them so for the rankings below.
    diesel_async::SimpleAsyncConnection::batch_execute(
        &mut conn,
        "INSERT INTO metric_summary_changes (strategy_id, dataset) \
         SELECT id, d FROM strategies, (VALUES ('d1'), ('d2')) v(d) WHERE name = 'across'",
    )
    .await
    .expect("noting a strategy");
    for by in ["best", "mean", "median", "worst", "count"] {
        for dataset in [None, Some("d1")] {
            let mut args = vec!["rank", "--metric", "x", "--by", by, "--min-runs", "1"];
            args.extend(dataset.map(|d| ["--dataset", d]).into_iter().flatten());
            let (one, distributed) = (
                without(answer(single.url(), &args), "id"),
                without(answer(citus.url(), &args), "id"),
            );
            assert_eq!(one.as_array().map(Vec::len), Some(3), "{args:?}: {one}");
            assert!(
                same(&one, &distributed),
                "btdb {args:?} answers otherwise on Citus:\n{one}\n{distributed}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_on_citus_and_ranks_as_on_one_server() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    let out = |url: &str| {
        let dir = common::scratch_dir("citus-demo");
        let printed = ok_at(
            url,
            &[
                "demo",
                "--out",
                dir.to_str().expect("a path"),
                "--format",
                "json",
            ],
        );
        serde_json::from_str::<Value>(&printed)
            .unwrap_or_else(|e| panic!("the demo's JSON: {e}: {printed}"))
    };
    // What differs between two databases and two folders: times, ids and paths.
    let comparable = |mut answer: Value| {
        for key in [
            "recorded_at",
            "id",
            "parameter_set_id",
            "heatmap",
            "runs_folder",
        ] {
            answer = without(answer, key);
        }
        answer
    };
    let (one, distributed) = (comparable(out(single.url())), comparable(out(citus.url())));
    for part in ["ranking", "out_of_sample", "overfitting", "recorded"] {
        assert!(
            same(&one[part], &distributed[part]),
            "the demo's {part} differs on Citus:\n{}\n{}",
            one[part],
            distributed[part]
        );
    }
    // A listing and a ranking, through a reader that knows the layout (the demo recorded in
    // parallel, so ids differ: runs compare by key).
    let keys = |url: &str| {
        let page = answer(url, &["runs", "--strategy", "sma_cross", "--limit", "500"]);
        let mut keys: Vec<String> = page["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["run_key"].as_str().expect("key").to_owned())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(single.url()).len(), 120);
    assert_eq!(keys(single.url()), keys(citus.url()));
    let ranked = |url: &str| {
        without(
            answer(url, &["rank", "--metric", "sharpe", "--by", "median"]),
            "id",
        )
    };
    assert!(same(&ranked(single.url()), &ranked(citus.url())));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_optuna_study_imports_ranks_and_deletes_on_citus_as_on_one_server() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    let journal = fixture("real/optuna/journal.log");
    for url in [single.url(), citus.url()] {
        let out = ok_at(url, &["import", "optuna", &journal]);
        assert!(
            out.contains("recorded 64, already present 0, failed 0"),
            "{out}"
        );
    }
    // `import` records with two threads, which may both create a study's strategy: the insert
    // that finds it made takes a sequence value all the same, so strategy ids may differ
    // between the databases. Strategies are compared by name and version.
    let by_name = |url: &str, args: &[&str]| {
        let mut answer = answer(url, args);
        strip_strategy_ids(&mut answer);
        answer
    };
    for args in [
        // A study's minimised metric, its declared direction read on the coordinator.
        &["rank", "--metric", "max_drawdown", "--runs"][..],
        &["rank", "--metric", "value"],
        &["runs", "--status", "pruned", "--limit", "100"],
        &["show", "--key", "optuna:sma_grid:1"],
    ] {
        let (one, distributed) = (by_name(single.url(), args), by_name(citus.url(), args));
        assert!(
            same(&one, &distributed),
            "btdb {args:?} answers otherwise on Citus:\n{one}\n{distributed}"
        );
        assert_ne!(one, Value::Null, "btdb {args:?}");
    }
    assert_eq!(
        ok_at(single.url(), &["export", "--sweep", "sma_grid"]),
        ok_at(citus.url(), &["export", "--sweep", "sma_grid"])
    );
    let delete = ["delete", "--sweep", "sma_grid", "--yes", "--format", "json"];
    let deleted =
        |url: &str| -> Value { serde_json::from_str(&ok_at(url, &delete)).expect("json") };
    let (one, distributed) = (deleted(single.url()), deleted(citus.url()));
    assert_eq!(one, distributed);
    assert!(one["intermediate_values"].as_u64() > Some(0), "{one}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_distributed_before_migration_17_takes_it() {
    use diesel::{Connection, RunQueryDsl};
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let url = citus.url().to_owned();
    // Back to migration 16 on the distributed database, then 17 again.
    let tables = tokio::task::spawn_blocking(move || {
        common::redo_migration(&url, "2026-12-07-000017_keep_trials");
        let mut conn = diesel::PgConnection::establish(&url).expect("connecting");
        #[derive(diesel::QueryableByName)]
        struct Table {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            method: String,
        }
        diesel::sql_query(
            "SELECT logicalrelid::text AS name, partmethod::text AS method FROM pg_dist_partition \
             WHERE logicalrelid::text IN ('intermediate_values', 'metric_directions') ORDER BY 1",
        )
        .load::<Table>(&mut conn)
        .expect("Citus's tables")
        .into_iter()
        .map(|t| (t.name, t.method))
        .collect::<Vec<_>>()
    })
    .await
    .expect("the migration thread");
    // Distributed by hash (co-located with runs), and a reference table.
    assert_eq!(
        tables,
        [
            ("intermediate_values".to_owned(), "h".to_owned()),
            ("metric_directions".to_owned(), "n".to_owned())
        ]
    );
    let out = ok_at(
        citus.url(),
        &["import", "optuna", &fixture("real/optuna/journal.log")],
    );
    assert!(out.contains("recorded 64"), "{out}");
    let ranked = answer(
        citus.url(),
        &["rank", "--metric", "max_drawdown", "--runs", "--top", "1"],
    );
    assert_eq!(ranked[0]["run"]["strategy"]["name"], "momentum_pareto");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_is_replaced_on_citus_as_on_one_server() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    let single = TestDb::new().await;
    let run = |x: u32| {
        format!(
            r#"{{"run_key": "k", "strategy": "s", "dataset": "D", "metrics": {{"sharpe": {x}}},
                "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 10{x}]]}}"#
        )
    };
    for url in [single.url(), citus.url()] {
        let out = btdb_at(url, &["record", "-"], Some(&run(1)));
        assert!(out.status.success(), "{}", text(&out.stderr));
        for x in [2, 3] {
            let out = btdb_at(url, &["record", "-", "--replace"], Some(&run(x)));
            let said = text(&out.stdout);
            assert!(said.contains("replaced 1"), "{said}");
        }
    }
    assert_same_answers(
        single.url(),
        citus.url(),
        &[
            vec!["show", "--key", "k"],
            vec!["rank", "--metric", "sharpe", "--by", "count"],
            vec!["runs"],
        ],
    );
    let ranked = answer(citus.url(), &["rank", "--metric", "sharpe"]);
    assert_eq!(ranked[0]["score"].as_f64(), Some(3.0), "{ranked}");
}

/// Migration 20 on a database distributed before it: `metric_sets` becomes a reference table
/// before the distributed runs refer to it, every run's metric row is filled on its shard, and
/// the listings that read them answer as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_distributed_before_migration_20_takes_it() {
    use diesel::{Connection, RunQueryDsl};
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    record_fixtures(citus.url());
    let listings = [
        vec!["runs", "--limit", "100"],
        vec!["runs", "--strategy", "alpha", "--sort", "sharpe"],
        vec!["rank", "--metric", "sharpe", "--runs"],
    ];
    let before: Vec<Value> = listings.iter().map(|a| answer(citus.url(), a)).collect();
    let url = citus.url().to_owned();
    let method = tokio::task::spawn_blocking(move || {
        common::redo_migration(&url, "2026-12-07-000020_metric_rows");
        #[derive(diesel::QueryableByName)]
        struct Method {
            #[diesel(sql_type = diesel::sql_types::Text)]
            method: String,
        }
        let mut conn = diesel::PgConnection::establish(&url).expect("connecting");
        diesel::sql_query(
            "SELECT partmethod::text AS method FROM pg_dist_partition \
             WHERE logicalrelid = 'metric_sets'::regclass",
        )
        .get_result::<Method>(&mut conn)
        .expect("metric_sets in Citus's catalog")
        .method
    })
    .await
    .expect("the migration thread");
    assert_eq!(method, "n", "metric_sets is a reference table");
    for (args, before) in listings.iter().zip(before) {
        assert_eq!(answer(citus.url(), args), before, "btdb {args:?}");
    }
    // And recording goes on, with a list of metric names the migration did not see.
    let run = r#"{"run_key": "new", "strategy": "alpha", "dataset": "D", "metrics": {"zeta": 2}}"#;
    let out = btdb_at(citus.url(), &["record", "-"], Some(run));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = answer(citus.url(), &["runs", "--limit", "1"]);
    assert_eq!(
        listed["runs"][0]["metrics"],
        serde_json::json!({"zeta": 2.0})
    );
}

/// Migration 21 on a database distributed before it: the trials' columns join the summaries
/// after the Citus fold's own, which names its columns, so recording folds on; rankings count
/// the trials from the runs there, as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_distributed_before_migration_21_takes_it() {
    let Some(citus) = CitusDb::new().await else {
        return;
    };
    record_fixtures(citus.url());
    // (strategy, best value, trials, expected maximum) in rank order. The variance's sum
    // meets the shards' rows in any order, so its last digits may differ between two asks.
    let ranked = || -> Vec<(String, f64, i64, f64)> {
        let deflated = [
            "rank",
            "--metric",
            "sharpe",
            "--deflated",
            "--min-runs",
            "1",
        ];
        answer(citus.url(), &deflated)
            .as_array()
            .expect("ranked strategies")
            .iter()
            .map(|row| {
                (
                    row["strategy"]["name"].to_string(),
                    row["best_value"].as_f64().expect("best value"),
                    row["deflated"]["trials"].as_i64().expect("trials"),
                    row["deflated"]["expected_max_sharpe"]
                        .as_f64()
                        .unwrap_or(-1.0),
                )
            })
            .collect()
    };
    let same = |a: &[(String, f64, i64, f64)], b: &[(String, f64, i64, f64)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| (&a.0, a.1, a.2) == (&b.0, b.1, b.2) && (a.3 - b.3).abs() <= 1e-9)
    };
    let before = ranked();
    let url = citus.url().to_owned();
    tokio::task::spawn_blocking(move || {
        common::redo_migration(&url, "2026-12-07-000021_summarise_trials")
    })
    .await
    .expect("the migration thread");
    let after = ranked();
    assert!(same(&after, &before), "{after:?} against {before:?}");
    // A new parameter set of alpha, its best run: folded, ranked and counted as a trial.
    let run = r#"{"run_key": "new", "strategy": "alpha", "dataset": "IS-2020",
                  "params": {"fast": 99, "slow": 1}, "metrics": {"sharpe": 50}}"#;
    let out = btdb_at(citus.url(), &["record", "-"], Some(run));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let alpha = |ranked: &[(String, f64, i64, f64)]| {
        ranked
            .iter()
            .find(|row| row.0 == "\"alpha\"")
            .map(|row| (row.1, row.2))
            .expect("alpha ranked")
    };
    let (_, trials) = alpha(&before);
    assert_eq!(alpha(&ranked()), (50.0, trials + 1));
}
