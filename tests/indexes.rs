//! Every index serves the query it was made for: the planner picks it on realistic row counts,
//! with nothing disabled, and a query for one run's rows reads one partition.

mod common;

use std::future::Future;

use btdb::db::explain::{Captured, Plan, capture, plan};
use btdb::db::{Db, Reader};
use btdb::models::{
    EquityPoint, ParameterSet, Run, RunId, RunStatus, Strategy, StrategyId, Sweep, Trade,
};
use btdb::query::filter::{Resolved, RunFilter};
use btdb::query::rank::{By, Ranking};
use btdb::query::run_detail::{RunDetail, RunRef};
use btdb::query::runs::RunList;
use btdb::query::suggest;
use btdb::query::{sweep, where_parse};
use common::TestDb;
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

/// 2,000 strategies with 10 parameter sets each, 500 sweeps, 20,000 runs on 5 data sets (one in
/// 50 failed, ten tagged `rare`), 12 metrics a run, 50 intermediate values for each of 4,000
/// runs and a declared direction for each strategy's `loss`, and 20 trades and 500 equity
/// points for each of 2,000 runs,
/// each run's points written together as `btdb record` writes them, then folded into the
/// ranking summaries as `btdb record` does.
async fn fixture() -> (TestDb, Db) {
    let db = TestDb::with_fixture("indexes", FIXTURE).await;
    let lib = db.db().await;
    (db, lib)
}

const FIXTURE: &str = "INSERT INTO strategies (name) SELECT 'Strategy_' || g FROM generate_series(1, 2000) g;
         INSERT INTO sweeps (name) SELECT 'sweep_' || g FROM generate_series(1, 500) g;
         INSERT INTO parameter_sets (strategy_id, params, params_hash)
           SELECT s, jsonb_build_object('fast', p, 'slow', s), sha256(convert_to(s || ':' || p, 'UTF8'))
           FROM generate_series(1, 2000) s, generate_series(1, 10) p;
         INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, sweep_id,
                           dataset, status, tags)
           SELECT 'run_' || g, sha256(int8send(g)), 1 + g % 2000, 1 + g % 20000, 1 + g % 500,
                  'DS' || (g / 7) % 5, CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'completed' END,
                  CASE WHEN g % 2000 = 1 THEN ARRAY['rare'] ELSE '{}' END
           FROM generate_series(1, 20000) g;
         INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset, completed)
           SELECT r.id, m.name, sin(r.id * m.k), r.strategy_id, r.parameter_set_id, r.dataset,
                  r.status = 'completed'
           FROM runs r, (VALUES ('sharpe', 1.0), ('cagr', 2.0), ('max_drawdown', 3.0),
                                ('n_trades', 4.0), ('sortino', 5.0), ('calmar', 6.0),
                                ('volatility', 7.0), ('total_return', 8.0), ('win_rate', 9.0),
                                ('profit_factor', 10.0), ('n_periods', 11.0),
                                ('avg_trade_pnl', 12.0)) m(name, k);
         SELECT btdb_fill_metric_rows();
         INSERT INTO trades (run_id, seq, symbol, side, quantity, entry_time, entry_price,
                             exit_time, exit_price, fees, pnl)
           SELECT r, t, 'SYM', 'long', 1, now(), 10, now(), 11, 0, 1
           FROM generate_series(1, 2000) r, generate_series(0, 19) t;
         INSERT INTO equity_points (run_id, seq, ts, equity)
           SELECT r, t, now() + t * interval '1 day', 100 + t
           FROM generate_series(1, 2000) r, generate_series(0, 499) t
           ORDER BY r, t;
         INSERT INTO intermediate_values (run_id, step, value)
           SELECT r, s, sin(r * s) FROM generate_series(1, 4000) r, generate_series(0, 49) s;
         INSERT INTO metric_directions (strategy_id, name, lower_is_better)
           SELECT s, 'loss', true FROM generate_series(1, 2000) s;
         SELECT btdb_summarize();";

