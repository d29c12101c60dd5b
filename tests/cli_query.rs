//! `btdb runs`, `rank`, `compare` and `show --plot` as a user runs them: output formats, charts,
//! paging and one-line errors.

mod common;

use common::TestDb;
use common::cli::{fails, ok, page_ids};
use serde_json::Value;

/// A database holding the ranking fixture, recorded by the binary one run at a time.
async fn recorded() -> TestDb {
    let db = TestDb::new().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rank");
    ok(&db, &["record", "--jobs", "1", "-q", fixture]);
    db
}

/// The text of every `<text>` element of an SVG document.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let body = &element[element.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_owned())
        })
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn rank_prints_json_csv_and_a_table() {
    let db = recorded().await;
    let ranked = json(&ok(&db, &["rank", "--format", "json"]));
    let rows = ranked.as_array().expect("array");
    assert_eq!(rows[0]["rank"], 1);
    assert_eq!(rows[0]["strategy"]["name"], "beta");
    for key in ["score", "best_value"] {
        assert!(rows[0][key].is_number(), "{key}: {}", rows[0]);
    }
    // The kept summaries count every order's runs; under a `--where` they cannot answer,
    // counting would read every run of every strategy shown: best and worst do not count.
    assert!(rows[0]["runs"].is_number(), "{}", rows[0]);
    let filtered = json(&ok(
        &db,
        &["rank", "--where", "sharpe > -100", "--format", "json"],
    ));
    assert_eq!(filtered[0]["strategy"]["name"], "beta");
    assert!(filtered[0]["runs"].is_null(), "{}", filtered[0]);
    let by_mean = json(&ok(&db, &["rank", "--by", "mean", "--format", "json"]));
    assert!(by_mean[0]["runs"].is_number(), "{by_mean}");
    assert!(rows[0]["best_run"]["params"]["lookback"].is_number());
    assert!(rows[0]["best_run"]["metrics"]["sharpe"].is_number());

    let csv = ok(&db, &["rank", "--format", "csv", "--by", "mean"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("rank,mean sharpe,runs,strategy,best run,best,dataset,params")
    );
    // The columns stay under a filter that leaves the runs uncounted: empty, not missing.
    let best = ok(&db, &["rank", "--format", "csv"]);
    let best_filtered = ok(
        &db,
        &["rank", "--format", "csv", "--where", "sharpe > -100"],
    );
    let header = |csv: &str| csv.lines().next().map(str::to_owned);
    assert_eq!(header(&best), header(&best_filtered));
    assert_eq!(
        header(&best).as_deref(),
        Some("rank,best sharpe,runs,strategy,best run,dataset,params")
    );
    let row = best_filtered.lines().nth(1).expect("a row");
    assert_eq!(row.split(',').nth(2), Some(""), "{row}");
    // params hold commas: quoted.
    assert!(csv.contains(r#""{""fast"":"#), "{csv}");

    let table = ok(&db, &["rank", "--deflated", "--top", "2"]);
    let header = table.lines().next().expect("header");
    assert!(header.contains("deflated"), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_draws_a_heatmap_and_a_line_chart() {
    let db = recorded().await;
    let dir = common::scratch_dir("plots");
    let heatmap = dir.join("alpha.svg");
    let out = ok(
        &db,
        &[
            "compare",
            "--strategy",
            "alpha",
            "--x",
            "fast",
            "--y",
            "slow",
            "--plot",
            heatmap.to_str().expect("path"),
        ],
    );
    assert!(out.starts_with("slow \\ fast"), "{out}");
    let svg = std::fs::read_to_string(&heatmap).expect("heatmap written");
    assert!(svg.starts_with("<svg"), "{svg}");
    let texts = svg_texts(&svg);
    for label in [
        "fast",
        "slow",
        "mean sharpe",
        "100",
        "20",
        "alpha: mean sharpe by fast and slow",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }

    let line = dir.join("fast.svg");
    ok(
        &db,
        &[
            "compare",
            "--strategy",
            "alpha",
            "--x",
            "fast",
            "--plot",
            line.to_str().expect("path"),
        ],
    );
    let svg = std::fs::read_to_string(&line).expect("line chart written");
    let texts = svg_texts(&svg);
    for label in ["min – max", "mean", "fast", "sharpe"] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }

    let split = json(&ok(
        &db,
        &[
            "compare",
            "--strategy",
            "beta",
            "--is",
            "IS-2020",
            "--oos",
            "OOS-2021",
            "--format",
            "json",
        ],
    ));
    assert_eq!(split["out_of_sample"]["parameter_sets"], 4);
    assert!(split["out_of_sample"]["spearman"].is_number());
}

#[tokio::test(flavor = "multi_thread")]
async fn show_plots_the_equity_curve_with_its_drawdown() {
    let db = recorded().await;
    let dir = common::scratch_dir("equity-plot");
    let file = dir.join("run.svg");
    ok(
        &db,
        &[
            "record",
            "-q",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/good"),
        ],
    );
    let runs = json(&ok(
        &db,
        &["runs", "--strategy", "sma_cross", "--format", "json"],
    ));
    let id = runs["runs"][0]["id"].to_string();
    ok(&db, &["show", &id, "--plot", file.to_str().expect("path")]);
    let svg = std::fs::read_to_string(&file).expect("plot written");
    let texts = svg_texts(&svg);
    for label in ["equity", "drawdown", "time"] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }

    // The ranking fixture's runs carry metrics only.
    let err = fails(
        &db,
        &[
            "show",
            "--key",
            "rank:0",
            "--plot",
            file.to_str().expect("path"),
        ],
    );
    assert!(err.contains("no equity curve"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_pages_with_a_cursor_without_gaps_or_repeats() {
    let db = recorded().await;
    let all = page_ids(&ok(&db, &["runs", "--limit", "1000", "--format", "json"]));
    let mut paged = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut args = vec!["runs", "--limit", "7", "--format", "json"];
        let cursor = after.map(|a| a.to_string());
        if let Some(cursor) = &cursor {
            args.extend(["--after", cursor]);
        }
        let text = ok(&db, &args);
        paged.extend(page_ids(&text));
        let page = json(&text);
        match page["next"].as_i64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first");

    let table = ok(&db, &["runs", "--limit", "2"]);
    assert!(
        table
            .lines()
            .last()
            .expect("note")
            .starts_with("more: --after ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mistakes_get_one_line_naming_the_token_or_the_close_name() {
    let db = recorded().await;
    let err = fails(&db, &["rank", "--metric", "sharp"]);
    assert!(err.contains("did you mean `sharpe`"), "{err}");
    let err = fails(&db, &["runs", "--where", "sharpe > and n_trades > 1"]);
    assert!(err.contains("--where at column 10"), "{err}");
    assert!(err.contains("found `and`"), "{err}");
    let err = fails(&db, &["compare", "--strategy", "alpah", "--x", "fast"]);
    assert!(err.contains("did you mean `alpha`"), "{err}");
    let err = fails(&db, &["compare", "--strategy", "alpha", "--x", "fsat"]);
    assert!(err.contains("did you mean `fast`"), "{err}");
    let err = fails(&db, &["runs", "--where", "params.lookbak >= 10"]);
    assert!(err.contains("did you mean `lookback`"), "{err}");
    let err = fails(&db, &["runs", "--sweep", "grid-2"]);
    assert!(err.contains("`grid-1`"), "{err}");
    let err = fails(&db, &["rank", "--deflated", "--metric", "cagr"]);
    assert!(err.contains("--deflated ranks by sharpe"), "{err}");
    let err = fails(
        &db,
        &[
            "compare",
            "--strategy",
            "alpha",
            "--is",
            "IS-2020",
            "--oos",
            "nowhere",
        ],
    );
    assert!(
        err.contains("has runs on both `IS-2020` and `nowhere`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_prints_the_plan_of_every_query_instead_of_the_results() {
    let db = recorded().await;
    let text = ok(
        &db,
        &["explain", "rank", "--metric", "sharpe", "--top", "2"],
    );
    // First the metric's declared directions, then the path taken: the kept summaries, or
    // under a `--where` the runs.
    assert!(
        text.starts_with("query 1 of 5: SELECT \"metric_directions\""),
        "{text}"
    );
    assert!(
        text.contains(
            "query 2 of 5 (ranking from the summaries: one kept row per strategy): \
             SELECT strategy_id, score, runs, extreme, best_run FROM"
        ),
        "{text}"
    );
    // Bound ids read as the numbers they are.
    assert!(text.contains("-- binds: ["), "{text}");
    assert!(!text.contains("Id("), "{text}");
    assert!(text.contains("pooled_metric_summaries_pkey"), "{text}");
    assert!(
        text.contains("query 5 of 5: SELECT \"metric_sets\""),
        "{text}"
    );
    let filtered = ok(
        &db,
        &[
            "explain",
            "rank",
            "--metric",
            "sharpe",
            "--top",
            "2",
            "--where",
            "sharpe > -100",
        ],
    );
    assert!(filtered.contains(": WITH c AS"), "{filtered}");
    assert!(!filtered.contains("metric_summaries"), "{filtered}");
    assert!(
        filtered.contains("(ranking by probes: one index entry per strategy, runs not counted): "),
        "{filtered}"
    );
    let by_median = ok(
        &db,
        &[
            "explain",
            "--no-analyze",
            "rank",
            "--by",
            "median",
            "--tag",
            "nothing-tagged",
        ],
    );
    assert!(
        by_median.contains("(ranking by aggregate: every matching run's value): "),
        "{by_median}"
    );
    assert!(text.contains("execution"), "ANALYZE ran: {text}");
    assert!(
        !text.contains("best sharpe"),
        "the ranking itself is not printed"
    );

    let plans = json(&ok(
        &db,
        &[
            "explain",
            "--no-analyze",
            "compare",
            "--strategy",
            "alpha",
            "--x",
            "fast",
            "--format",
            "json",
        ],
    ));
    let plans = plans.as_array().expect("queries");
    assert!(plans.len() >= 2, "{plans:?}");
    for query in plans {
        assert!(query["sql"].as_str().is_some_and(|s| s.contains("SELECT")));
        assert!(query["plan"][0]["Plan"]["Node Type"].is_string(), "{query}");
        assert!(
            query["plan"][0].get("Execution Time").is_none(),
            "no ANALYZE"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_indexes_sizes_cache_and_statements() {
    let db = recorded().await;
    ok(&db, &["rank"]);
    // A backend hands in its statistics as it exits, a moment after the client is gone.
    let used = |report: &Value| {
        report["indexes"].as_array().into_iter().flatten().any(|i| {
            i["index"] == "metrics_value_idx" && i["scans"].as_i64().is_some_and(|n| n > 0)
        })
    };
    let mut report = json(&ok(&db, &["doctor", "--format", "json"]));
    for _ in 0..40 {
        if used(&report) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        report = json(&ok(&db, &["doctor", "--format", "json"]));
    }
    let indexes = report["indexes"].as_array().expect("indexes");
    let find = |name: &str| {
        indexes
            .iter()
            .find(|i| i["index"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {indexes:?}"))
    };
    // The ranking read this index; trades' partition indexes are folded into their parent's.
    assert!(find("metrics_value_idx")["scans"].as_i64() > Some(0));
    assert_eq!(find("trades_pkey")["table"], "trades");
    assert!(!indexes.iter().any(|i| i["index"] == "trades_p00_pkey"));
    let tables = report["tables"].as_array().expect("tables");
    let trades = tables
        .iter()
        .find(|t| t["table"] == "trades")
        .expect("trades");
    assert_eq!(trades["partitions"], 16);
    let runs = tables.iter().find(|t| t["table"] == "runs").expect("runs");
    assert_eq!(runs["partitions"], 0);
    assert!(report["cache"]["hits"].as_i64() > Some(0));
    // pg_stat_statements is there when the server preloads it, and said to be missing if not.
    assert!(
        report["slowest_statements"].is_array() || report["statements_unavailable"].is_string(),
        "{report}"
    );
    let text = ok(&db, &["doctor"]);
    assert!(text.contains("cache hit ratio"), "{text}");
    assert!(!text.contains("database database"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_where_literal_of_the_wrong_type_warns_and_c_operators_get_the_word() {
    let db = recorded().await;
    // `fast` is stored as a number: a quoted '5' can match nothing.
    let out = common::cli::btdb(&db, &["runs", "--where", "params.fast = '5'"], None);
    let err = common::cli::text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "--where: `params.fast = '5'` compares a string with parameter `fast`, which is \
             stored as number, so it matches nothing"
        ),
        "{err}"
    );
    // The right type matches, and says nothing.
    let out = common::cli::btdb(&db, &["runs", "--where", "params.fast = 5"], None);
    assert!(out.status.success());
    assert_eq!(common::cli::text(&out.stderr), "");
    let err = fails(&db, &["runs", "--where", "sharpe > 0 && params.fast = 5"]);
    assert!(
        err.contains("column 12: `&&` is not an operator here: use `and`"),
        "{err}"
    );
}

#[test]
fn help_is_a_subcommand_with_help_of_its_own_and_global_options_come_last() {
    let btdb = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_btdb"))
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .expect("btdb");
        (
            out.status.code(),
            common::cli::text(&out.stdout),
            common::cli::text(&out.stderr),
        )
    };
    let (code, help, _) = btdb(&["help", "--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains("Usage: btdb help"), "{help}");
    let (code, rank, _) = btdb(&["help", "rank"]);
    assert_eq!(code, Some(0));
    assert_eq!(rank, btdb(&["rank", "--help"]).1);
    let own = rank.find("--metric").expect("rank's own options");
    let global = rank.find("Global options:").expect("a heading");
    assert!(
        own < global && global < rank.find("--database-url").expect("global"),
        "{rank}"
    );
    // An unset variable does not read as an empty value.
    assert!(!rank.contains("BTDB_POOL_SIZE=]"), "{rank}");
    let (code, _, err) = btdb(&["help", "rnak"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("did you mean `rank`?"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timings_count_the_queries_and_slow_ones_are_logged() {
    let db = recorded().await;
    let out = common::cli::btdb(&db, &["rank", "--timings"], None);
    let err = common::cli::text(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("timings: "))
        .unwrap_or_else(|| panic!("no timings line: {err}"));
    // "timings: N queries, X ms in the database, Y ms in all"
    let queries: u64 = line["timings: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(queries >= 3, "{line}");
    assert!(line.contains("ms in the database"), "{line}");

    let out = common::cli::btdb(&db, &["rank", "--slow-ms", "0"], None);
    let err = common::cli::text(&out.stderr);
    assert!(out.status.success());
    assert!(err.contains("slow query"), "{err}");
    assert!(err.contains("SELECT"), "the statement is named: {err}");
    // Into a pipe, log lines carry no colour unless asked for.
    assert!(!err.contains('\x1b'), "escapes into a pipe: {err:?}");
    let out = common::cli::btdb(&db, &["rank", "--slow-ms", "0", "--color", "always"], None);
    assert!(common::cli::text(&out.stderr).contains("\x1b["));
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_of_one_strategy_version_are_filtered_by_it() {
    let db = TestDb::new().await;
    let docs: Vec<String> = [
        ("s", "v1", 1),
        ("s", "v2", 2),
        ("s", "v2", 3),
        ("t", "v2", 4),
    ]
    .iter()
    .map(|(name, version, i)| {
        serde_json::json!({
            "run_key": format!("k{i}"), "strategy": {"name": name, "version": version},
            "dataset": "D", "params": {"i": i}, "metrics": {"sharpe": f64::from(*i)},
            "equity": [["2024-01-01T00:00:00Z", 100], ["2024-01-02T00:00:00Z", 101]],
        })
        .to_string()
    })
    .collect();
    let out = common::cli::btdb(&db, &["record", "-"], Some(&docs.join("\n")));
    assert!(out.status.success());
    let keys = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["runs", "--format", "json", "--sort", "sharpe", "--asc"];
        all.extend_from_slice(args);
        json(&ok(&db, &all))["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["run_key"].as_str().expect("key").to_owned())
            .collect()
    };
    assert_eq!(
        keys(&["--strategy", "s", "--strategy-version", "v2"]),
        ["k2", "k3"]
    );
    assert_eq!(keys(&["--strategy-version", "v2"]), ["k2", "k3", "k4"]);
    assert_eq!(
        keys(&["--strategy", "S", "--strategy-version", "v1"]),
        ["k1"]
    );
    let err = fails(
        &db,
        &["runs", "--strategy", "t", "--strategy-version", "v1"],
    );
    assert!(
        err.contains("strategy `t` has no version `v1`; did you mean `v2`"),
        "{err}"
    );
    let err = fails(&db, &["rank", "--strategy-version", "v3"]);
    assert!(err.contains("no strategy has version `v3`"), "{err}");
}
