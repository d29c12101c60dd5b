//! Every float a run document carries comes back bit for bit: recorded, then read through
//! `runs` (JSON and CSV), `show`, `export` and the web view's API and CSV. The values are
//! random bit patterns from a fixed seed, with the extremes (the largest and smallest
//! magnitudes, subnormals, −0) always among them.

mod common;

use std::collections::BTreeMap;

use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, ok, text};
use common::figures::{csv_table, json};
use common::serve::Server;
use serde_json::{Value, json};

const RUNS: usize = 24;
const METRICS: usize = 40;

/// `RUNS` documents, their metrics random finite floats (the extremes in the first runs),
/// with random positive periods per year and random non-zero number parameters.
fn documents(bits: &mut Bits) -> Vec<Value> {
    (0..RUNS)
        .map(|i| {
            let metrics: BTreeMap<String, f64> = (0..METRICS)
                .map(|j| {
                    let value = EXTREMES
                        .get(i * METRICS + j)
                        .copied()
                        .unwrap_or_else(|| bits.finite());
                    (format!("m{j:02}"), value)
                })
                .collect();
            // Parameters are decimals, where −0 is 0 (docs/run-document.md): any other float.
            let param = loop {
                let v = bits.finite();
                if v != 0.0 {
                    break v;
                }
            };
            json!({
                "run_key": format!("exact:{i}"),
                "strategy": "exact",
                "dataset": "bits",
                "params": {"p": param, "i": i},
                "periods_per_year": bits.finite().abs().max(f64::MIN_POSITIVE),
                "metrics": metrics,
            })
        })
        .collect()
}

fn same(got: f64, want: f64, what: &str) {
    assert_eq!(
        got.to_bits(),
        want.to_bits(),
        "{what}: {want:e} came back as {got:e}"
    );
}

/// A JSON number read as the f64 its text names.
fn float(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {value}"))
}

/// Every metric, parameter and periods per year of `run` (a run as `runs` and the API print
/// it) equals `doc`'s, bit for bit.
fn same_run(run: &Value, doc: &Value, what: &str) {
    for (name, want) in doc["metrics"].as_object().expect("metrics") {
        let place = format!("{what} {} {name}", doc["run_key"]);
        same(
            float(&run["metrics"][name], &place),
            float(want, &place),
            &place,
        );
    }
    let place = format!("{what} {} params.p", doc["run_key"]);
    same(
        float(&run["params"]["p"], &place),
        float(&doc["params"]["p"], &place),
        &place,
    );
    let place = format!("{what} {} periods_per_year", doc["run_key"]);
    same(
        float(&run["periods_per_year"], &place),
        float(&doc["periods_per_year"], &place),
        &place,
    );
}

/// The rows of a CSV document under its header, keyed by `key`'s column.
fn csv_rows(csv: &str, key: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    csv_table(csv)
        .1
        .into_iter()
        .map(|row| (row[key].clone(), row))
        .collect()
}

/// The documents keyed by what the CSV rows are keyed by.
fn by_key<'a>(docs: &'a [Value], ids: &BTreeMap<String, i64>) -> Vec<(String, &'a Value)> {
    docs.iter()
        .map(|d| {
            let key = d["run_key"].as_str().expect("key");
            (ids[key].to_string(), d)
        })
        .collect()
}

fn same_csv_metrics(row: &BTreeMap<String, String>, doc: &Value, what: &str) {
    for (name, want) in doc["metrics"].as_object().expect("metrics") {
        let place = format!("{what} {} {name}", doc["run_key"]);
        let cell = &row[&format!("metrics.{name}")];
        let got: f64 = cell
            .parse()
            .unwrap_or_else(|_| panic!("{place}: `{cell}` is not a number"));
        same(got, float(want, &place), &place);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_float_comes_back_bit_for_bit_through_every_way_out() {
    let db = TestDb::new().await;
    let docs = documents(&mut Bits::new(0x6274_6462_2024));
    let lines: Vec<String> = docs.iter().map(Value::to_string).collect();
    let out = btdb(&db, &["record", "-", "-q"], Some(&lines.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let names: Vec<String> = (0..METRICS).map(|j| format!("m{j:02}")).collect();
    let listed = json(&ok(
        &db,
        &[
            "runs",
            "--format",
            "json",
            "--limit",
            "100",
            "--metrics",
            "all",
        ],
    ));
    let runs = listed["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), RUNS);
    let ids: BTreeMap<String, i64> = runs
        .iter()
        .map(|r| {
            let key = r["run_key"].as_str().expect("key").to_owned();
            (key, r["id"].as_i64().expect("id"))
        })
        .collect();
    let run_of = |key: &str| {
        runs.iter()
            .find(|r| r["run_key"] == key)
            .unwrap_or_else(|| panic!("{key} not listed"))
    };
    for doc in &docs {
        same_run(
            run_of(doc["run_key"].as_str().expect("key")),
            doc,
            "runs --format json",
        );
    }

    // The CLI's CSV: every digit, not the table's six.
    let csv = ok(
        &db,
        &[
            "runs",
            "--format",
            "csv",
            "--limit",
            "100",
            "--metrics",
            &names.join(","),
        ],
    );
    let rows = csv_rows(&csv, "id");
    for (id, doc) in by_key(&docs, &ids) {
        same_csv_metrics(&rows[&id], doc, "runs --format csv");
    }

    // show, for the runs that carry the extremes.
    for doc in &docs[..EXTREMES.len().div_ceil(METRICS)] {
        let key = doc["run_key"].as_str().expect("key");
        let shown = json(&ok(&db, &["show", "--key", key, "--format", "json"]));
        same_run(&shown, doc, "show --format json");
    }

    // export writes every run back as the document that recorded it.
    let dir = common::scratch_dir("exact-export");
    let file = dir.join("runs.jsonl");
    ok(&db, &["export", "-o", file.to_str().expect("utf-8")]);
    let exported: Vec<Value> = std::fs::read_to_string(&file)
        .expect("the export")
        .lines()
        .map(json)
        .collect();
    assert_eq!(exported.len(), RUNS);
    for doc in &docs {
        let back = exported
            .iter()
            .find(|e| e["run_key"] == doc["run_key"])
            .expect("exported");
        same_run(back, doc, "export");
    }

    // The web view's JSON and CSV.
    let server = Server::start(db.url(), &["--no-cache"]);
    let api = server.json("/api/runs?limit=100&metrics=all");
    for doc in &docs {
        let key = doc["run_key"].as_str().expect("key");
        let run = api["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["run_key"] == key)
            .unwrap_or_else(|| panic!("{key} not in /api/runs"));
        same_run(run, doc, "/api/runs");
    }
    let rows = csv_rows(&server.ok("/runs.csv"), "id");
    for (id, doc) in by_key(&docs, &ids) {
        same_csv_metrics(&rows[&id], doc, "/runs.csv");
    }
}

/// The tests are built with the dev-dependencies, one of which also asks serde_json to parse
/// floats exactly; the binary a user builds (`cargo install`, `cargo build --release`) has
/// none of them, so it reads floats exactly only if btdb's own dependencies ask for it.
#[test]
fn the_binary_users_build_parses_floats_exactly() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal,features",
            "-i",
            "serde_json",
        ])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("running cargo tree");
    let tree = text(&out.stdout);
    assert!(out.status.success(), "cargo tree: {}", text(&out.stderr));
    assert!(
        tree.contains("serde_json feature \"float_roundtrip\""),
        "without dev-dependencies, serde_json parses floats to the nearest f64 only with its \
         float_roundtrip feature:\n{tree}"
    );
}
