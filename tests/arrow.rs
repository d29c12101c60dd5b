//! The machine formats: every command's Arrow schema is the one docs/arrow-output.md lists,
//! CSV, Arrow and Parquet listings carry the same columns and values, and a listing is
//! streamed whole or says where it was cut.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_schema::{DataType, Schema};
use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, fails, ok, text};
use common::figures::csv_table;
use serde_json::{Value, json};

/// A sweep of `fast` × `slow` on two data sets, with trades and an equity curve each, and one
/// run of another strategy whose metric and parameter the sweep lacks.
fn documents() -> Vec<Value> {
    let mut docs = Vec::new();
    for (i, (fast, slow)) in [(5, 50), (10, 50), (5, 100), (10, 100)].iter().enumerate() {
        for dataset in ["IS", "OOS"] {
            let i = i as f64;
            docs.push(json!({
                "run_key": format!("sweep:{fast}:{slow}:{dataset}"),
                "strategy": "sma_cross",
                "params": {"fast": fast, "slow": slow},
                "dataset": dataset,
                "periods_per_year": 252,
                "initial_capital": "1000.50",
                "sweep": "grid",
                "trades": [{
                    "symbol": "AAA", "side": "long", "quantity": "2",
                    "entry_time": "2024-01-02T00:00:00Z", "entry_price": "10.125",
                    "exit_time": "2024-01-03T00:00:00Z", "exit_price": "11", "fees": "0.5"
                }],
                "equity": [
                    ["2024-01-01T00:00:00Z", 1000.5],
                    ["2024-01-02T00:00:00Z", 1000.5 + i],
                    ["2024-01-03T00:00:00Z", 990.25 + 3.0 * i],
                    ["2024-01-04T00:00:00Z", 1010.0 - i],
                ],
            }));
        }
    }
    docs.push(json!({
        "run_key": "other",
        "strategy": {"name": "momentum", "version": "2"},
        "params": {"lookback": 20},
        "dataset": "IS",
        "periods_per_year": 252,
        "metrics": {"only_momentum": 1.5},
        "equity": [["2024-01-01T00:00:00Z", 1], ["2024-01-02T00:00:00Z", 2]],
    }));
    docs
}

async fn recorded() -> TestDb {
    let db = TestDb::new().await;
    let lines: Vec<String> = documents().iter().map(Value::to_string).collect();
    let out = btdb(&db, &["record", "-", "-q"], Some(&lines.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

/// The batches of the Arrow stream `btdb ARGS --format arrow` writes.
fn arrow(db: &TestDb, args: &[&str]) -> (Schema, Vec<RecordBatch>) {
    let mut all = args.to_vec();
    all.extend(["--format", "arrow"]);
    let out = btdb(db, &all, None);
    assert!(out.status.success(), "btdb {all:?}: {}", text(&out.stderr));
    let reader = StreamReader::try_new(Cursor::new(out.stdout), None).expect("an Arrow stream");
    let schema = reader.schema().as_ref().clone();
    let batches = reader.map(|b| b.expect("a batch")).collect();
    (schema, batches)
}

/// Which columns of a schema the docs write as `…`: from the first for which it is true.
type Elided = dyn Fn(usize, &str) -> bool;

/// A type as docs/arrow-output.md writes it.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Utf8 => "utf8".into(),
        DataType::Boolean => "bool".into(),
        DataType::Timestamp(unit, Some(zone)) => {
            format!("timestamp[{unit:?}, {zone}]").replace("Microsecond", "us")
        }
        DataType::Decimal128(precision, _) => format!("decimal128({precision}, S)"),
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        other => format!("{other}"),
    }
}

/// The schema as docs/arrow-output.md lists it: `name: type`, `?` where nullable, the columns
/// from the first `from` on (a listing's parameters and metrics, a grid's values) as `…`.
fn listed(schema: &Schema, from: &Elided) -> String {
    let mut lines = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if from(i, field.name()) {
            lines.push("…".to_owned());
            break;
        }
        let null = if field.is_nullable() { "?" } else { "" };
        lines.push(format!(
            "{}: {}{null}",
            field.name(),
            type_name(field.data_type())
        ));
    }
    lines.join("\n")
}

