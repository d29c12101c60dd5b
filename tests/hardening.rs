//! Input that once crashed or stopped btdb, and its answers now: `--where` past its bounds, a
//! closed standard output, a number that is both an id and a run_key, a server error btdb has
//! no words of its own for, metric values that overflowed every ranking, a FIFO given as a
//! store.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, fails, ok, page_ids, text};
use diesel_async::SimpleAsyncConnection;
use serde_json::{Value, json};

/// A database holding the ranking fixture (25 runs of 3 strategies).
async fn recorded() -> TestDb {
    let db = TestDb::new().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    ok(&db, &["record", "--jobs", "1", "-q", fixture]);
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn where_past_its_bounds_fails_in_one_line_and_at_its_bounds_answers_like_the_plain_condition()
 {
    let db = recorded().await;
    // 30,000 parentheses: this aborted the process with a stack overflow (exit 134).
    let deep = format!("{}sharpe > 1{}", "(".repeat(30_000), ")".repeat(30_000));
    let err = fails(&db, &["rank", "--where", &deep]);
    assert!(
        err.contains("--where at column 33: parentheses and `not` nest more than 32 deep"),
        "{err}"
    );
    let nots = format!("{}sharpe > 1", "not ".repeat(20_000));
    fails(&db, &["runs", "--where", &nots]);
    let many = (0..101)
        .map(|i| format!("sharpe > {i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let err = fails(&db, &["runs", "--where", &many]);
    assert!(err.contains("more than 100 comparisons"), "{err}");

    // The deepest nesting and the longest chain allowed reach the server and select exactly
    // what the plain condition does.
    let plain = page_ids(&ok(
        &db,
        &["runs", "--format", "json", "--where", "sharpe > 0.5"],
    ));
    assert!(!plain.is_empty() && plain.len() < 25, "{plain:?}");
    let nested = format!("{}sharpe > 0.5{}", "(".repeat(32), ")".repeat(32));
    // `sharpe > 0.5 or sharpe > 1001 or …`: 99 terms that select nothing more.
    let chain = std::iter::once("sharpe > 0.5".to_owned())
        .chain((1..100).map(|i| format!("sharpe > {}", 1000 + i)))
        .collect::<Vec<_>>()
        .join(" or ");
    let not_not = format!("{}sharpe > 0.5", "not not ".repeat(15));
    for condition in [nested, chain, not_not] {
        let out = ok(&db, &["runs", "--format", "json", "--where", &condition]);
        assert_eq!(page_ids(&out), plain, "{}", &condition[..60]);
        ok(&db, &["rank", "--where", &condition]);
        ok(
            &db,
            &["explain", "--no-analyze", "rank", "--where", &condition],
        );
    }
}

/// Runs `btdb ARGS` with its standard output closed before it writes anything: every command
/// must end as if the reader had read it all.
fn with_stdout_closed(db: &TestDb, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running btdb");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("btdb output");
    let err = text(&out.stderr);
    assert!(out.status.success(), "btdb {args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_standard_output_ends_every_command_quietly() {
    let db = recorded().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    let id = page_ids(&ok(&db, &["runs", "--format", "json"]))[0].to_string();
    let commands: &[&[&str]] = &[
        &["explain", "rank"],
        &["explain", "--format", "json", "runs"],
        &["runs", "--format", "csv"],
        &["runs"],
        &["rank", "--format", "json"],
        &["rank", "--runs"],
        &["compare", "--strategy", "alpha", "--x", "fast"],
        &["show", &id, "--trades"],
        &["record", "-q", fixture],
        &["record", "-q", "--format", "json", fixture],
        &["doctor"],
        &["db", "url"],
        &["db", "status"],
        &["gen", "--runs", "2000"],
        &["schema"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in commands {
        with_stdout_closed(&db, args);
    }
    // As a shell runs them: the first line, and a clean exit of btdb itself.
    for command in ["explain rank", "runs --format csv"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "\"$BTDB\" {command} | head -1; exit ${{PIPESTATUS[0]}}"
            ))
            .env("BTDB", env!("CARGO_BIN_EXE_btdb"))
            .env("DATABASE_URL", db.url())
            .output()
            .expect("bash");
        assert!(out.status.success(), "{command}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 1, "{command}");
    }
}

fn record_one(db: &TestDb, doc: &Value) {
    let out = btdb(db, &["record", "-q", "-"], Some(&doc.to_string()));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn shown(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["show", "--format", "json"];
    all.extend(args);
    serde_json::from_str(&ok(db, &all)).expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn show_takes_an_id_or_a_key_and_says_when_a_number_is_both() {
    let db = TestDb::new().await;
    let doc = |key: &str| json!({"run_key": key, "strategy": "s", "dataset": "d", "metrics": {"sharpe": 1}});
    record_one(&db, &doc("first"));
    let first = shown(&db, &["--key", "first"])["id"].as_i64().expect("id");
    // A second run whose run_key is the first run's id.
    record_one(&db, &doc(&first.to_string()));
    let second = shown(&db, &["--key", &first.to_string()])["id"]
        .as_i64()
        .expect("id");
    assert_ne!(first, second);

    let out = btdb(&db, &["show", &first.to_string()], None);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with(&format!("run              {first} (first)")),
        "{}",
        text(&out.stdout)
    );
    let note = text(&out.stderr);
    assert!(
        note.contains(&format!(
            "`{first}` is also the run_key of run {second}; this is run {first}: btdb show --key {first} shows the other"
        )),
        "{note}"
    );
    // No note where the number names one run only.
    let out = btdb(&db, &["show", &second.to_string()], None);
    assert!(out.status.success() && text(&out.stderr).is_empty());

    // A number that is no id but is a run_key: the error says how to reach it.
    record_one(&db, &doc("900001"));
    let err = fails(&db, &["show", "900001"]);
    let third = shown(&db, &["--key", "900001"])["id"].clone();
    assert_eq!(
        err.trim(),
        format!(
            "error: no run with id 900001; run {third} has the run_key `900001`: btdb show --key 900001"
        )
    );
    let err = fails(&db, &["show", "900002"]);
    assert_eq!(err.trim(), "error: no run with id 900002");
    // Neither or both: clap's usage error.
    assert_eq!(btdb(&db, &["show"], None).status.code(), Some(2));
    assert_eq!(
        btdb(&db, &["show", "1", "--key", "x"], None).status.code(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_btdb_does_not_recognise_ends_in_one_line_with_the_servers_message() {
    let db = recorded().await;
    let mut conn = db.conn().await;
    conn.batch_execute("ALTER TABLE metrics RENAME TO metrics_gone")
        .await
        .expect("rename");
    let err = fails(&db, &["rank"]);
    assert!(
        err.contains(r#"relation "metrics" does not exist"#),
        "{err}"
    );
}

/// The strategies of `no_finite_value_stops_a_ranking_or_the_fold`: every value of the metric
/// `x` random bits, or the extremes, or ordinary numbers.
const WILD: [&str; 4] = ["bits_a", "bits_b", "extremes", "ordinary"];

/// The values of `x` of each (strategy, data set).
type Values = BTreeMap<(String, String), Vec<f64>>;

/// The documents of every run, on two data sets, and the values of `x` they carry.
fn wild_documents() -> (Vec<Value>, Values) {
    let mut bits = Bits::new(0x6272_6963_6b73);
    let mut docs = Vec::new();
    let mut values = Values::new();
    for strategy in WILD {
        for (d, dataset) in ["d1", "d2"].iter().enumerate() {
            let runs = 9 + d; // an odd and an even count: both kinds of median
            for i in 0..runs {
                let x = match strategy {
                    "extremes" => EXTREMES[(i + d * 5) % EXTREMES.len()],
                    "ordinary" => (i as f64 - 4.0) * 0.37,
                    _ => bits.finite(),
                };
                let sharpe = bits.finite();
                values
                    .entry((strategy.to_owned(), (*dataset).to_owned()))
                    .or_default()
                    .push(x);
                docs.push(json!({
                    "run_key": format!("{strategy}:{dataset}:{i}"),
                    "strategy": strategy,
                    "dataset": dataset,
                    "params": {"p": i % 3},
                    "metrics": {"x": x, "sharpe": sharpe},
                }));
            }
        }
    }
    (docs, values)
}

/// The expected score of `values` ranked by `by`, and how far the answer may be from it: a
/// sum's rounding (mean), one halving (median), none otherwise.
fn expected(by: &str, values: &[f64]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let largest = sorted.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    match by {
        "best" => (sorted[n - 1], 0.0),
        "worst" => (sorted[0], 0.0),
        "count" => (n as f64, 0.0),
        "median" if n % 2 == 1 => (sorted[n / 2], 0.0),
        "median" => {
            let (lo, hi) = (sorted[n / 2 - 1], sorted[n / 2]);
            (
                lo / 2.0 + hi / 2.0,
                f64::EPSILON * lo.abs().max(hi.abs()) + 1e-323,
            )
        }
        // Summed as 128-bit fixed point would need 2,100 bits: halves keep the sum finite,
        // and the error bound is the sum's, n roundings of the largest value.
        _ => {
            let half_sum: f64 = sorted.iter().map(|v| v / 2.0).sum();
            (
                half_sum / n as f64 * 2.0,
                n as f64 * f64::EPSILON * largest + 1e-323,
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_finite_value_stops_a_ranking_or_the_fold() {
    let db = TestDb::new().await;
    let (docs, values) = wild_documents();
    let lines: Vec<String> = docs.iter().map(Value::to_string).collect();
    let out = btdb(&db, &["record", "-"], Some(&lines.join("\n")));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The fold finished: nothing left for rankings to count from the runs.
    assert!(!err.contains("not brought up to date"), "{err}");
    let mut conn = db.conn().await;
    assert_eq!(
        common::count(
            &mut conn,
            "SELECT count(*) AS n FROM metric_summary_changes"
        )
        .await,
        0
    );

    for by in ["best", "mean", "median", "worst", "count"] {
        for dataset in [None, Some("d1"), Some("d2")] {
            let mut args = vec!["rank", "--metric", "x", "--by", by, "--min-runs", "1"];
            args.extend(["--format", "json"]);
            if let Some(d) = dataset {
                args.extend(["--dataset", d]);
            }
            let ranked: Value = serde_json::from_str(&ok(&db, &args)).expect("json");
            let ranked = ranked.as_array().expect("a ranking");
            assert_eq!(ranked.len(), WILD.len(), "{by} {dataset:?}");
            for row in ranked {
                let strategy = row["strategy"]["name"].as_str().expect("name");
                let pooled: Vec<f64> = values
                    .iter()
                    .filter(|((s, d), _)| s == strategy && dataset.is_none_or(|want| want == d))
                    .flat_map(|(_, v)| v.iter().copied())
                    .collect();
                let (want, tolerance) = expected(by, &pooled);
                let got = row["score"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{by} {dataset:?} {strategy}: {}", row["score"]));
                assert!(
                    got.is_finite() && (got - want).abs() <= tolerance,
                    "{by} {dataset:?} {strategy}: {got:e}, want {want:e} ± {tolerance:e}"
                );
            }
        }
    }
    // The deflated Sharpe ratio's variance of random Sharpe ratios, and a sweep compared.
    ok(
        &db,
        &[
            "rank",
            "--metric",
            "sharpe",
            "--deflated",
            "--format",
            "json",
        ],
    );
    let compared: Value = serde_json::from_str(&ok(
        &db,
        &[
            "compare",
            "--strategy",
            "bits_a",
            "--x",
            "p",
            "--metric",
            "x",
            "--format",
            "json",
        ],
    ))
    .expect("json");
    for cell in compared["pivot"]["cells"][0].as_array().expect("cells") {
        assert!(cell["mean"].as_f64().is_some_and(f64::is_finite), "{cell}");
    }

    // The web view ranks them too: one run of 1.7e308 once made every ranking by mean a 503.
    let server = common::serve::Server::start(db.url(), &["--no-cache"]);
    for by in ["mean", "median"] {
        let answer = server.json(&format!("/api/rank?metric=x&by={by}"));
        assert_eq!(
            answer.as_array().map(Vec::len),
            Some(WILD.len()),
            "{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_given_as_a_store_is_refused_not_waited_on() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("fifo-store");
    let fifo = dir.join("backtest-result-2026-01-01_00-00-00.zip");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let shown = fifo.display().to_string();
    let uri = format!("sqlite:///{shown}");
    for args in [
        vec!["import", "freqtrade", shown.as_str()],
        vec!["import", "mlflow", "--tracking-uri", uri.as_str()],
    ] {
        // Opening a FIFO to read waits for a writer: a regression would hang, so the test
        // gives up after 20 s instead.
        let mut child = Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(&args)
            .env("DATABASE_URL", db.url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("btdb");
        let started = std::time::Instant::now();
        while child.try_wait().expect("waiting").is_none() {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                let _ = child.kill();
                panic!("btdb {args:?} waited on the FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("output");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err.trim(),
            format!(
                "error: {shown}: a FIFO (named pipe), where a store is read from a regular file \
                 (save the stream to one first)"
            ),
            "{args:?}"
        );
    }
}