fn assert_uses(plan: &Plan, index: &str) -> String {
    plan.index_scan(index)
        .unwrap_or_else(|| panic!("{index} not used; plan: {:#}", plan.json()))
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_by_natural_key_use_their_unique_indexes() {
    let (_db, lib) = fixture().await;
    let mut conn = lib.reader().await.expect("a reader");

    let by_name = Strategy::by_name("STRATEGY_42").select(Strategy::as_select());
    assert_uses(
        &plan(&mut conn, by_name).await.unwrap(),
        "strategies_lower_name_version_key",
    );

    let hash = {
        #[derive(QueryableByName)]
        struct Hash {
            #[diesel(sql_type = diesel::sql_types::Bytea)]
            h: Vec<u8>,
        }
        let row: Hash = diesel::sql_query("SELECT sha256(convert_to('42:3', 'UTF8')) AS h")
            .get_result(&mut conn)
            .await
            .unwrap();
        row.h
    };
    let by_hash = ParameterSet::by_hash(StrategyId(42), &hash);
    assert_uses(
        &plan(&mut conn, by_hash).await.unwrap(),
        "parameter_sets_strategy_hash_key",
    );

    let sweep = Sweep::by_name("sweep_7").select(Sweep::as_select());
    assert_uses(&plan(&mut conn, sweep).await.unwrap(), "sweeps_name_key");

    assert_uses(
        &plan(&mut conn, Run::by_key("run_1234")).await.unwrap(),
        "runs_run_key_key",
    );
}

/// The plans of every query `work` runs through the read models.
async fn plans<T>(work: impl Future<Output = anyhow::Result<T>>) -> (T, Vec<Captured>) {
    let (result, plans) = capture(false, work).await;
    (result.expect("the command's queries"), plans)
}

/// No query reads a whole table that grows with the runs. (strategies and sweeps may be
/// scanned: ranking visits every strategy by design; metric_sets, a few lists of names per
/// strategy; and metric_summary_changes, which holds only the changes not folded yet and is
/// emptied by every `btdb record`.)
fn assert_no_seq_scan(plans: &[Captured]) {
    for captured in plans {
        for node in captured.plan.nodes() {
            if node.node_type != "Seq Scan" {
                continue;
            }
            let relation = node.relation.unwrap_or_default();
            assert!(
                [
                    "strategies",
                    "sweeps",
                    "metric_sets",
                    "metric_summary_changes"
                ]
                .contains(&relation.as_str()),
                "sequential scan of {relation} in\n{}\nplan: {:#}",
                captured.sql,
                captured.plan.json()
            );
        }
    }
}

/// The ways the plans read `index` ("Index Scan", "Index Only Scan", ...); fails when none does.
fn uses(plans: &[Captured], index: &str) -> Vec<String> {
    let kinds: Vec<String> = plans
        .iter()
        .flat_map(|c| c.plan.nodes())
        .filter(|n| n.index.as_deref() == Some(index))
        .map(|n| n.node_type)
        .collect();
    if kinds.is_empty() {
        let sql: Vec<&str> = plans.iter().map(|c| c.sql.as_str()).collect();
        panic!("{index} not used by any of {sql:#?}");
    }
    kinds
}

/// Some plan walks `index` backward: newest first, stopping after a page.
fn walks_backward(plans: &[Captured], index: &str) {
    uses(plans, index);
    let backward = plans
        .iter()
        .flat_map(|c| c.plan.nodes())
        .any(|n| n.index.as_deref() == Some(index) && n.direction.as_deref() == Some("Backward"));
    assert!(backward, "{index} is not read backward");
}

/// `index` is read as `kind` by some plan.
fn uses_as(plans: &[Captured], index: &str, kind: &str) {
    let kinds = uses(plans, index);
    assert!(
        kinds.iter().any(|k| k == kind),
        "{index} read as {kinds:?}, not {kind}"
    );
}

fn filter(strategy: Option<&str>, condition: Option<&str>) -> RunFilter {
    RunFilter {
        strategy: strategy.map(str::to_owned),
        condition: condition.map(|c| where_parse::parse(c).expect("a valid --where")),
        ..RunFilter::default()
    }
}

async fn listing(conn: &mut Reader<'_>, filter: RunFilter, list: RunList) -> Vec<Captured> {
    let (runs, captured) = plans(async {
        let resolved = filter.resolve(conn).await?;
        RunList {
            filter: resolved,
            ..list
        }
        .fetch(conn)
        .await
    })
    .await;
    assert!(!runs.is_empty(), "the fixture has runs for every listing");
    assert_no_seq_scan(&captured);
    captured
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_of_btdb_runs_is_served_by_an_index() {
    let (_db, lib) = fixture().await;
    let mut conn = lib.reader().await.expect("a reader");
    let page = RunList {
        limit: 50,
        ..RunList::default()
    };

    let newest = listing(&mut conn, RunFilter::default(), page.clone()).await;
    // Keyset paging walks the primary key from the newest run and stops after a page.
    walks_backward(&newest, "runs_pkey");

    let deep = RunList {
        after: Some(RunId(5_000)),
        ..page.clone()
    };
    let captured = listing(&mut conn, RunFilter::default(), deep).await;
    walks_backward(&captured, "runs_pkey");

    let by_strategy = RunFilter {
        dataset: Some("DS2".into()),
        ..filter(Some("strategy_42"), None)
    };
    let captured = listing(&mut conn, by_strategy, page.clone()).await;
    uses(&captured, "strategies_lower_name_version_key");
    uses(&captured, "runs_strategy_dataset_id_idx");

    let failed = RunList {
        status: Some(RunStatus::Failed),
        ..page.clone()
    };
    uses(
        &listing(&mut conn, RunFilter::default(), failed).await,
        "runs_failed_id_idx",
    );

    let sweep = RunFilter {
        sweep: Some("sweep_7".into()),
        ..RunFilter::default()
    };
    let captured = listing(&mut conn, sweep, page.clone()).await;
    uses(&captured, "sweeps_name_key");
    uses(&captured, "runs_sweep_id_idx");

    let tagged = RunFilter {
        tags: vec!["rare".into()],
        ..RunFilter::default()
    };
    uses(
        &listing(&mut conn, tagged, page.clone()).await,
        "runs_tags_idx",
    );

    let param = filter(None, Some("params.slow = 42"));
    uses(
        &listing(&mut conn, param, page.clone()).await,
        "parameter_sets_params_idx",
    );

    // A range of one metric's values: the value-ordered index.
    let metric = filter(None, Some("sharpe > 0.999"));
    uses(&listing(&mut conn, metric, page).await, "metrics_value_idx");
}

fn ranking(metric: &str, by: By, filter: Resolved) -> Ranking {
    Ranking {
        metric: metric.into(),
        by,
        descending: true,
        filter,
        min_runs: None,
        top: Some(20),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_of_btdb_rank_is_served_by_an_index() {
    let (_db, lib) = fixture().await;
    let mut conn = lib.reader().await.expect("a reader");

    for by in [By::Best, By::Worst, By::Mean, By::Median, By::Count] {
        let (ranked, captured) = plans(async {
            ranking("sharpe", by, Resolved::default())
                .strategies(&mut conn, by == By::Best)
                .await
        })
        .await;
        assert_eq!(ranked.len(), 20);
        assert_no_seq_scan(&captured);
        // Scores are one summary row per strategy; each top strategy's best run is one probe
        // of a covering index, never the metrics heap.
        uses(&captured, "pooled_metric_summaries_pkey");
        uses_as(&captured, "metrics_rank_idx", "Index Only Scan");
        uses(&captured, "runs_pkey");
    }
    // Under a filter the summaries cannot answer, the top strategies by their best run come
    // from a walk in value order.
    let (ranked, captured) = plans(async {
        let every_run = filter(None, Some("cagr > -10")).resolve(&mut conn).await?;
        ranking("sharpe", By::Best, every_run)
            .strategies(&mut conn, false)
            .await
    })
    .await;
    assert!(!ranked.is_empty());
    assert_no_seq_scan(&captured);
    uses_as(&captured, "metrics_value_idx", "Index Only Scan");
    let on_dataset = || {
        ranking(
            "sharpe",
            By::Median,
            Resolved {
                dataset: Some("DS1".into()),
                ..Resolved::default()
            },
        )
    };
    let (ranked, captured) = plans(on_dataset().strategies(&mut conn, false)).await;
    assert_eq!(ranked.len(), 20);
    assert_no_seq_scan(&captured);
    uses(&captured, "metric_summaries_pkey");

    // Changes not folded yet: the noted groups are aggregated from the runs' metrics, by the
    // covering index.
    conn.batch_execute(
        "INSERT INTO metric_summary_changes (strategy_id, dataset) \
         SELECT 1 + g % 2000, 'DS' || g % 5 FROM generate_series(1, 20000) g; \
         ANALYZE metric_summary_changes",
    )
    .await
    .expect("notes");
    let (ranked, captured) = plans(on_dataset().strategies(&mut conn, false)).await;
    assert_eq!(ranked.len(), 20);
    assert_no_seq_scan(&captured);
    uses_as(&captured, "metrics_rank_idx", "Index Only Scan");

    let (ranked, captured) = plans(async {
        let resolved = RunFilter {
            dataset: Some("DS1".into()),
            ..filter(None, Some("params.slow = 42 and cagr > 0"))
        }
        .resolve(&mut conn)
        .await?;
        ranking("sharpe", By::Best, resolved)
            .strategies(&mut conn, false)
            .await
    })
    .await;
    assert!(!ranked.is_empty());
    assert_no_seq_scan(&captured);

    let (ranked, captured) = plans(async {
        ranking("sharpe", By::Best, Resolved::default())
            .runs(&mut conn)
            .await
    })
    .await;
    assert_eq!(ranked.len(), 20);
    assert_no_seq_scan(&captured);
    uses_as(&captured, "metrics_value_idx", "Index Only Scan");

    let (names, captured) = plans(suggest::metric_names(&mut conn)).await;
    assert_eq!(
        names,
        [
            "avg_trade_pnl",
            "cagr",
            "calmar",
            "max_drawdown",
            "n_periods",
            "n_trades",
            "profit_factor",
            "sharpe",
            "sortino",
            "total_return",
            "volatility",
            "win_rate"
        ]
    );
    assert_no_seq_scan(&captured);
    // One probe per name, of either index that leads with the name.
    let probes: Vec<_> = captured
        .iter()
        .flat_map(|c| c.plan.nodes())
        .filter(|n| n.node_type == "Index Only Scan")
        .filter_map(|n| n.index)
        .collect();
    assert!(
        probes
            .iter()
            .all(|i| i == "metrics_rank_idx" || i == "metrics_value_idx")
            && !probes.is_empty(),
        "{probes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_query_of_btdb_compare_and_show_is_served_by_an_index() {
    let (_db, lib) = fixture().await;
    let mut conn = lib.reader().await.expect("a reader");

    let (rows, captured) = plans(async {
        let resolved = filter(Some("Strategy_42"), None).resolve(&mut conn).await?;
        sweep::load(&mut conn, "sharpe", &resolved, None).await
    })
    .await;
    assert!(!rows.is_empty());
    assert_no_seq_scan(&captured);
    uses(&captured, "metrics_rank_idx");

    for (run, with_rows) in [
        (RunRef::Id(RunId(1234)), true),
        (RunRef::Key("run_77".into()), false),
    ] {
        let (detail, captured) =
            plans(RunDetail::load(&mut conn, &run, with_rows, with_rows)).await;
        assert!(detail.n_equity_points > 0 || !with_rows);
        assert_no_seq_scan(&captured);
        uses(
            &captured,
            if with_rows {
                "runs_pkey"
            } else {
                "runs_run_key_key"
            },
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_runs_trades_and_equity_read_one_partition() {
    let (_db, lib) = fixture().await;
    let mut conn = lib.reader().await.expect("a reader");

    for run_id in [1, 1234, 1999].map(RunId) {
        let trades = plan(&mut conn, Trade::for_run(run_id)).await.unwrap();
        let relations = trades.relations();
        assert_eq!(
            relations.len(),
            1,
            "trades of run {run_id} read {relations:?}"
        );
        assert!(relations[0].starts_with("trades_p"), "{relations:?}");
        assert_uses(&trades, &format!("{}_pkey", relations[0]));

        let equity = plan(&mut conn, EquityPoint::for_run(run_id)).await.unwrap();
        let relations = equity.relations();
        assert_eq!(
            relations.len(),
            1,
            "equity of run {run_id} read {relations:?}"
        );
        assert!(relations[0].starts_with("equity_points_p"), "{relations:?}");
        // The partition's share of the BRIN index on run_id.
        let brin = format!("{}_run_id_idx", relations[0]);
        assert_eq!(assert_uses(&equity, &brin), "Bitmap Index Scan");
    }
}
