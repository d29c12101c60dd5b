//! Deleting runs: a run goes with everything it owns, all of it in one transaction; with
//! `prune`, so do the parameter sets, sweeps and strategies it leaves without a run.

use anyhow::Result;
use diesel::prelude::*;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::{Array, BigInt};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::{Layout, Reader};
use crate::models::RunId;

/// What a deletion removed, or (rolled back) would remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub runs: u64,
    pub metrics: u64,
    pub trades: u64,
    pub equity_points: u64,
    /// Optimizer trials' intermediate values.
    pub intermediate_values: u64,
    pub parameter_sets: u64,
    pub sweeps: u64,
    pub strategies: u64,
}

/// Deletions tried when recorders keep racing the pruning of a parent.
const PRUNE_ATTEMPTS: u32 = 3;

/// Deletes the runs `ids`, what they own and, with `prune`, the parents they leave without a
/// run, in one transaction; `dry_run` rolls it back, so its counts are exactly what would go.
pub async fn delete(
    conn: &mut Reader<'_>,
    ids: &[RunId],
    prune: bool,
    dry_run: bool,
) -> Result<Removed> {
    let layout = conn.layout();
    enum Stop {
        Failed(diesel::result::Error),
        DryRun(Removed),
    }
    impl From<diesel::result::Error> for Stop {
        fn from(e: diesel::result::Error) -> Self {
            Stop::Failed(e)
        }
    }
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let mut attempt = 1;
    let outcome = loop {
        let outcome = conn
            .transaction(async |conn| {
                let removed = match layout {
                    Layout::Single => remove(conn, &ids, prune).await?,
                    Layout::Distributed => super::citus::delete_runs(conn, &ids, prune).await?,
                };
                if dry_run {
                    Err(Stop::DryRun(removed))
                } else {
                    Ok(removed)
                }
            })
            .await;
        // A recorder gave a parent being pruned a run between the check that it had none and
        // its removal: the deletion is rolled back whole and tried again, when the parent is
        // seen to be in use and stays.
        let raced = matches!(
            &outcome,
            Err(Stop::Failed(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _
            )))
        );
        if !raced {
            break outcome;
        }
        if attempt == PRUNE_ATTEMPTS {
            anyhow::bail!(
                "recorders kept adding runs to the parameter sets, sweeps or strategies being \
                 pruned ({PRUNE_ATTEMPTS} attempts); nothing was deleted: run the same delete \
                 again, or without --prune"
            );
        }
        attempt += 1;
    };
    match outcome {
        Ok(removed) => {
            // The runs are gone whatever happens here; rankings stay exact without the fold.
            if let Err(e) = super::summary::summarize(conn).await {
                tracing::warn!("the ranking summaries were not brought up to date: {e}");
            }
            Ok(removed)
        }
        Err(Stop::DryRun(removed)) => Ok(removed),
        Err(Stop::Failed(e)) => Err(e.into()),
    }
}

/// The tables whose rows belong to a run, deleted with it.
const OWNED: [&str; 4] = ["metrics", "trades", "equity_points", "intermediate_values"];

/// Deletes `table`'s rows of the runs bound as `$1`.
fn delete_owned(table: &str) -> String {
    format!("DELETE FROM {table} t USING unnest($1::bigint[]) AS d(id) WHERE t.run_id = d.id")
}

/// A run deleted by `remove_run_blocking`: what its ranking group and key were.
#[derive(Debug, QueryableByName)]
pub struct GoneRun {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub run_key: String,
    #[diesel(sql_type = BigInt)]
    pub strategy_id: crate::models::StrategyId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub dataset: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub completed: bool,
    /// The analyst's note on it, which its replacement keeps.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub note: Option<String>,
}

