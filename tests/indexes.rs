//! Every index serves the query it was made for: the planner picks it on realistic row counts,
//! with nothing disabled, and a query for one run's rows reads one partition.

mod common;

use btdb::db::explain::{Plan, plan};
use btdb::models::{EquityPoint, Metric, ParameterSet, Run, Strategy, Sweep, Trade};
use common::TestDb;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// 2,000 strategies with 10 parameter sets each, 500 sweeps, 20,000 runs on 5 data sets (one in
/// 50 failed), 4 metrics a run, and 20 trades and 500 equity points for each of 2,000 runs,
/// each run's points written together as `btdb record` writes them.
async fn fixture() -> (TestDb, AsyncPgConnection) {
    let db = TestDb::with_fixture("indexes", FIXTURE).await;
    let conn = db.conn().await;
    (db, conn)
}

const FIXTURE: &str = "INSERT INTO strategies (name) SELECT 'Strategy_' || g FROM generate_series(1, 2000) g;
         INSERT INTO sweeps (name) SELECT 'sweep_' || g FROM generate_series(1, 500) g;
         INSERT INTO parameter_sets (strategy_id, params, params_hash)
           SELECT s, jsonb_build_object('fast', p), sha256(convert_to(s || ':' || p, 'UTF8'))
           FROM generate_series(1, 2000) s, generate_series(1, 10) p;
         INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, sweep_id,
                           dataset, status)
           SELECT 'run_' || g, sha256(int8send(g)), 1 + g % 2000, 1 + g % 20000, 1 + g % 500,
                  'DS' || (g / 7) % 5, CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'completed' END
           FROM generate_series(1, 20000) g;
         INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset, completed)
           SELECT r.id, m.name, sin(r.id * m.k), r.strategy_id, r.parameter_set_id, r.dataset,
                  r.status = 'completed'
           FROM runs r, (VALUES ('sharpe', 1.0), ('cagr', 2.0), ('max_drawdown', 3.0),
                                ('n_trades', 4.0)) m(name, k);
         INSERT INTO trades (run_id, seq, symbol, side, quantity, entry_time, entry_price,
                             exit_time, exit_price, fees, pnl)
           SELECT r, t, 'SYM', 'long', 1, now(), 10, now(), 11, 0, 1
           FROM generate_series(1, 2000) r, generate_series(0, 19) t;
         INSERT INTO equity_points (run_id, seq, ts, equity)
           SELECT r, t, now() + t * interval '1 day', 100 + t
           FROM generate_series(1, 2000) r, generate_series(0, 499) t
           ORDER BY r, t;";

fn assert_uses(plan: &Plan, index: &str) -> String {
    plan.index_scan(index)
        .unwrap_or_else(|| panic!("{index} not used; plan: {:#}", plan.json()))
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_by_natural_key_use_their_unique_indexes() {
    let (_db, mut conn) = fixture().await;

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
    let by_hash = ParameterSet::by_hash(42, &hash);
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

#[tokio::test(flavor = "multi_thread")]
async fn run_listings_use_the_composite_and_partial_indexes() {
    let (_db, mut conn) = fixture().await;

    let first_page = Run::for_strategy_dataset(42, "DS2", None, 50);
    assert_uses(
        &plan(&mut conn, first_page).await.unwrap(),
        "runs_strategy_dataset_id_idx",
    );
    let later_page = Run::for_strategy_dataset(42, "DS2", Some(15_000), 50);
    assert_uses(
        &plan(&mut conn, later_page).await.unwrap(),
        "runs_strategy_dataset_id_idx",
    );

    let failed = plan(&mut conn, Run::failed(None, 50)).await.unwrap();
    assert_uses(&failed, "runs_failed_id_idx");
    let failed_later = plan(&mut conn, Run::failed(Some(10_000), 50))
        .await
        .unwrap();
    assert_uses(&failed_later, "runs_failed_id_idx");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_of_a_page_and_best_of_a_strategy_use_their_indexes() {
    let (_db, mut conn) = fixture().await;

    let page: Vec<Run> = Run::for_strategy_dataset(42, "DS1", None, 50)
        .load(&mut conn)
        .await
        .unwrap();
    assert!(!page.is_empty());
    assert_uses(
        &plan(&mut conn, Metric::for_runs(&page)).await.unwrap(),
        "metrics_pkey",
    );

    let best = plan(&mut conn, Metric::best_of_strategy("sharpe", 42))
        .await
        .unwrap();
    // Covering: the probe never visits the heap.
    assert_eq!(assert_uses(&best, "metrics_rank_idx"), "Index Only Scan");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_runs_trades_and_equity_read_one_partition() {
    let (_db, mut conn) = fixture().await;

    for run_id in [1, 1234, 1999] {
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
