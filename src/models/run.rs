//! `runs`: one backtest run, immutable once recorded.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Text};
use serde::Serialize;
use std::collections::HashSet;

use super::{
    MetricSetId, ParameterSet, ParameterSetId, RunId, Strategy, StrategyId, SweepId, text_enum,
};
use crate::db::Layout;
use crate::db::uncached::Uncached;
use crate::schema::runs;

/// A run id found by its key in `run_keys` (`Run::keyed`).
#[derive(Debug, QueryableByName)]
pub struct Keyed {
    #[diesel(sql_type = BigInt)]
    pub run_id: RunId,
}

text_enum! {
    /// How a backtest ended; only completed runs are ranked. Pruned runs were stopped early
    /// by an optimizer (Optuna's pruners), judged not worth finishing.
    RunStatus {
        Completed => "completed",
        Failed => "failed",
        Pruned => "pruned",
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = runs,
    belongs_to(Strategy),
    belongs_to(ParameterSet),
    check_for_backend(diesel::pg::Pg)
)]
pub struct Run {
    pub id: RunId,
    pub run_key: String,
    #[serde(skip)]
    pub content_hash: Vec<u8>,
    pub strategy_id: StrategyId,
    pub parameter_set_id: ParameterSetId,
    pub sweep_id: Option<SweepId>,
    pub dataset: String,
    pub status: RunStatus,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub tags: Vec<String>,
    pub recorded_at: DateTime<Utc>,
    /// The metrics the document supplied (the rest were computed); None before btdb kept them.
    #[serde(skip)]
    pub supplied_metrics: Option<Vec<String>>,
    /// The strategy's name as the document spelled it, where the strategy row spells it
    /// otherwise.
    #[serde(skip)]
    pub strategy_spelling: Option<String>,
    /// The run's number in its sweep's search (an optimizer's trial number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The directions the document declared, metric → `maximize` or `minimize`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directions: Option<serde_json::Value>,
    /// The search space the parameters were drawn from, parameter → range or choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_space: Option<serde_json::Value>,
    /// What an analyst wrote of the run (`btdb note`); not part of its document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The run's metrics, as values in the order of this set's names; none without metrics.
    #[serde(skip)]
    pub metric_set_id: Option<MetricSetId>,
    #[serde(skip)]
    pub metric_values: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = runs)]
pub struct NewRun<'a> {
    /// Taken from the id sequence beforehand (`Run::next_ids`), so that ids follow the order
    /// runs were read in whatever order they are inserted.
    pub id: RunId,
    pub run_key: &'a str,
    pub content_hash: &'a [u8],
    pub strategy_id: StrategyId,
    pub parameter_set_id: ParameterSetId,
    pub sweep_id: Option<SweepId>,
    pub dataset: &'a str,
    pub status: RunStatus,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<&'a BigDecimal>,
    pub periods_per_year: f64,
    pub tags: &'a [String],
    pub supplied_metrics: &'a [String],
    pub strategy_spelling: Option<&'a str>,
    pub trial: Option<i64>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub directions: Option<serde_json::Value>,
    pub search_space: Option<&'a serde_json::Value>,
    pub metric_set_id: Option<MetricSetId>,
    pub metric_values: Option<Vec<f64>>,
}

impl Run {
    /// Inserts `rows` in their order, skipping those whose run_key is taken (by a recorder
    /// that committed it meanwhile): the ids of those inserted, by run_key.
    pub fn insert_new(
        conn: &mut PgConnection,
        rows: &[NewRun<'_>],
        layout: Layout,
    ) -> QueryResult<Vec<(String, RunId)>> {
        match layout {
            Layout::Single => diesel::insert_into(runs::table)
                .values(rows)
                .on_conflict(runs::run_key)
                .do_nothing()
                .returning((runs::run_key, runs::id))
                .get_results(conn),
            Layout::Distributed => {
                // The key is claimed in `run_keys` first, in the run's transaction: a second
                // recorder of the same key waits there until this one commits or aborts.
                #[derive(QueryableByName)]
                struct Claimed {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    run_key: String,
                }
                // A VALUES list, which Citus sends row by row to the keys' shards: from
                // `unnest` it would plan an INSERT … SELECT through intermediate results,
                // 7× slower for a group of 64 keys.
                let values: Vec<String> = (0..rows.len())
                    .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                    .collect();
                let mut claim = diesel::sql_query(format!(
                    "INSERT INTO run_keys (run_key, run_id) VALUES {} \
                     ON CONFLICT (run_key) DO NOTHING RETURNING run_key",
                    values.join(", ")
                ))
                .into_boxed();
                for row in rows {
                    claim = claim.bind::<Text, _>(row.run_key).bind::<BigInt, _>(row.id);
                }
                let claimed: HashSet<String> = claim
                    .load::<Claimed>(conn)?
                    .into_iter()
                    .map(|c| c.run_key)
                    .collect();
                let rows: Vec<NewRun<'_>> = rows
                    .iter()
                    .filter(|r| claimed.contains(r.run_key))
                    .cloned()
                    .collect();
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                diesel::insert_into(runs::table)
                    .values(&rows)
                    .returning((runs::run_key, runs::id))
                    .get_results(conn)
            }
        }
    }

    /// `n` new ids from the runs' id sequence, ascending.
    pub fn next_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<RunId>> {
        #[derive(QueryableByName)]
        struct Next {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: RunId,
        }
        let mut ids: Vec<RunId> = diesel::sql_query(
            "SELECT nextval(pg_get_serial_sequence('runs', 'id')) AS id \
             FROM generate_series(1, $1)",
        )
        .bind::<diesel::sql_types::BigInt, _>(n as i64)
        .load::<Next>(conn)?
        .into_iter()
        .map(|next| next.id)
        .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The run_key, id and content hash of the runs recorded under `keys`.
    pub fn by_keys<'a>(
        keys: &'a [&'a str],
    ) -> runs::BoxedQuery<
        'a,
        Pg,
        (
            diesel::sql_types::Text,
            diesel::sql_types::BigInt,
            diesel::sql_types::Bytea,
        ),
    > {
        runs::table
            .filter(runs::run_key.eq_any(keys))
            .select((runs::run_key, runs::id, runs::content_hash))
            .into_boxed()
    }

