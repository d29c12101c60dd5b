//! Eager loading: listing or ranking 10 rows and 1,000 rows runs the same number of queries,
//! counted by Diesel's instrumentation (db::timing).

mod common;

use std::future::Future;

use btdb::db::Db;
use btdb::query::filter::Resolved;
use btdb::query::rank::{By, Ranking};
use btdb::query::runs::RunList;
use common::TestDb;

/// 1,000 strategies with 2 parameter sets and 3 runs each, 3 metrics per run.
const FIXTURE: &str =
    "INSERT INTO strategies (name) SELECT 's' || g FROM generate_series(1, 1000) g;
     INSERT INTO parameter_sets (strategy_id, params, params_hash)
       SELECT s, jsonb_build_object('p', p), sha256(convert_to(s || ':' || p, 'UTF8'))
       FROM generate_series(1, 1000) s, generate_series(1, 2) p;
     INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, dataset, status)
       SELECT 'r' || g, sha256(int8send(g)), 1 + g % 1000, 1 + g % 2000, 'D', 'completed'
       FROM generate_series(1, 3000) g;
     INSERT INTO metrics (run_id, name, value, strategy_id, parameter_set_id, dataset, completed)
       SELECT r.id, m.name, cos(r.id * m.k), r.strategy_id, r.parameter_set_id, r.dataset, true
       FROM runs r, (VALUES ('sharpe', 1.0), ('n_periods', 2.0), ('cagr', 3.0)) m(name, k);
     SELECT btdb_fill_metric_rows();";

/// Queries `work` ran, and what it returned.
async fn counted<T>(db: &Db, work: impl Future<Output = anyhow::Result<T>>) -> (u64, T) {
    let before = db.stats().count();
    let out = work.await.expect("query");
    (db.stats().count() - before, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_10_or_1000_runs_costs_the_same_queries() {
    let test_db = TestDb::with_fixture("counts", FIXTURE).await;
    let db = test_db.db().await;
    let mut conn = db.reader().await.expect("a reader");
    let mut counts = Vec::new();
    for limit in [10, 1000] {
        let list = RunList {
            limit,
            ..RunList::default()
        };
        let (queries, runs) = counted(&db, list.fetch(&mut conn)).await;
        assert_eq!(runs.len() as i64, limit);
        assert!(runs.iter().all(|r| r.metrics.len() == 3), "metrics loaded");
        counts.push(queries);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    // The runs with their parents and metric values, then the names of their metric sets.
    assert_eq!(counts[0], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn ranking_10_or_1000_strategies_costs_the_same_queries() {
    let test_db = TestDb::with_fixture("counts", FIXTURE).await;
    let db = test_db.db().await;
    let mut conn = db.reader().await.expect("a reader");
    for (by, deflated) in [(By::Best, false), (By::Best, true), (By::Median, false)] {
        let mut counts = Vec::new();
        for top in [10, 1000] {
            let ranking = Ranking {
                metric: "sharpe".into(),
                by,
                descending: true,
                filter: Resolved::default(),
                min_runs: None,
                top: Some(top),
            };
            let (queries, ranked) = counted(&db, ranking.strategies(&mut conn, deflated)).await;
            assert_eq!(ranked.len() as i64, top);
            assert!(ranked.iter().all(|r| !r.best_run.metrics.is_empty()));
            counts.push(queries);
            let (run_queries, runs) = counted(&db, ranking.runs(&mut conn)).await;
            assert_eq!(runs.len() as i64, top);
            counts.push(run_queries);
        }
        assert_eq!(counts[0], counts[2], "{by:?} strategies: {counts:?}");
        assert_eq!(counts[1], counts[3], "{by:?} runs: {counts:?}");
        assert!(counts[0] <= 6, "{by:?}: {counts:?}");
    }
}