/// Deletes run `id` and its rows on the recorder's blocking connection, inside the transaction
/// that records its replacement (`btdb record --replace`): the same statements `delete` runs.
/// On one server the triggers note the ranking group it leaves; on Citus the writer frees its
/// key and notes its group.
pub fn remove_run_blocking(
    conn: &mut diesel::PgConnection,
    id: RunId,
) -> QueryResult<Vec<GoneRun>> {
    use diesel::RunQueryDsl as Blocking;
    for table in OWNED {
        Blocking::execute(
            diesel::sql_query(delete_owned(table)).bind::<Array<BigInt>, _>(vec![id.0]),
            conn,
        )?;
    }
    Blocking::load(
        diesel::sql_query(
            "DELETE FROM runs WHERE id = $1 \
             RETURNING run_key, strategy_id, dataset, status = 'completed' AS completed, note",
        )
        .bind::<BigInt, _>(id.0),
        conn,
    )
}

#[derive(QueryableByName)]
struct Gone {
    #[diesel(sql_type = BigInt)]
    runs: i64,
    #[diesel(sql_type = Array<BigInt>)]
    parameter_sets: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    sweeps: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    strategies: Vec<i64>,
}

/// The statements of a deletion. Rows are matched by joining the ids as a relation rather than
/// `= ANY(array)`: the planner then chooses between index probes for a few runs and one pass
/// over the table for many (equity points have only a BRIN index on run_id, which `= ANY`
/// would scan once per id).
async fn remove(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    prune: bool,
) -> diesel::QueryResult<Removed> {
    let owned =
        |table: &str| diesel::sql_query(delete_owned(table)).bind::<Array<BigInt>, _>(ids.to_vec());
    let [metrics, trades, equity_points, intermediate_values] = {
        let mut counts = [0u64; 4];
        for (count, table) in counts.iter_mut().zip(OWNED) {
            *count = owned(table).execute(conn).await? as u64;
        }
        counts
    };
    let gone: Gone = diesel::sql_query(
        "WITH gone AS (
             DELETE FROM runs r USING unnest($1::bigint[]) AS d(id) WHERE r.id = d.id
             RETURNING r.strategy_id, r.parameter_set_id, r.sweep_id)
         SELECT count(*) AS runs,
                coalesce(array_agg(DISTINCT parameter_set_id), '{}') AS parameter_sets,
                coalesce(array_agg(DISTINCT sweep_id) FILTER (WHERE sweep_id IS NOT NULL), '{}')
                    AS sweeps,
                coalesce(array_agg(DISTINCT strategy_id), '{}') AS strategies
         FROM gone",
    )
    .bind::<Array<BigInt>, _>(ids.to_vec())
    .get_result(conn)
    .await?;
    let mut removed = Removed {
        runs: gone.runs as u64,
        metrics,
        trades,
        equity_points,
        intermediate_values,
        ..Removed::default()
    };
    if prune {
        // Parents of the deleted runs that no run (and, for a strategy, no parameter set)
        // refers to any more; the ones that still have runs stay.
        let orphans = |table: &str, unused: &str, candidates: Vec<i64>| {
            diesel::sql_query(format!(
                "DELETE FROM {table} t USING unnest($1::bigint[]) AS d(id) \
                 WHERE t.id = d.id AND {unused}"
            ))
            .bind::<Array<BigInt>, _>(candidates)
        };
        removed.parameter_sets = orphans(
            "parameter_sets",
            "NOT EXISTS (SELECT 1 FROM runs r WHERE r.parameter_set_id = t.id)",
            gone.parameter_sets,
        )
        .execute(conn)
        .await? as u64;
        removed.sweeps = orphans(
            "sweeps",
            "NOT EXISTS (SELECT 1 FROM runs r WHERE r.sweep_id = t.id)",
            gone.sweeps,
        )
        .execute(conn)
        .await? as u64;
        removed.strategies = orphans(
            "strategies",
            "NOT EXISTS (SELECT 1 FROM runs r WHERE r.strategy_id = t.id) \
             AND NOT EXISTS (SELECT 1 FROM parameter_sets p WHERE p.strategy_id = t.id)",
            gone.strategies,
        )
        .execute(conn)
        .await? as u64;
    }
    Ok(removed)
}