    /// On Citus: frees `key` in `run_keys`, its run deleted in the same transaction.
    pub fn free_key(conn: &mut PgConnection, key: &str) -> QueryResult<usize> {
        diesel::sql_query("DELETE FROM run_keys WHERE run_key = $1")
            .bind::<Text, _>(key)
            .execute(conn)
    }

    /// Puts run `id` in `sweep` (none: in no sweep), with the content hash its document has
    /// there; the number of runs changed (0: the run is gone).
    pub fn move_to_sweep(
        conn: &mut PgConnection,
        id: RunId,
        sweep: Option<SweepId>,
        content_hash: &[u8],
    ) -> QueryResult<usize> {
        diesel::update(runs::table.find(id))
            .set((
                runs::sweep_id.eq(sweep),
                runs::content_hash.eq(content_hash),
            ))
            .execute(conn)
    }

    /// `(run_key, dataset, period_start, period_end, value of metric)` of the runs under
    /// `keys`: what tells one backtest from another (`import::freqtrade::Backtest`).
    #[allow(clippy::type_complexity)]
    pub fn with_metric(
        keys: Vec<String>,
        metric: &str,
    ) -> diesel::dsl::Select<
        diesel::dsl::Filter<
            diesel::dsl::LeftJoinOn<
                runs::table,
                crate::schema::metrics::table,
                diesel::dsl::And<
                    diesel::dsl::Eq<crate::schema::metrics::run_id, runs::id>,
                    diesel::dsl::Eq<crate::schema::metrics::name, String>,
                >,
            >,
            diesel::dsl::EqAny<runs::run_key, Vec<String>>,
        >,
        (
            runs::run_key,
            runs::dataset,
            runs::period_start,
            runs::period_end,
            diesel::dsl::Nullable<crate::schema::metrics::value>,
        ),
    > {
        use crate::schema::metrics;
        runs::table
            .left_join(
                metrics::table.on(metrics::run_id
                    .eq(runs::id)
                    .and(metrics::name.eq(metric.to_owned()))),
            )
            .filter(runs::run_key.eq_any(keys))
            .select((
                runs::run_key,
                runs::dataset,
                runs::period_start,
                runs::period_end,
                metrics::value.nullable(),
            ))
    }

    /// Writes run `id`'s note (a replaced run's, kept by its replacement).
    pub fn set_note(conn: &mut PgConnection, id: RunId, note: &str) -> QueryResult<usize> {
        diesel::update(runs::table.find(id))
            .set(runs::note.eq(note))
            .execute(conn)
    }

    /// The keys among `keys` whose runs carry `tag`.
    pub fn keys_tagged(
        keys: Vec<String>,
        tag: &str,
    ) -> runs::BoxedQuery<'static, Pg, diesel::sql_types::Text> {
        runs::table
            .filter(runs::run_key.eq_any(keys))
            .filter(runs::tags.contains(vec![tag.to_owned()]))
            .select(runs::run_key)
            .into_boxed()
    }

    /// On Citus: the ids `run_keys` holds for `keys`, from the keys' shards only.
    pub fn keyed(keys: &[&str]) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        diesel::sql_query("SELECT run_id FROM run_keys WHERE run_key = ANY($1::text[])")
            .into_boxed()
            .bind::<Array<Text>, _>(keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>())
    }

    /// `(run_key, id, content hash)` of the runs recorded under `keys`, for the idempotency
    /// check. On Citus the key is not `runs`' distribution column, so a lookup by key would ask
    /// every shard: the ids come from `run_keys` (distributed by the key), then the runs by id.
    pub fn found(
        conn: &mut PgConnection,
        keys: &[&str],
        layout: Layout,
    ) -> QueryResult<Vec<(String, RunId, Vec<u8>)>> {
        match layout {
            // Planned at each group: the table grows from empty while a batch is recorded.
            Layout::Single => Uncached(Self::by_keys(keys)).load(conn),
            Layout::Distributed => {
                let ids: Vec<RunId> = Self::keyed(keys)
                    .load::<Keyed>(conn)?
                    .into_iter()
                    .map(|k| k.run_id)
                    .collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                Uncached(runs::table.filter(runs::id.eq_any(ids)).select((
                    runs::run_key,
                    runs::id,
                    runs::content_hash,
                )))
                .load(conn)
            }
        }
    }

    /// The id and content hash of the run recorded under `run_key`, for the idempotency check.
    pub fn by_key(
        run_key: &str,
    ) -> runs::BoxedQuery<'_, Pg, (diesel::sql_types::BigInt, diesel::sql_types::Bytea)> {
        runs::table
            .filter(runs::run_key.eq(run_key))
            .select((runs::id, runs::content_hash))
            .into_boxed()
    }
}
