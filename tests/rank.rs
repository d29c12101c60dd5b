//! Ranking, sweeps and filters against answers worked out independently with numpy and scipy
//! (tests/golden/generate_rank.py → tests/golden/rank.json) on tests/fixtures/rank/runs.jsonl.

mod common;

use btdb::db::Db;
use btdb::query::filter::{Resolved, RunFilter};
use btdb::query::rank::{By, Ranking};
use btdb::query::runs::RunList;
use btdb::query::suggest;
use btdb::query::sweep::{self, Cell, ParamValue, SweepRow};
use btdb::query::where_parse;
use common::TestDb;
use serde_json::Value;

fn golden() -> Value {
    common::golden::load("rank.json")
}

async fn recorded() -> (TestDb, Db) {
    common::record::rank_fixture().await
}

fn close(actual: f64, expected: &Value, what: &str) {
    common::golden::assert_close(actual, expected, 1e-12, what);
}

fn ranking(by: By, descending: bool) -> Ranking {
    Ranking {
        metric: "sharpe".into(),
        by,
        descending,
        filter: Resolved::default(),
        min_runs: None,
        top: None,
    }
}

/// A `--where` that every run with a Sharpe ratio passes: the same runs, through the path that
/// reads them rather than the summaries.
fn every_run() -> Resolved {
    Resolved {
        condition: Some(where_parse::parse("sharpe > -1000000").expect("parses")),
        ..Resolved::default()
    }
}

/// The `top` strategies by their best Sharpe ratio under `filter`.
async fn best_top(
    conn: &mut btdb::db::Reader<'_>,
    filter: &Resolved,
    top: i64,
) -> Vec<btdb::query::rank::StrategyRank> {
    Ranking {
        top: Some(top),
        filter: filter.clone(),
        ..ranking(By::Best, true)
    }
    .strategies(conn, false)
    .await
    .expect("rank")
}