/// The block of docs/arrow-output.md fenced as ```text NAME.
fn documented(name: &str) -> String {
    let page = include_str!("../docs/arrow-output.md");
    let start = format!("```text {name}\n");
    let at = page
        .find(&start)
        .unwrap_or_else(|| panic!("docs/arrow-output.md has no block `{name}`"))
        + start.len();
    let end = page[at..].find("```").expect("the block's end");
    page[at..at + end].trim_end().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_s_arrow_schema_is_the_one_documented() {
    let db = recorded().await;
    let id = {
        let page: Value =
            serde_json::from_str(&ok(&db, &["runs", "--format", "json", "--limit", "1"]))
                .expect("json");
        page["runs"][0]["id"].to_string()
    };
    let first = ok(
        &db,
        &["runs", "--format", "json", "--strategy", "sma_cross"],
    );
    let sweep_run: Value = serde_json::from_str(&first).expect("json");
    let sweep_run = sweep_run["runs"][0]["id"].to_string();
    let listing =
        |_: usize, name: &str| name.starts_with("params.") || name.starts_with("metrics.");
    let none = |_: usize, _: &str| false;
    let after_one = |i: usize, _: &str| i > 1;
    let cases: Vec<(&str, Vec<&str>, &Elided)> = vec![
        ("runs", vec!["runs", "--limit", "all"], &listing),
        (
            "trades",
            vec!["export", "--table", "trades", &sweep_run],
            &none,
        ),
        ("trades", vec!["show", &sweep_run, "--trades"], &none),
        ("equity", vec!["export", "--table", "equity", &id], &none),
        ("equity", vec!["show", &id, "--equity"], &none),
        ("rank", vec!["rank"], &none),
        ("rank --runs", vec!["rank", "--runs"], &none),
        (
            "compare --x",
            vec!["compare", "--strategy", "sma_cross", "--x", "fast"],
            &none,
        ),
        (
            "compare --x --y",
            vec![
                "compare",
                "--strategy",
                "sma_cross",
                "--x",
                "fast",
                "--y",
                "slow",
            ],
            &after_one,
        ),
    ];
    for (block, args, from) in cases {
        let (schema, _) = arrow(&db, &args);
        assert_eq!(
            listed(&schema, from),
            documented(block),
            "btdb {args:?} --format arrow against docs/arrow-output.md `{block}`"
        );
    }
    // Parquet's runs file has the listing's schema.
    let dir = common::scratch_dir("arrow-parquet");
    let out = dir.join("out");
    let path = out.to_str().expect("a path");
    ok(&db, &["export", "--format", "parquet", "-o", path, "-q"]);
    let file = std::fs::File::open(out.join("runs.parquet")).expect("runs.parquet");
    let parquet = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a Parquet file");
    assert_eq!(
        listed(parquet.schema(), &listing),
        documented("runs"),
        "runs.parquet"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_and_arrow_list_the_same_columns_and_values() {
    let db = recorded().await;
    let args = ["runs", "--strategy", "sma_cross", "--limit", "all"];
    let (schema, batches) = arrow(&db, &args);
    let (header, rows) = csv_table(&ok(&db, &[&args[..], &["--format", "csv"]].concat()));
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(header, names);
    // The sweep's own metrics and parameters, not those of the other strategy; no version
    // column, since only the other strategy has a version.
    assert!(header.contains(&"metrics.sharpe".to_owned()), "{header:?}");
    assert!(
        !header
            .iter()
            .any(|h| h.contains("only_momentum") || h.contains("lookback"))
    );
    assert!(!header.contains(&"version".to_owned()));
    assert_eq!(rows.len(), 8);
    let sharpe = batches[0]
        .column_by_name("metrics.sharpe")
        .expect("sharpe")
        .as_primitive::<Float64Type>();
    for (i, row) in rows.iter().enumerate() {
        let cell: f64 = row["metrics.sharpe"].parse().expect("a number");
        assert_eq!(cell.to_bits(), sharpe.value(i).to_bits());
        assert_eq!(row["initial_capital"], "1000.50");
    }
    let fast = batches[0].column_by_name("params.fast").expect("fast");
    assert_eq!(fast.data_type(), &DataType::Int64);
    assert_eq!(fast.null_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_cut_by_its_limit_says_so_and_all_streams_every_run() {
    let db = recorded().await;
    let out = btdb(&db, &["runs", "--format", "csv", "--limit", "3"], None);
    assert!(out.status.success());
    let (_, rows) = csv_table(&text(&out.stdout));
    assert_eq!(rows.len(), 3);
    let err = text(&out.stderr);
    let last = &rows[2]["id"];
    assert!(
        err.contains("the first 3 runs of more") && err.contains(&format!("--after {last}")),
        "{err}"
    );
    // The cursor continues where the cut was.
    let rest = ok(
        &db,
        &["runs", "--format", "csv", "--limit", "all", "--after", last],
    );
    assert_eq!(csv_table(&rest).1.len(), 9 - 3);
    let all = btdb(&db, &["runs", "--format", "csv", "--limit", "all"], None);
    assert_eq!(csv_table(&text(&all.stdout)).1.len(), 9);
    assert!(text(&all.stderr).is_empty(), "{}", text(&all.stderr));
    // Sorted by a metric, the stream keeps the order of the pages.
    let sorted = ok(
        &db,
        &[
            "runs", "--format", "csv", "--limit", "all", "--sort", "sharpe",
        ],
    );
    // Runs without a Sharpe ratio come last: every run is streamed.
    let rows = csv_table(&sorted).1;
    assert_eq!(rows.len(), 9);
    let cells: Vec<&str> = rows.iter().map(|r| r["metrics.sharpe"].as_str()).collect();
    let ranked = cells.iter().take_while(|c| !c.is_empty()).count();
    assert!(cells[ranked..].iter().all(|c| c.is_empty()), "{cells:?}");
    let values: Vec<f64> = cells[..ranked]
        .iter()
        .map(|c| c.parse().expect("a number"))
        .collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
    let err = fails(&db, &["runs", "--limit", "all"]);
    assert!(
        err.contains("the table and JSON show pages of at most 10000"),
        "{err}"
    );
    let err = fails(&db, &["runs", "--format", "json", "--limit", "10001"]);
    assert!(
        err.contains("--format csv or arrow streams any number"),
        "{err}"
    );
    let out = btdb(&db, &["runs", "--limit", "0"], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("not a number of runs (1 or more) nor `all`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn output_files_appear_only_whole_and_formats_say_what_they_need() {
    let db = recorded().await;
    let dir = common::scratch_dir("arrow-output");
    let file = dir.join("runs.csv");
    let path = file.to_str().expect("a path");
    let out = btdb(&db, &["runs", "--format", "csv", "-o", path], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(
        csv_table(&std::fs::read_to_string(&file).expect("the file"))
            .1
            .len(),
        9
    );
    // A failing command leaves nothing behind.
    let failed = dir.join("failed.csv");
    let out = btdb(
        &db,
        &[
            "runs",
            "--format",
            "csv",
            "--sort",
            "nope",
            "-o",
            failed.to_str().expect("path"),
        ],
        None,
    );
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(&*dir).expect("dir").count(), 1);
    let err = fails(&db, &["export", "--format", "parquet"]);
    assert!(err.contains("give -o DIR"), "{err}");
    let err = fails(&db, &["show", "1", "--format", "arrow"]);
    assert!(err.contains("give --trades or --equity"), "{err}");
    let err = fails(&db, &["record", "-", "--format", "arrow"]);
    assert!(err.contains("writes no table of rows"), "{err}");
    let err = fails(&db, &["runs", "--format", "parquet"]);
    assert!(err.contains("btdb export --format parquet -o DIR"), "{err}");
}

/// The peak resident memory of `btdb ARGS` in kilobytes, sampled from /proc while it runs.
fn peak_kb(db: &TestDb, args: &[&str]) -> u64 {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
        .args(args)
        .env("DATABASE_URL", db.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running btdb");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let hwm = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        if child.try_wait().expect("waiting").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("btdb");
    assert!(out.status.success(), "{}", text(&out.stderr));
    peak
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_two_hundred_thousand_runs_keeps_memory_flat() {
    use diesel_async::SimpleAsyncConnection;
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    conn.batch_execute(
        "INSERT INTO strategies (name) VALUES ('big');
         INSERT INTO parameter_sets (strategy_id, params, params_hash)
             SELECT 1, jsonb_build_object('fast', p % 20, 'slow', p / 20, 'mode', 'm' || p % 3),
                    sha256(convert_to(p::text, 'UTF8'))
             FROM generate_series(0, 399) p;
         INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, dataset, status,
                           periods_per_year, tags, initial_capital)
             SELECT 'big:' || r, sha256(convert_to(r::text, 'UTF8')), 1, 1 + r % 400,
                    'D' || r % 5, 'completed', 252, ARRAY['t'], 1000.25
             FROM generate_series(1, 200000) r;
         INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset,
                              completed)
             SELECT r.id, 'm' || k, random(), r.strategy_id, r.parameter_set_id, r.dataset, true
             FROM runs r, generate_series(1, 8) k;
         SELECT btdb_fill_metric_rows();
         ANALYZE runs, metrics, parameter_sets;",
    )
    .await
    .expect("200,000 runs");
    let dir = common::scratch_dir("arrow-memory");
    let file = |name: &str| dir.join(name).to_str().expect("a path").to_owned();
    let (small, all) = (file("small.arrow"), file("all.arrow"));
    let args = ["runs", "--format", "arrow", "-q", "-o"];
    let tenth = peak_kb(&db, &[&args[..], &[&small, "--limit", "20000"]].concat());
    let whole = peak_kb(&db, &[&args[..], &[&all, "--limit", "all"]].concat());
    let rows = |path: &str| -> usize {
        let reader = StreamReader::try_new(std::fs::File::open(path).expect("file"), None)
            .expect("an Arrow stream");
        reader.map(|b| b.expect("a batch").num_rows()).sum()
    };
    assert_eq!(rows(&small), 20_000);
    assert_eq!(rows(&all), 200_000);
    // Ten times the runs, the same pages: memory is the page's, not the listing's.
    assert!(
        whole < tenth * 13 / 10 && whole < 100 * 1024,
        "peak {whole} kB for 200,000 runs against {tenth} kB for 20,000"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parameter_kinds_follow_the_sets_written_and_deleted() {
    let db = TestDb::new().await;
    let doc = |key: &str, mode: Value| {
        json!({
            "run_key": key, "strategy": "kinds", "params": {"mode": mode, "n": 1},
            "dataset": "D", "periods_per_year": 252,
            "equity": [["2024-01-01T00:00:00Z", 1], ["2024-01-02T00:00:00Z", 2]],
        })
        .to_string()
    };
    let lines = [doc("a", json!(3)), doc("b", json!("auto"))].join("\n");
    let out = btdb(&db, &["record", "-", "-q"], Some(&lines));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kind = |db: &TestDb| {
        let (schema, _) = arrow(db, &["runs", "--limit", "all"]);
        let field = schema.field_with_name("params.mode").expect("mode").clone();
        (field.data_type().clone(), field.metadata().clone())
    };
    let (mixed, metadata) = kind(&db);
    assert_eq!(mixed, DataType::Utf8);
    assert_eq!(metadata["btdb.mixed_types"], "int,string");
    ok(&db, &["delete", "--key", "b", "--prune", "--yes", "-q"]);
    assert_eq!(kind(&db).0, DataType::Int64);
}

/// Equity curves of random positive doubles (every exponent, the extremes first) over more
/// runs than a page holds, read back as doubles: each the double recorded, bit for bit, in
/// order of run and time.
#[tokio::test(flavor = "multi_thread")]
async fn equity_read_as_doubles_comes_back_bit_for_bit_in_order() {
    const RUNS: usize = 230;
    const POINTS: usize = 12;
    let mut bits = Bits::new(0x6571_7569_7479);
    let mut extremes = EXTREMES.iter().copied().filter(|v| *v > 0.0);
    let curves: Vec<Vec<f64>> = (0..RUNS)
        .map(|_| {
            (0..POINTS)
                .map(|_| {
                    extremes.next().unwrap_or_else(|| {
                        loop {
                            let v = bits.finite().abs();
                            if v > 0.0 {
                                break v;
                            }
                        }
                    })
                })
                .collect()
        })
        .collect();
    let lines: Vec<String> = curves
        .iter()
        .enumerate()
        .map(|(i, curve)| {
            let points: Vec<Value> = curve
                .iter()
                .enumerate()
                .map(|(day, v)| json!([format!("2024-01-{:02}T00:00:00Z", day + 1), v]))
                .collect();
            json!({
                "run_key": format!("curve:{i}"),
                "strategy": "curves",
                "dataset": "bits",
                "params": {"i": i},
                "metrics": {"m": 1},
                "equity": points,
            })
            .to_string()
        })
        .collect();
    let db = TestDb::new().await;
    let out = btdb(&db, &["record", "-", "-q"], Some(&lines.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, batches) = arrow(
        &db,
        &[
            "export",
            "--strategy",
            "curves",
            "--table",
            "equity",
            "--decimals",
            "float",
        ],
    );
    // Each run's curve is found through its run_key: the order of ids is recording's
    // concern (tests/record.rs), not this test's.
    let (_, listed) = arrow(&db, &["runs", "--strategy", "curves", "--limit", "all"]);
    let mut curve_of = HashMap::new();
    for batch in &listed {
        let ids = batch.column(batch.schema().index_of("id").unwrap());
        let keys = batch.column(batch.schema().index_of("run_key").unwrap());
        for (id, key) in ids
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .zip(keys.as_string::<i32>().iter())
        {
            let key = key.expect("a run_key");
            let i: usize = key.trim_start_matches("curve:").parse().expect(key);
            curve_of.insert(*id, i);
        }
    }
    let mut points: Vec<(i64, i64, f64)> = Vec::new();
    for batch in &batches {
        let column = |name: &str| {
            batch
                .column(batch.schema().index_of(name).expect(name))
                .clone()
        };
        let (ids, times, values) = (column("run_id"), column("time"), column("equity"));
        let times = times.as_primitive::<TimestampMicrosecondType>().values();
        points.extend(
            ids.as_primitive::<Int64Type>()
                .values()
                .iter()
                .zip(times.iter())
                .zip(values.as_primitive::<Float64Type>().values().iter())
                .map(|((id, time), value)| (*id, *time, *value)),
        );
    }
    assert_eq!(points.len(), RUNS * POINTS);
    assert!(
        points
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)),
        "points by run, then time"
    );
    let mut seen = HashSet::new();
    for curve in points.chunks(POINTS) {
        let i = curve_of[&curve[0].0];
        assert!(seen.insert(i), "curve:{i} read twice");
        for (day, (&(id, _, got), want)) in curve.iter().zip(&curves[i]).enumerate() {
            assert_eq!(id, curve[0].0, "curve:{i} has {POINTS} points");
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "curve:{i} day {day}: {want:e} came back as {got:e}"
            );
        }
    }
}

/// A listing cut by `--limit` takes its capitals' scale from the runs it writes, in recording
/// order and sorted by a metric, from a cursor too: a run beyond the limit with more digits
/// neither widens the column nor goes unwritten when asked.
#[tokio::test(flavor = "multi_thread")]
async fn a_cut_listing_s_capital_scale_is_that_of_the_runs_it_writes() {
    let db = TestDb::new().await;
    let doc = |key: &str, capital: &str, m: f64| {
        json!({
            "run_key": key, "strategy": "s", "dataset": "d", "params": {},
            "initial_capital": capital, "metrics": {"m": m},
        })
        .to_string()
    };
    let lines = [doc("older", "1.12345", 1.0), doc("newer", "1000.5", 2.0)].join("\n");
    let out = btdb(&db, &["record", "-", "-q"], Some(&lines));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let capital = |args: &[&str]| {
        let (schema, batches) = arrow(&db, &[&["runs"], args].concat());
        let field = schema
            .field_with_name("initial_capital")
            .expect("capital")
            .clone();
        let texts: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(b.schema().index_of("initial_capital").expect("capital"));
                let decimals = column.as_primitive::<Decimal128Type>();
                (0..decimals.len())
                    .map(|i| decimals.value_as_string(i))
                    .collect::<Vec<_>>()
            })
            .collect();
        (field.data_type().clone(), texts)
    };
    let newer = (DataType::Decimal128(38, 1), vec!["1000.5".to_owned()]);
    let older = (DataType::Decimal128(38, 5), vec!["1.12345".to_owned()]);
    let both = (
        DataType::Decimal128(38, 5),
        vec!["1000.50000".to_owned(), "1.12345".to_owned()],
    );
    assert_eq!(capital(&["--limit", "1"]), newer);
    assert_eq!(capital(&["--limit", "2"]), both);
    assert_eq!(capital(&["--sort", "m", "--limit", "1"]), newer);
    assert_eq!(capital(&["--sort", "m", "--asc", "--limit", "1"]), older);
    assert_eq!(capital(&["--sort", "m", "--limit", "2"]), both);
    // The newer run is the newest, so the first in recording order.
    let page: Value = serde_json::from_str(&ok(&db, &["runs", "--format", "json", "--limit", "1"]))
        .expect("json");
    assert_eq!(page["runs"][0]["run_key"], "newer");
    let top = page["runs"][0]["id"].to_string();
    let after = ["--sort", "m", "--limit", "1", "--after", &top];
    assert_eq!(capital(&after), older);
}
