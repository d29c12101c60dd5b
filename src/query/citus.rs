//! The SQL that only a Citus cluster runs, beside the one-server SQL of each query module
//! that it stands in for: reads shaped so that Citus pushes them down to the shards (by the
//! distribution column, run id) and reads the reference tables' copies on the coordinator, and
//! writes that respect what a distributed table allows. A reader's layout
//! (`db::Reader::layout`) chooses between the two; nothing else does.

use std::collections::HashMap;

use anyhow::Result;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::delete::Removed;
use super::filter::{METRICS, Resolved};
use super::runs::{RunSummary, RunWithParents};
use super::summary::{Scored, SummaryRanking};
use super::sweep::SweepRow;
use crate::db::explain::{self, load};
use crate::models::{ParameterSet, ParameterSetId, Run, RunId, Strategy, StrategyId, Sweep};
use crate::schema::{metrics, parameter_sets, runs, strategies, sweeps};

/// The runs `ids` with their metrics, in one statement on the shards that hold them, and
/// their parents from the coordinator's copies of the reference tables: a join of runs with
/// the reference tables is planned and run once per shard (16 ms for 20 runs on 32 shards).
pub(super) async fn runs_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[RunId],
) -> Result<Vec<RunSummary>> {
    let runs: Vec<Run> = load(conn, || {
        runs::table
            .filter(runs::id.eq_any(ids.to_vec()))
            .select(Run::as_select())
    })
    .await?;
    let rows = with_parents_apart(conn, runs).await?;
    super::runs::summaries_of(conn, rows).await
}

/// `runs` with their parents, read by id from the parents' tables.
async fn with_parents_apart(
    conn: &mut AsyncPgConnection,
    runs: Vec<Run>,
) -> Result<Vec<RunWithParents>> {
    let ids = |of: fn(&Run) -> Option<i64>| {
        let mut ids: Vec<i64> = runs.iter().filter_map(of).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let (set_ids, sweep_ids) = (
        ids(|r| Some(r.parameter_set_id.0)),
        ids(|r| r.sweep_id.map(|s| s.0)),
    );
    let sets: HashMap<i64, (ParameterSet, Strategy)> = load(conn, || {
        parameter_sets::table
            .inner_join(strategies::table)
            .filter(parameter_sets::id.eq_any(set_ids.clone()))
            .select((ParameterSet::as_select(), Strategy::as_select()))
    })
    .await?
    .into_iter()
    .map(|(set, strategy): (ParameterSet, Strategy)| (set.id.0, (set, strategy)))
    .collect();
    let sweeps: HashMap<i64, Sweep> = if sweep_ids.is_empty() {
        HashMap::new()
    } else {
        load(conn, || {
            sweeps::table
                .filter(sweeps::id.eq_any(sweep_ids.clone()))
                .select(Sweep::as_select())
        })
        .await?
        .into_iter()
        .map(|sweep: Sweep| (sweep.id.0, sweep))
        .collect()
    };
    Ok(runs
        .into_iter()
        .filter_map(|run| {
            let (set, strategy) = sets.get(&run.parameter_set_id.0)?.clone();
            let sweep = run.sweep_id.and_then(|id| sweeps.get(&id.0).cloned());
            Some((run, strategy, set, sweep))
        })
        .collect())
}

/// The equity curves of the runs `$1` as arrays per run (`query/pbo.rs`), grouped by the
/// distribution column so that every worker builds its runs' arrays: Citus cannot push one
/// server's LATERAL join from a list of ids down to the shards.
pub(super) const EQUITY_CURVES: &str = "SELECT p.run_id, array_agg(p.ts ORDER BY p.seq) AS ts,
            array_agg(p.equity::float8 ORDER BY p.seq) AS equity
     FROM equity_points p WHERE p.run_id = ANY($1::bigint[])
     GROUP BY p.run_id";

/// `load` on Citus, where `--where` does not look into the parameters: the metric's rows
/// from the workers alone, and their parameters from the coordinator's copy of
/// `parameter_sets` (a reference table). Joined on the workers, every row would carry its
/// parameters back through the coordinator.
pub(super) async fn sweep_rows(
    conn: &mut AsyncPgConnection,
    metric: &str,
    filter: &Resolved,
    datasets: Option<&[String]>,
) -> Result<Vec<SweepRow>> {
    let rows: Vec<(ParameterSetId, String, f64)> = explain::load(conn, || {
        let mut query = metrics::table
            .filter(metrics::name.eq(metric.to_owned()))
            .filter(metrics::completed.eq(true))
            .select((metrics::parameter_set_id, metrics::dataset, metrics::value))
            .order((metrics::parameter_set_id, metrics::dataset, metrics::run_id))
            .into_boxed();
        for predicate in filter.predicates(METRICS) {
            query = query.filter(predicate);
        }
        if let Some(datasets) = datasets {
            query = query.filter(metrics::dataset.eq_any(datasets.to_vec()));
        }
        query
    })
    .await?;
    let mut ids: Vec<ParameterSetId> = rows.iter().map(|(id, ..)| *id).collect();
    ids.dedup();
    // By strategy where the filter names it: a sweep's 10,000 ids in one `= ANY` cost twice
    // the time of reading the strategy's sets through its index.
    let params: HashMap<ParameterSetId, serde_json::Value> = explain::load(conn, || {
        let query = parameter_sets::table
            .select((parameter_sets::id, parameter_sets::params))
            .into_boxed();
        match &filter.strategy_ids {
            Some(strategies) => {
                query.filter(parameter_sets::strategy_id.eq_any(strategies.clone()))
            }
            None => query.filter(parameter_sets::id.eq_any(ids.clone())),
        }
    })
    .await?
    .into_iter()
    .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(parameter_set_id, dataset, value)| {
            Some(SweepRow {
                parameter_set_id,
                params: params.get(&parameter_set_id)?.clone(),
                dataset,
                value,
            })
        })
        .collect())
}