#[tokio::test(flavor = "multi_thread")]
async fn strategies_rank_by_best_worst_mean_median_and_count() {
    let (_test_db, db) = recorded().await;
    let mut conn = db.reader().await.expect("a reader");
    let golden = golden();
    for (filter, path) in [(Resolved::default(), "summaries"), (every_run(), "runs")] {
        for (by, name) in [
            (By::Best, "best"),
            (By::Worst, "worst"),
            (By::Mean, "mean"),
            (By::Median, "median"),
            (By::Count, "count"),
        ] {
            let ranked = Ranking {
                filter: filter.clone(),
                ..ranking(by, true)
            }
            .strategies(&mut conn, false)
            .await
            .expect("rank");
            let expected = golden["ranking"][name].as_array().expect("rows");
            assert_eq!(ranked.len(), expected.len(), "{name}");
            for (row, want) in ranked.iter().zip(expected) {
                let what = format!("{name} from the {path}: {}", row.strategy.name);
                assert_eq!(row.strategy.name, want["strategy"], "{what}: order");
                close(row.score, &want["score"], &what);
                // The summaries count every order; from the runs, best and worst read one
                // index entry per strategy and do not count.
                let counted = path == "summaries" || !matches!(by, By::Best | By::Worst);
                let runs = want["runs"].as_i64().expect("runs");
                assert_eq!(row.runs, counted.then_some(runs), "{what}: runs");
                assert_eq!(row.best_run.run_key, want["best_run"], "{what}: best run");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn min_runs_top_and_single_runs() {
    let (_test_db, db) = recorded().await;
    let mut conn = db.reader().await.expect("a reader");
    let golden = golden();

    let at_least_three = Ranking {
        min_runs: Some(3),
        ..ranking(By::Best, true)
    };
    let names: Vec<String> = at_least_three
        .strategies(&mut conn, false)
        .await
        .expect("rank")
        .into_iter()
        .map(|r| r.strategy.name)
        .collect();
    assert_eq!(serde_json::json!(names), golden["min_runs_3"]);

    // With --top: from the summaries, and from the runs by a walk in value order.
    let best = golden["ranking"]["best"].as_array().expect("rows");
    for filter in [Resolved::default(), every_run()] {
        for top in [1, 2, 4] {
            let ranked = best_top(&mut conn, &filter, top).await;
            assert_eq!(ranked.len() as i64, top);
            for (row, want) in ranked.iter().zip(best) {
                assert_eq!(row.strategy.name, want["strategy"]);
                assert_eq!(row.best_run.run_key, want["best_run"]);
            }
        }
    }

    let runs = Ranking {
        top: Some(5),
        ..ranking(By::Best, true)
    };
    let keys: Vec<String> = runs
        .runs(&mut conn)
        .await
        .expect("runs")
        .into_iter()
        .map(|r| r.run.run_key)
        .collect();
    assert_eq!(serde_json::json!(keys), golden["top_runs"]);

    // Volatility ranks lowest first (docs/metrics.md).
    let calm = Ranking {
        metric: "volatility".into(),
        top: Some(3),
        ..ranking(By::Best, false)
    };
    let keys: Vec<String> = calm
        .runs(&mut conn)
        .await
        .expect("runs")
        .into_iter()
        .map(|r| r.run.run_key)
        .collect();
    assert_eq!(serde_json::json!(keys), golden["lowest_volatility_runs"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deflated_sharpe_matches_scipy() {
    let (_test_db, db) = recorded().await;
    let mut conn = db.reader().await.expect("a reader");
    let golden = golden();
    let ranked = ranking(By::Best, true)
        .strategies(&mut conn, true)
        .await
        .expect("rank");
    let expected = golden["deflated"].as_array().expect("rows");
    assert_eq!(ranked.len(), expected.len());
    for row in &ranked {
        let want = expected
            .iter()
            .find(|w| w["strategy"] == row.strategy.name.as_str())
            .expect("strategy in golden");
        let deflated = row.deflated.as_ref().expect("deflated");
        assert_eq!(deflated.trials, want["trials"].as_i64().expect("trials"));
        let what = &row.strategy.name;
        let probability = deflated.probability.expect("defined");
        assert!(
            (probability - want["probability"].as_f64().expect("p")).abs() < 1e-9,
            "{what}: {probability} vs {}",
            want["probability"]
        );
        let expected_max = deflated.expected_max_sharpe.expect("defined");
        assert!(
            (expected_max - want["expected_max_sharpe"].as_f64().expect("sr0")).abs() < 1e-9,
            "{what}: {expected_max} vs {}",
            want["expected_max_sharpe"]
        );
    }
}

async fn sweep_rows(db: &Db, strategy: &str, datasets: Option<&[String]>) -> Vec<SweepRow> {
    let mut conn = db.reader().await.expect("a reader");
    let filter = RunFilter {
        strategy: Some(strategy.into()),
        ..RunFilter::default()
    }
    .resolve(&mut conn)
    .await
    .expect("resolve");
    sweep::load(&mut conn, "sharpe", &filter, datasets)
        .await
        .expect("sweep")
}

fn assert_cell(cell: &Option<Cell>, want: &Value, what: &str) {
    let cell = cell
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: empty cell"));
    close(cell.mean, &want["mean"], what);
    close(cell.min, &want["min"], what);
    close(cell.max, &want["max"], what);
    assert_eq!(
        cell.runs as u64,
        want["runs"].as_u64().expect("runs"),
        "{what}"
    );
}

fn as_json(values: &[ParamValue]) -> Value {
    serde_json::to_value(values).expect("values")
}

#[tokio::test(flavor = "multi_thread")]
async fn sweeps_pivot_and_summarise_per_parameter() {
    let (_test_db, db) = recorded().await;
    let golden = golden();
    let rows = sweep_rows(&db, "ALPHA", None).await;
    // The failed run is left out.
    assert_eq!(rows.len(), 12);

    let one = sweep::pivot(&rows, "fast", None);
    let want = &golden["pivot_alpha_fast"];
    assert_eq!(as_json(&one.x_values), want["x_values"]);
    for (i, cell) in one.cells[0].iter().enumerate() {
        assert_cell(cell, &want["cells"][0][i], &format!("fast #{i}"));
    }

    let grid = sweep::pivot(&rows, "fast", Some("slow"));
    let want = &golden["pivot_alpha_fast_slow"];
    assert_eq!(as_json(&grid.x_values), want["x_values"]);
    assert_eq!(as_json(&grid.y_values), want["y_values"]);
    for (r, row) in grid.cells.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            assert_cell(cell, &want["cells"][r][c], &format!("cell {r},{c}"));
        }
    }

    let sensitivity = sweep::sensitivity(&rows);
    assert_eq!(sensitivity.len(), 2);
    for s in &sensitivity {
        let want = &golden["sensitivity_alpha"][&s.parameter];
        for (i, (value, cell)) in s.values.iter().enumerate() {
            assert_eq!(
                serde_json::to_value(value).expect("value"),
                want["x_values"][i]
            );
            assert_cell(&Some(*cell), &want["cells"][0][i], &s.parameter);
        }
    }
    // Ordered by how far the parameter moves the mean.
    assert!(sensitivity[0].spread >= sensitivity[1].spread);

    let err = sweep::ensure_parameter(&rows, "fsat").expect_err("unknown");
    assert!(err.to_string().contains("did you mean `fast`"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_sample_against_out_of_sample_matches_scipy_spearman() {
    let (_test_db, db) = recorded().await;
    let golden = golden();
    let split = ["IS-2020".to_owned(), "OOS-2021".to_owned()];
    for (strategy, key) in [("alpha", "oos_alpha"), ("beta", "oos_beta")] {
        let rows = sweep_rows(&db, strategy, Some(&split)).await;
        let check = sweep::out_of_sample(&rows, &split[0], &split[1], true);
        let want = &golden[key];
        assert_eq!(
            check.parameter_sets as u64,
            want["parameter_sets"].as_u64().expect("n")
        );
        close(check.spearman.expect("defined"), &want["spearman"], key);
        let winner = check.winner.expect("winner");
        assert_eq!(winner.params, want["winner_params"], "{key}");
        close(
            winner.out_of_sample_rank,
            &want["winner_out_of_sample_rank"],
            key,
        );
    }
}

async fn keys_where(db: &Db, condition: &str, tags: &[&str]) -> Value {
    let mut conn = db.reader().await.expect("a reader");
    let filter = RunFilter {
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        condition: Some(where_parse::parse(condition).expect("parses")),
        ..RunFilter::default()
    }
    .resolve(&mut conn)
    .await
    .expect("resolve");
    let runs = RunList {
        filter,
        limit: 100,
        ..RunList::default()
    }
    .fetch(&mut conn)
    .await
    .expect("list");
    serde_json::json!(runs.into_iter().map(|r| r.run_key).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread")]
async fn where_filters_select_the_runs_python_selects() {
    let (_test_db, db) = recorded().await;
    let golden = golden();
    assert_eq!(
        keys_where(&db, "sharpe > 0 and params.fast = 10", &[]).await,
        golden["where_sharpe_and_fast"]
    );
    // 10.0 is the same parameter value as 10.
    assert_eq!(
        keys_where(&db, "sharpe > 0 and params.fast = 10.0", &[]).await,
        golden["where_sharpe_and_fast"]
    );
    assert_eq!(
        keys_where(&db, "(params.lookback >= 30 or sharpe < 0)", &["odd"]).await,
        golden["where_or_tagged_odd"]
    );
    // A value that only looks like SQL is a bound string, matched as such.
    assert_eq!(
        keys_where(&db, "params.fast = '10'' OR 1=1 --'", &[]).await,
        serde_json::json!([])
    );

    let mut conn = db.reader().await.expect("a reader");
    let err = RunFilter {
        condition: Some(where_parse::parse("sharp > 1").expect("parses")),
        ..RunFilter::default()
    }
    .resolve(&mut conn)
    .await
    .expect_err("unknown metric");
    assert!(err.to_string().contains("did you mean `sharpe`"), "{err}");
    let err = suggest::ensure_metric(&mut conn, "sortino_ratio")
        .await
        .expect_err("unknown metric");
    assert!(
        err.to_string().contains("no completed run has metric"),
        "{err}"
    );
}

/// One strategy holds the 1,000 best values, twenty others 5 runs each, strategy `sK` at best K.
const DOMINATED: &str = "INSERT INTO strategies (name) VALUES ('dominant');
     INSERT INTO strategies (name) SELECT 's' || k FROM generate_series(1, 20) k;
     INSERT INTO parameter_sets (strategy_id, params, params_hash)
       SELECT id, '{}', sha256(int8send(id)) FROM strategies;
     INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, dataset, status)
       SELECT 'd' || g, sha256(int8send(g)), 1, 1, 'D', 'completed' FROM generate_series(1, 1000) g;
     INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, dataset, status)
       SELECT 'o' || k || '-' || j, sha256(int8send(k * 100 + j)), k + 1, k + 1, 'D', 'completed'
       FROM generate_series(1, 20) k, generate_series(1, 5) j;
     INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset, completed)
       SELECT id, 'sharpe',
              CASE WHEN strategy_id = 1 THEN 100 + id ELSE strategy_id - 1 - id / 10000.0 END,
              strategy_id, parameter_set_id, dataset, true
       FROM runs;
     SELECT btdb_fill_metric_rows();";

#[tokio::test(flavor = "multi_thread")]
async fn the_top_strategies_are_right_when_one_strategy_holds_all_the_best_runs() {
    let test_db = TestDb::with_fixture("dominated", DOMINATED).await;
    let db = test_db.db().await;
    let mut conn = db.reader().await.expect("a reader");
    // From the runs (a filter the summaries cannot answer), the value-ordered walk reads 256
    // rows, all of `dominant`: the probes take over. From the summaries (every group noted by
    // the fixture's inserts, none folded): the same.
    for filter in [every_run(), Resolved::default()] {
        for top in [1, 5, 21] {
            let ranked = best_top(&mut conn, &filter, top).await;
            let names: Vec<String> = ranked.into_iter().map(|r| r.strategy.name).collect();
            let expected: Vec<String> = std::iter::once("dominant".to_owned())
                .chain((1..=20).rev().map(|k| format!("s{k}")))
                .take(top as usize)
                .collect();
            assert_eq!(names, expected);
        }
    }
}
