//! `btdb import freqtrade` on Freqtrade's own output: the results under
//! tests/fixtures/real/freqtrade/results come from Freqtrade 2026.9's backtesting
//! (tests/fixtures/real/regen.sh). Every figure compared here is read from those files, as
//! Freqtrade wrote them.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::TestDb;
use common::bits::{Bits, EXTREMES};
use common::cli::{btdb, fails, ok, text};
use common::figures::{close, json, number as f};
use serde_json::Value;

const RESULTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/real/freqtrade/results"
);

fn zips() -> Vec<PathBuf> {
    let mut zips: Vec<PathBuf> = std::fs::read_dir(RESULTS)
        .expect("results")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    zips.sort();
    zips
}

/// The result JSON inside a Freqtrade zip, as text.
fn result_text(zip: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).expect("zip")).expect("zip");
    let name = format!(
        "{}.json",
        zip.file_stem().and_then(|s| s.to_str()).expect("stem")
    );
    let mut text = String::new();
    archive
        .by_name(&name)
        .expect("result inside")
        .read_to_string(&mut text)
        .expect("reading");
    text
}

/// Freqtrade's own figures of every strategy of every result: (strategy, stats).
fn freqtrade_runs() -> Vec<(String, Value)> {
    zips()
        .iter()
        .flat_map(|zip| {
            let result = json(&result_text(zip));
            result["strategy"]
                .as_object()
                .expect("strategies")
                .iter()
                .map(|(name, stats)| (name.clone(), stats.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_run_keeps_freqtrade_s_own_figures_and_importing_again_adds_nothing() {
    let db = TestDb::new().await;
    let summary = json(&ok(
        &db,
        &["import", "freqtrade", RESULTS, "--format", "json"],
    ));
    let expected = freqtrade_runs();
    assert_eq!(
        expected.len(),
        14,
        "a strategy list of two and a grid of 12"
    );
    assert_eq!(summary["recorded"], 14, "{summary}");

    let page = json(&ok(
        &db,
        &[
            "runs",
            "--limit",
            "100",
            "--format",
            "json",
            "--metrics",
            "total_return,max_drawdown",
        ],
    ));
    let runs = page["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 14);
    let mut trades_seen = 0;
    let mut same_candle = 0;
    for run in runs {
        let key = run["run_key"].as_str().expect("key");
        let (name, stats) = expected
            .iter()
            .find(|(name, stats)| {
                key.starts_with(&format!(
                    "freqtrade:{name}:{}:",
                    stats["backtest_run_start_ts"]
                ))
            })
            .unwrap_or_else(|| panic!("no result for {key}"));
        assert_eq!(run["strategy"]["name"], name.as_str());
        let id = run["id"].to_string();
        let shown = json(&ok(
            &db,
            &["show", &id, "--trades", "--equity", "--format", "json"],
        ));
        let trades = shown["trades"].as_array().expect("trades");
        assert_eq!(
            trades.len() as u64,
            stats["total_trades"].as_u64().expect("count")
        );
        trades_seen += trades.len();
        // Each trade's exit reason, entry tag and leverage, as Freqtrade wrote them (an empty
        // tag is no tag).
        for (ours, theirs) in trades
            .iter()
            .zip(stats["trades"].as_array().expect("trades"))
        {
            assert_eq!(ours["exit_reason"], theirs["exit_reason"], "{key}");
            let tag = theirs["enter_tag"].as_str().filter(|t| !t.is_empty());
            assert_eq!(ours["entry_tag"].as_str(), tag, "{key}");
            assert_eq!(f(&ours["leverage"]), f(&theirs["leverage"]), "{key}");
        }
        let profit: f64 = trades.iter().map(|t| f(&t["pnl"])).sum();
        assert!(
            close(profit, f(&stats["profit_total_abs"])),
            "{key}: {profit}"
        );
        let equity = shown["equity"].as_array().expect("equity");
        let last = f(&equity[equity.len() - 1][1]);
        assert!(close(last, f(&stats["final_balance"])), "{key}: {last}");
        // btdb computes from the closed-trade balance, which Freqtrade's drawdown reads too;
        // trades closing in one candle are one point of btdb's curve, where Freqtrade also
        // counts the balance between them (in the order its list happens to hold them).
        let metrics = &run["metrics"];
        assert!(
            close(f(&metrics["total_return"]), f(&stats["profit_total"])),
            "{key}"
        );
        let ours = -f(&metrics["max_drawdown"]);
        let theirs = f(&stats["max_relative_drawdown"]);
        let mut closes: Vec<i64> = trades
            .iter()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t["exit_time"].as_str().expect("time"))
                    .expect("rfc 3339")
                    .timestamp()
            })
            .collect();
        closes.sort();
        closes.dedup();
        if closes.len() == trades.len() {
            assert!(close(ours, theirs), "{key}: {ours} against {theirs}");
        } else {
            // The same drawdown from Freqtrade's own trades, one balance per close time.
            let mut balance = f(&stats["starting_balance"]);
            let mut by_close: Vec<(i64, f64)> = stats["trades"]
                .as_array()
                .expect("trades")
                .iter()
                .map(|t| {
                    (
                        t["close_timestamp"].as_i64().expect("ms"),
                        f(&t["profit_abs"]),
                    )
                })
                .collect();
            by_close.sort_by_key(|c| c.0);
            let (mut peak, mut deepest) = (balance, 0.0f64);
            for (i, (at, profit)) in by_close.iter().enumerate() {
                balance += profit;
                if by_close.get(i + 1).is_some_and(|next| next.0 == *at) {
                    continue;
                }
                peak = peak.max(balance);
                deepest = deepest.max(1.0 - balance / peak);
            }
            assert!(close(ours, deepest), "{key}: {ours} against {deepest}");
            assert!(ours <= theirs + 1e-12, "{key}: {ours} against {theirs}");
            same_candle += 1;
        }
        assert_eq!(
            shown["dataset"],
            format!(
                "BTC/USDT,ETH/USDT:{}",
                stats["timeframe"].as_str().expect("tf")
            )
        );
    }
    assert!(same_candle < 14, "every run had trades closing together");
    let total: u64 = expected
        .iter()
        .map(|(_, s)| s["total_trades"].as_u64().expect("n"))
        .sum();
    assert_eq!(trades_seen as u64, total);

    let again = json(&ok(
        &db,
        &["import", "freqtrade", RESULTS, "--format", "json"],
    ));
    assert_eq!(
        (
            again["recorded"].as_u64(),
            again["already_present"].as_u64()
        ),
        (Some(0), Some(14))
    );

    // The grid is a sweep btdb compares: three fast windows by four slow ones.
    let pivot = common::figures::pivot(&db, "SmaCross", "fast", "slow");
    assert_eq!(pivot["x_values"], serde_json::json!([5, 10, 20]));
    assert_eq!(pivot["y_values"], serde_json::json!([30, 60, 90, 120]));
    let ranked = json(&ok(&db, &["rank", "--format", "json"]));
    assert_eq!(ranked.as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_result_and_a_dry_run() {
    let db = TestDb::new().await;
    let last = format!("{RESULTS}/.last_result.json");
    let printed = ok(&db, &["import", "freqtrade", &last, "--dry-run"]);
    let docs: Vec<Value> = printed.lines().map(json).collect();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["params"]["fast"], 20);
    assert_eq!(docs[0]["params"]["slow"], 120);
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(
        runs["runs"].as_array().map(Vec::len),
        Some(0),
        "a dry run records nothing"
    );
    // What it prints is what record takes.
    let out = btdb(&db, &["record", "-", "--format", "json"], Some(&printed));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = json(&ok(
        &db,
        &["import", "freqtrade", &last, "--format", "json"],
    ));
    assert_eq!(again["already_present"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_one_line_naming_file_and_field_and_records_nothing_of_it() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("freqtrade-bad");
    let real = &zips()[0];
    let result = result_text(real);

    // A zip with the config only.
    let empty = dir.join("backtest-result-empty.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&empty).expect("zip"));
    writer
        .start_file(
            "backtest-result-empty_config.json",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("entry");
    writer.write_all(b"{}").expect("write");
    writer.finish().expect("zip");
    let truncated = dir.join("backtest-result-truncated.json");
    std::fs::write(&truncated, &result[..result.len() / 2]).expect("write");
    let not_freqtrade = dir.join("run.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/good/sma_cross_run.json"
        ),
        &not_freqtrade,
    )
    .expect("copy");
    // Trades as arrays, as results of long ago held them.
    let mut old = json(&result);
    for stats in old["strategy"]
        .as_object_mut()
        .expect("strategies")
        .values_mut()
    {
        for trade in stats["trades"].as_array_mut().expect("trades") {
            *trade = serde_json::json!([trade["pair"], trade["profit_abs"]]);
        }
    }
    let old_format = dir.join("backtest-result-old.json");
    std::fs::write(&old_format, old.to_string()).expect("write");

    let cases: [(&Path, &str); 4] = [
        (
            &empty,
            "holds no backtest result (no backtest-result-….json inside)",
        ),
        (
            &truncated,
            "not a Freqtrade backtest result: EOF while parsing",
        ),
        (
            &not_freqtrade,
            "not a Freqtrade backtest result (no `strategy` object beside",
        ),
        (
            &old_format,
            ".trades[0].expected an object (an older result format); btdb reads",
        ),
    ];
    for (file, fragment) in cases {
        let path = file.to_str().expect("path");
        let err = fails(&db, &["import", "freqtrade", path]);
        assert!(err.starts_with(&format!("error: {path}: ")), "{err}");
        assert!(err.contains(fragment), "{err}");
    }
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(0));

    // Beside a good file, a bad one is said and the good one recorded.
    let out = btdb(
        &db,
        &[
            "import",
            "freqtrade",
            real.to_str().expect("path"),
            truncated.to_str().expect("path"),
        ],
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 2 files could not be imported"), "{err}");
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_figure_comes_back_bit_for_bit() {
    // A real result whose figures are random finite floats, the extremes among them; its
    // starting balance stays, being the runs' initial capital too.
    let mut result = json(&result_text(&zips()[0]));
    let mut bits = Bits::new(0x6674_7261_6465);
    let mut drawn = 0;
    for stats in result["strategy"]
        .as_object_mut()
        .expect("strategies")
        .values_mut()
    {
        for (name, value) in stats.as_object_mut().expect("stats") {
            if value.is_f64() && name != "starting_balance" {
                *value = serde_json::json!(
                    EXTREMES
                        .get(drawn)
                        .copied()
                        .unwrap_or_else(|| bits.finite())
                );
                drawn += 1;
            }
        }
    }
    let dir = common::scratch_dir("freqtrade-bits");
    let file = dir.join("backtest-result-2026-12-02_13-36-02.json");
    std::fs::write(&file, result.to_string()).expect("writing the result");

    let db = TestDb::new().await;
    ok(&db, &["import", "freqtrade", file.to_str().expect("utf-8")]);
    let page = json(&ok(&db, &["runs", "--format", "json", "--limit", "100"]));
    let mut compared = 0;
    for run in page["runs"].as_array().expect("runs") {
        let name = run["strategy"]["name"].as_str().expect("name");
        let stats = &result["strategy"][name];
        for (metric, got) in run["metrics"].as_object().expect("metrics") {
            let Some(figure) = metric.strip_prefix("freqtrade.") else {
                continue;
            };
            let (got, want) = (f(got), f(&stats[figure]));
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{name} {metric}: {want:e} as {got:e}"
            );
            compared += 1;
        }
    }
    assert!(compared > EXTREMES.len(), "{compared} figures compared");
}

const MANY_PAIRS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/real/freqtrade/many_pairs/results"
);

#[tokio::test(flavor = "multi_thread")]
async fn a_backtest_over_25_pairs_imports_under_a_short_name_that_keeps_the_whole_list() {
    let db = TestDb::new().await;
    let zip = std::fs::read_dir(MANY_PAIRS)
        .expect("results")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "zip"))
        .expect("a result");
    let result = json(&result_text(&zip));
    let pairs: Vec<&str> = result["strategy"]["SmaCross"]["pairlist"]
        .as_array()
        .expect("pairlist")
        .iter()
        .map(|p| p.as_str().expect("pair"))
        .collect();
    assert_eq!(pairs.len(), 25);
    assert!(
        pairs.join(",").len() > 200,
        "the full list is too long for a data set"
    );
    let summary = json(&ok(
        &db,
        &["import", "freqtrade", MANY_PAIRS, "--format", "json"],
    ));
    assert_eq!(summary["recorded"], 1);
    let doc = json(&ok(&db, &["export"]));
    let dataset = doc["dataset"].as_str().expect("dataset");
    assert!(dataset.len() <= 200, "{dataset}");
    assert!(
        dataset.starts_with("BTC/USDT,ETH/USDT,SOL/USDT+22#"),
        "{dataset}"
    );
    assert!(dataset.ends_with(":1h"), "{dataset}");
    assert_eq!(doc["params"]["pairlist"], pairs.join(",").as_str());
    // The same list gives the same data set: importing again, by the newest-result pointer,
    // finds the run.
    let pointer = format!("{MANY_PAIRS}/.last_result.json");
    let again = json(&ok(
        &db,
        &["import", "freqtrade", &pointer, "--format", "json"],
    ));
    assert_eq!(again["already_present"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn freqtrade_s_drawdowns_rank_least_deep_first() {
    let db = TestDb::new().await;
    ok(&db, &["import", "freqtrade", RESULTS]);
    for figure in [
        "max_drawdown_account",
        "max_relative_drawdown",
        "max_drawdown_abs",
    ] {
        let mut want: Vec<f64> = freqtrade_runs()
            .iter()
            .filter_map(|(_, stats)| stats[figure].as_f64())
            .collect();
        want.sort_by(f64::total_cmp);
        let metric = format!("freqtrade.{figure}");
        let ranked = json(&ok(
            &db,
            &[
                "rank", "--metric", &metric, "--runs", "--top", "100", "--format", "json",
            ],
        ));
        let got: Vec<f64> = ranked
            .as_array()
            .expect("ranked runs")
            .iter()
            .map(|r| r["value"].as_f64().expect("value"))
            .collect();
        assert_eq!(got, want, "{metric}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_bad_path_among_many_is_said_and_the_others_import() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("freqtrade-paths");
    // A results folder with a config and a strategy's parameter file beside a result: those
    // are not results.
    let results = dir.join("backtest_results");
    std::fs::create_dir(&results).expect("mkdir");
    let real = &zips()[0];
    let stem = real.file_stem().and_then(|s| s.to_str()).expect("stem");
    std::fs::copy(real, results.join(real.file_name().expect("name"))).expect("copy");
    std::fs::write(results.join(format!("{stem}_config.json")), "{}").expect("write");
    std::fs::write(
        results.join(format!("{stem}_SmaCross.json")),
        r#"{"strategy_name": "SmaCross", "params": {"buy": {"fast": 5}}}"#,
    )
    .expect("write");
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let out = btdb(
        &db,
        &[
            "import",
            "freqtrade",
            empty.to_str().expect("path"),
            results.to_str().expect("path"),
            "--format",
            "json",
        ],
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("empty` holds no backtest-result"), "{err}");
    assert!(err.contains("1 of 2 paths could not be imported"), "{err}");
    let runs = json(&ok(&db, &["runs", "--format", "json"]));
    let recorded = json(&result_text(real))["strategy"]
        .as_object()
        .map(|s| s.len());
    assert_eq!(runs["runs"].as_array().map(Vec::len), recorded);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backtest_without_trades_ranks_flat_and_replace_mends_an_earlier_import() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("freqtrade-flat");
    // A real result with its trades taken out: its strategies traded nothing.
    let real = &zips()[0];
    let mut result = json(&result_text(real));
    for stats in result["strategy"]
        .as_object_mut()
        .expect("strategies")
        .values_mut()
    {
        stats["trades"] = serde_json::json!([]);
    }
    let stem = real.file_stem().and_then(|s| s.to_str()).expect("stem");
    let file = dir.join(format!("{stem}.json"));
    std::fs::write(&file, result.to_string()).expect("write");
    let path = file.to_str().expect("path");
    // As an earlier btdb imported it: a curve of one point, and so no figures of its own.
    let documents: Vec<Value> = ok(&db, &["import", "freqtrade", path, "--dry-run"])
        .lines()
        .map(json)
        .collect();
    let earlier: Vec<String> = documents
        .iter()
        .map(|doc| {
            let mut doc = doc.clone();
            doc["equity"].as_array_mut().expect("curve").truncate(1);
            doc["metrics"]
                .as_object_mut()
                .expect("metrics")
                .remove("n_trades");
            doc.to_string()
        })
        .collect();

    let out = btdb(&db, &["record", "-"], Some(&earlier.join("\n")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Importing it now is refused, naming the backtest by its file and key, and saying how
    // to replace what is there.
    let out = btdb(&db, &["import", "freqtrade", path], None);
    assert_eq!(out.status.code(), Some(1));
    let first_key = documents[0]["run_key"].as_str().expect("key");
    assert!(
        text(&out.stderr).starts_with(&format!("error: {path} ({first_key}): ")),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("--replace records this run in its place"),
        "{}",
        text(&out.stderr)
    );
    let replaced = json(&ok(
        &db,
        &["import", "freqtrade", path, "--replace", "--format", "json"],
    ));
    assert_eq!(replaced["replaced"].as_u64(), Some(documents.len() as u64));
    for doc in &documents {
        let key = doc["run_key"].as_str().expect("key");
        let run = json(&ok(&db, &["show", "--key", key, "--format", "json"]));
        for metric in ["total_return", "max_drawdown", "n_trades"] {
            assert_eq!(
                run["metrics"][metric].as_f64(),
                Some(0.0),
                "{key}: {metric}"
            );
        }
        assert_eq!(
            run["n_equity_points"], 2,
            "{key}: start and end of the backtest"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strategy_without_a_parameter_file_has_its_defaults_and_a_zip_reads_as_unzipped() {
    let db = TestDb::new().await;
    // The strategy-list result (SmaCross and RsiRevert, no parameter file): each run has the
    // defaults its strategy's source declares (tests/fixtures/real/freqtrade/strategies).
    let listed = zips()
        .into_iter()
        .find(|zip| {
            json(&result_text(zip))["strategy"]
                .as_object()
                .is_some_and(|s| s.len() == 2)
        })
        .expect("the strategy-list result");
    let path = listed.to_str().expect("path");
    let zipped: Vec<Value> = ok(&db, &["import", "freqtrade", path, "--dry-run"])
        .lines()
        .map(json)
        .collect();
    let by_strategy = |name: &str| {
        zipped
            .iter()
            .find(|d| d["strategy"] == name)
            .unwrap_or_else(|| panic!("a run of {name}"))
    };
    assert_eq!(by_strategy("SmaCross")["params"]["fast"], 10);
    assert_eq!(by_strategy("SmaCross")["params"]["slow"], 60);
    assert_eq!(by_strategy("RsiRevert")["params"]["low"], 30);
    assert_eq!(by_strategy("RsiRevert")["params"]["high"], 70);

    // The same result unzipped, its files side by side: the same run documents.
    let dir = common::scratch_dir("freqtrade-unzipped");
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(&listed).expect("zip")).expect("zip");
    archive.extract(&dir).expect("unzipping");
    let stem = listed.file_stem().and_then(|s| s.to_str()).expect("stem");
    let plain = dir.join(format!("{stem}.json"));
    let unzipped: Vec<Value> = ok(
        &db,
        &[
            "import",
            "freqtrade",
            plain.to_str().expect("path"),
            "--dry-run",
        ],
    )
    .lines()
    .map(json)
    .collect();
    assert_eq!(unzipped, zipped);
    // And the folder it lies in: the result, not its strategies' files beside it.
    let folder: Vec<Value> = ok(
        &db,
        &[
            "import",
            "freqtrade",
            dir.to_str().expect("path"),
            "--dry-run",
        ],
    )
    .lines()
    .map(json)
    .collect();
    assert_eq!(folder, zipped);

    // The 25-pair backtest ran SmaCross without a parameter file too.
    let many = ok(&db, &["import", "freqtrade", MANY_PAIRS, "--dry-run"]);
    let doc = json(many.lines().next().expect("a run"));
    assert_eq!(
        (
            doc["params"]["fast"].as_i64(),
            doc["params"]["slow"].as_i64()
        ),
        (Some(10), Some(60))
    );
}

/// Two results of one strategy, as two machines (or two processes) running the grid in
/// parallel wrote them: the second's backtest started in the same second as the first's.
fn parallel_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let single: Vec<Value> = zips()
        .iter()
        .map(|zip| json(&result_text(zip)))
        .filter(|result| result["strategy"].as_object().is_some_and(|s| s.len() == 1))
        .take(2)
        .collect();
    assert_eq!(single.len(), 2, "two results of one strategy each");
    let started = single[0]["strategy"]
        .as_object()
        .and_then(|s| s.values().next())
        .map(|stats| stats["backtest_run_start_ts"].clone())
        .expect("a start");
    let mut paths = Vec::new();
    for (i, mut result) in single.into_iter().enumerate() {
        for stats in result["strategy"]
            .as_object_mut()
            .expect("strategies")
            .values_mut()
        {
            stats["backtest_run_start_ts"] = started.clone();
        }
        let machine = dir.join(format!("machine-{i}"));
        std::fs::create_dir_all(&machine).expect("dir");
        let file = machine.join("backtest-result-2026-12-02_13-36-02.json");
        std::fs::write(&file, result.to_string()).expect("write");
        paths.push(file);
    }
    (paths[0].clone(), paths[1].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn backtests_started_in_the_same_second_are_two_runs() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("freqtrade-parallel");
    let (a, b) = parallel_pair(&dir);
    let (a, b) = (a.to_str().expect("path"), b.to_str().expect("path"));
    let summary = json(&ok(&db, &["import", "freqtrade", a, b, "--format", "json"]));
    assert_eq!(
        (&summary["recorded"], &summary["failed"]),
        (&2.into(), &0.into()),
        "{summary}"
    );
    let again = json(&ok(&db, &["import", "freqtrade", b, a, "--format", "json"]));
    assert_eq!(
        (&again["recorded"], &again["already_present"]),
        (&0.into(), &2.into()),
        "{again}"
    );
    // Named as a sweep afterwards: the runs are moved into it, not refused.
    let swept = json(&ok(
        &db,
        &[
            "import",
            "freqtrade",
            a,
            b,
            "--sweep",
            "grid",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        (&swept["already_present"], &swept["moved"]),
        (&2.into(), &2.into()),
        "{swept}"
    );
    let page = json(&ok(&db, &["runs", "--sweep", "grid", "--format", "json"]));
    let keys: Vec<&str> = page["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["run_key"].as_str())
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backtest_recorded_under_its_former_key_keeps_it() {
    let db = TestDb::new().await;
    let dir = common::scratch_dir("freqtrade-former");
    let (a, b) = parallel_pair(&dir);
    let (a, b) = (a.to_str().expect("path"), b.to_str().expect("path"));
    // As btdb keyed a backtest before: `freqtrade:STRATEGY:SECOND`.
    let mut former = json(&ok(&db, &["import", "freqtrade", a, "--dry-run"]));
    let key = former["run_key"].as_str().expect("key").to_owned();
    let (kept, hash) = key.rsplit_once(':').expect("a hashed key");
    assert_eq!(hash.len(), 8, "{key}");
    former["run_key"] = kept.into();
    let out = btdb(&db, &["record", "-"], Some(&former.to_string()));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let again = json(&ok(&db, &["import", "freqtrade", a, "--format", "json"]));
    assert_eq!(
        (&again["recorded"], &again["already_present"]),
        (&0.into(), &1.into()),
        "{again}"
    );
    // The other backtest of that second is a run of its own, not a conflict with the first.
    let other = json(&ok(&db, &["import", "freqtrade", b, "--format", "json"]));
    assert_eq!(other["recorded"], 1, "{other}");
    let stored = json(&ok(&db, &["show", "--key", kept, "--format", "json"]));
    assert_eq!(
        stored["metrics"]["freqtrade.final_balance"],
        former["metrics"]["freqtrade.final_balance"]
    );
}

/// A wallet's candles: the time in microseconds, and the `total_quote` of each currency.
type Candles = Vec<(i64, Vec<f64>)>;

/// Each strategy's wallet in a result's zip, read as Freqtrade wrote it.
fn wallets(zip: &Path) -> Vec<(String, Candles)> {
    use arrow_array::{Array, Float64Array, TimestampMicrosecondArray};
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).expect("zip")).expect("zip");
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("a name").into_owned())
        .collect();
    let mut found = Vec::new();
    for name in names.iter().filter(|n| n.ends_with("_wallet.feather")) {
        let strategy = name
            .trim_end_matches("_wallet.feather")
            .rsplit('_')
            .next()
            .expect("strategy")
            .to_owned();
        let mut bytes = Vec::new();
        archive
            .by_name(name)
            .expect("entry")
            .read_to_end(&mut bytes)
            .expect("read");
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
            .expect("feather");
        let mut by_date: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
        for batch in reader {
            let batch = batch.expect("batch");
            let dates = batch
                .column_by_name("date")
                .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
                .expect("dates in microseconds")
                .clone();
            let values = batch
                .column_by_name("total_quote")
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                .expect("doubles")
                .clone();
            for row in 0..batch.num_rows() {
                by_date
                    .entry(dates.value(row))
                    .or_default()
                    .push(values.value(row));
            }
        }
        found.push((strategy, by_date.into_iter().collect()));
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wallet_marked_to_market_is_the_curve_when_asked() {
    let db = TestDb::new().await;
    let zip = &zips()[0];
    let path = zip.to_str().expect("path");
    let summary = json(&ok(
        &db,
        &[
            "import",
            "freqtrade",
            path,
            "--equity",
            "wallet",
            "--format",
            "json",
        ],
    ));
    let wallets = wallets(zip);
    assert!(!wallets.is_empty(), "the result keeps its wallets");
    assert_eq!(summary["recorded"], wallets.len(), "{summary}");
    let page = json(&ok(&db, &["runs", "--format", "json"]));
    for (strategy, candles) in &wallets {
        let run = page["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["strategy"]["name"] == strategy.as_str())
            .unwrap_or_else(|| panic!("no run of {strategy}"));
        let shown = json(&ok(
            &db,
            &[
                "show",
                &run["id"].to_string(),
                "--equity",
                "--format",
                "json",
            ],
        ));
        let equity = shown["equity"].as_array().expect("equity");
        assert_eq!(
            equity.len(),
            candles.len(),
            "{strategy}: one point a candle"
        );
        for (point, (micros, values)) in equity.iter().zip(candles) {
            let at = chrono::DateTime::parse_from_rfc3339(point[0].as_str().expect("time"))
                .expect("rfc 3339");
            assert_eq!(at.timestamp_micros(), *micros, "{strategy}");
            let ours = f(&point[1]);
            if let [only] = values.as_slice() {
                // One currency: its double, bit for bit.
                assert_eq!(ours.to_bits(), only.to_bits(), "{strategy} at {at}");
            } else {
                let theirs: f64 = values.iter().sum();
                assert!(
                    close(ours, theirs),
                    "{strategy} at {at}: {ours} against {theirs}"
                );
            }
        }
        // Open trades at market: the wallet moves between closes, so it has more points than
        // the closed-trade balance, and its drawdown is at least as deep.
        let stats = freqtrade_runs()
            .into_iter()
            .find(|(name, stats)| {
                name == strategy
                    && run["run_key"].as_str().is_some_and(|k| {
                        k.contains(&format!(":{}:", stats["backtest_run_start_ts"]))
                    })
            })
            .expect("the strategy's statistics")
            .1;
        assert!(candles.len() > stats["total_trades"].as_u64().expect("count") as usize + 1);
        let deepest = -f(&shown["metrics"]["max_drawdown"]);
        assert!(
            deepest + 1e-12 >= f(&stats["max_relative_drawdown"]),
            "{strategy}"
        );
    }
    // A result without its wallet (unzipped, the feather left behind) says so.
    let dir = common::scratch_dir("freqtrade-no-wallet");
    let stem = zip.file_stem().and_then(|s| s.to_str()).expect("stem");
    let plain = dir.join(format!("{stem}.json"));
    std::fs::write(&plain, result_text(zip)).expect("write");
    let err = fails(
        &db,
        &[
            "import",
            "freqtrade",
            plain.to_str().expect("path"),
            "--equity",
            "wallet",
        ],
    );
    assert!(err.contains("wallet: this result keeps none"), "{err}");
    assert!(
        err.starts_with(&format!("error: {}: strategy.", plain.display())),
        "{err}"
    );
}