/// `remove` in statements Citus runs on the shards: rows matched by `= ANY` on the
/// distribution column (each shard gets its own ids), the keys freed in `run_keys`, and the
/// parents left without a run found by asking which are still used, since a reference table's
/// DELETE cannot look into a distributed one.
pub(super) async fn delete_runs(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    prune: bool,
) -> diesel::QueryResult<Removed> {
    // `runs` has foreign keys to reference tables: once it was changed over parallel
    // connections to its shards, Citus refuses a change to those tables in the same
    // transaction. One connection per node keeps the pruning possible.
    diesel::sql_query("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        .execute(conn)
        .await?;
    let owned = |table: &str| {
        diesel::sql_query(format!("DELETE FROM {table} WHERE run_id = ANY($1)"))
            .bind::<Array<BigInt>, _>(ids.to_vec())
    };
    let metrics = owned("metrics").execute(conn).await? as u64;
    let trades = owned("trades").execute(conn).await? as u64;
    let equity_points = owned("equity_points").execute(conn).await? as u64;
    let intermediate_values = owned("intermediate_values").execute(conn).await? as u64;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        run_key: String,
        #[diesel(sql_type = BigInt)]
        strategy_id: i64,
        #[diesel(sql_type = BigInt)]
        parameter_set_id: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        sweep_id: Option<i64>,
        #[diesel(sql_type = Text)]
        dataset: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        completed: bool,
    }
    let gone: Vec<Row> = diesel::sql_query(
        "DELETE FROM runs WHERE id = ANY($1)
         RETURNING run_key, strategy_id, parameter_set_id, sweep_id, dataset,
                   status = 'completed' AS completed",
    )
    .bind::<Array<BigInt>, _>(ids.to_vec())
    .load(conn)
    .await?;
    let groups: Vec<(StrategyId, &str)> = gone
        .iter()
        .filter(|r| r.completed)
        .map(|r| (StrategyId(r.strategy_id), r.dataset.as_str()))
        .collect();
    let keys: Vec<&str> = gone.iter().map(|r| r.run_key.as_str()).collect();
    diesel::sql_query("DELETE FROM run_keys WHERE run_key = ANY($1)")
        .bind::<Array<Text>, _>(keys)
        .execute(conn)
        .await?;
    let mut removed = Removed {
        runs: gone.len() as u64,
        metrics,
        trades,
        equity_points,
        intermediate_values,
        ..Removed::default()
    };
    if prune {
        let distinct = |mut v: Vec<i64>| {
            v.sort_unstable();
            v.dedup();
            v
        };
        // Of `candidates`, those that `used` (a query of the ids still referred to) leaves out.
        async fn orphans(
            conn: &mut AsyncPgConnection,
            candidates: Vec<i64>,
            used: &[&str],
        ) -> diesel::QueryResult<Vec<i64>> {
            #[derive(QueryableByName)]
            struct Used {
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            let mut left = candidates;
            for sql in used {
                let still: Vec<Used> = diesel::sql_query(*sql)
                    .bind::<Array<BigInt>, _>(left.clone())
                    .load(conn)
                    .await?;
                left.retain(|id| !still.iter().any(|u| u.id == *id));
            }
            Ok(left)
        }
        let drop = |table: &str, orphans: Vec<i64>| {
            diesel::sql_query(format!("DELETE FROM {table} WHERE id = ANY($1)"))
                .bind::<Array<BigInt>, _>(orphans)
        };
        let sets = distinct(gone.iter().map(|r| r.parameter_set_id).collect());
        let sets = orphans(
            conn,
            sets,
            &["SELECT DISTINCT parameter_set_id AS id FROM runs WHERE parameter_set_id = ANY($1)"],
        )
        .await?;
        removed.parameter_sets = drop("parameter_sets", sets).execute(conn).await? as u64;
        let sweeps = distinct(gone.iter().filter_map(|r| r.sweep_id).collect());
        let sweeps = orphans(
            conn,
            sweeps,
            &["SELECT DISTINCT sweep_id AS id FROM runs WHERE sweep_id = ANY($1)"],
        )
        .await?;
        removed.sweeps = drop("sweeps", sweeps).execute(conn).await? as u64;
        let strategies = distinct(gone.iter().map(|r| r.strategy_id).collect());
        let strategies = orphans(
            conn,
            strategies,
            &[
                "SELECT DISTINCT strategy_id AS id FROM runs WHERE strategy_id = ANY($1)",
                "SELECT DISTINCT strategy_id AS id FROM parameter_sets WHERE strategy_id = ANY($1)",
            ],
        )
        .await?;
        removed.strategies = drop("strategies", strategies).execute(conn).await? as u64;
    }
    if !groups.is_empty() {
        super::summary::note_async(conn, &groups).await?;
    }
    Ok(removed)
}

/// A kept row, and the strategies with a note (the same on every row).
#[derive(QueryableByName)]
struct UnlessNoted {
    #[diesel(embed)]
    scored: Scored,
    #[diesel(sql_type = Nullable<Array<BigInt>>)]
    noted: Option<Vec<i64>>,
}

#[derive(QueryableByName)]
struct Noted {
    #[diesel(sql_type = BigInt)]
    strategy_id: i64,
}

/// The same on Citus, where `metrics` is on the workers and the summaries on the
/// coordinator: the kept rows of the groups without a note, with the noted strategies, on
/// the coordinator alone; only if some are noted, their scores from the workers, then the
/// ranking on the coordinator again, those scores given to it.
pub(super) async fn summary_scores(
    ranking: &SummaryRanking<'_>,
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<Scored>> {
    // The ranking as far as the kept rows tell it, with the noted strategies beside it:
    // with none noted, as after every fold, that is the answer.
    let noted_column = format!(
        ", (SELECT array_agg(DISTINCT c.strategy_id) FROM ({}) c) AS noted",
        ranking.noted_strategies()
    );
    let first: Vec<UnlessNoted> = load(conn, || {
        ranking.bind(
            ranking.ordered(&ranking.kept(ranking.unless_noted(), true), &noted_column),
            &[],
            None,
        )
    })
    .await?;
    let noted: Vec<i64> = match first.as_slice() {
        [row, ..] => row.noted.clone().unwrap_or_default(),
        // No kept row to carry them: asked apart.
        [] => load::<_, Noted>(conn, || {
            diesel::sql_query(format!(
                "SELECT DISTINCT strategy_id FROM ({}) c",
                ranking.noted_strategies()
            ))
            .into_boxed()
            .bind::<Text, _>(ranking.metric.to_owned())
            .bind::<Text, _>(ranking.filter.dataset.clone().unwrap_or_default())
        })
        .await?
        .into_iter()
        .map(|n| n.strategy_id)
        .collect(),
    };
    if noted.is_empty() {
        return Ok(first.into_iter().map(|row| row.scored).collect());
    }
    // The noted strategies' scores from the workers, then the ranking with them.
    let counted: Vec<Scored> = load(conn, || {
        ranking.bind(ranking.counted("= ANY($6)", true), &noted, None)
    })
    .await?;
    let kept = ranking.kept("s.strategy_id <> ALL($6)", true);
    let given = "SELECT * FROM unnest($7::bigint[], $8::float8[], $9::bigint[], \
                 $10::float8[], $11::bigint[]) AS n(strategy_id, score, runs, extreme, best_run)";
    load(conn, || {
        ranking.bind(
            ranking.ordered(&format!("{kept} UNION ALL {given}"), ""),
            &noted,
            Some(&counted),
        )
    })
    .await
}
