//! Rankings by an aggregate read from the kept summaries (migration 12): one row per strategy
//! instead of every run's, exact always.
//!
//! A group (strategy, data set) whose metrics changed since the summaries were last folded has
//! a note in `metric_summary_changes`, committed with the change. One statement, so one
//! snapshot, takes the summary of every group without a note and aggregates the noted groups
//! from `metrics`: what `btdb_summarize()` has not folded yet is counted from the runs
//! themselves, so no answer is stale.

use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{QueryResult, QueryableByName};
use diesel_async::AsyncPgConnection;

use super::filter::Resolved;
use crate::models::StrategyId;

/// Folds the pending notes into the summaries; returns how many groups were recomputed.
const SUMMARIZE: &str = "SELECT btdb_summarize() AS groups";

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = BigInt)]
    groups: i64,
}

/// `btdb_summarize()` on a recorder's connection, once its runs are committed.
pub fn summarize_blocking(conn: &mut diesel::PgConnection) -> QueryResult<i64> {
    diesel::RunQueryDsl::get_result::<Folded>(diesel::sql_query(SUMMARIZE), conn).map(|f| f.groups)
}

/// `btdb_summarize()`, from async code.
pub async fn summarize(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel_async::RunQueryDsl::get_result::<Folded>(diesel::sql_query(SUMMARIZE), conn)
        .await
        .map(|f| f.groups)
}

/// Whether the summaries can answer a ranking under `filter`: they are kept per strategy and
/// data set, so sweeps, tags and `--where` need the runs themselves.
pub fn answers(filter: &Resolved) -> bool {
    filter.sweep_id.is_none() && filter.tags.is_empty() && filter.condition.is_none()
}

/// One strategy's score.
#[derive(Debug, QueryableByName)]
pub struct Scored {
    #[diesel(sql_type = BigInt)]
    pub strategy_id: StrategyId,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    pub score: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
}

/// What is ranked: the score as a summary column and as the same aggregate over `metrics`.
#[derive(Debug, Clone, Copy)]
pub struct Score {
    pub column: &'static str,
    pub aggregate: &'static str,
}

/// The ranking query over the summaries, for a filter that `answers` accepts.
#[derive(Debug, Clone)]
pub struct SummaryRanking<'a> {
    pub metric: &'a str,
    pub filter: &'a Resolved,
    pub score: Score,
    pub descending: bool,
    pub min_runs: Option<i64>,
    pub top: Option<i64>,
}

impl SummaryRanking<'_> {
    /// `(strategy, score, runs)` per strategy, best score first (ties: lower strategy id).
    pub fn query(&self) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        // Static SQL per variant; every value the user typed is a bind.
        let Score { column, aggregate } = self.score;
        let (summaries, noted, noted_strategies) = match self.filter.dataset {
            Some(_) => (
                "metric_summaries s",
                "c.strategy_id = s.strategy_id AND c.dataset = s.dataset",
                "SELECT c.strategy_id FROM metric_summary_changes c WHERE c.dataset = $2",
            ),
            None => (
                "pooled_metric_summaries s",
                "c.strategy_id = s.strategy_id",
                "SELECT c.strategy_id FROM metric_summary_changes c",
            ),
        };
        let on = |table: &str| {
            let mut restrict = String::new();
            if self.filter.dataset.is_some() {
                restrict.push_str(&format!(" AND {table}.dataset = $2"));
            }
            if self.filter.strategy_ids.is_some() {
                restrict.push_str(&format!(" AND {table}.strategy_id = ANY($3)"));
            }
            restrict
        };
        let mut sql = format!(
            "SELECT strategy_id, score, runs FROM (\
             SELECT s.strategy_id, {column} AS score, s.runs FROM {summaries} \
             WHERE s.name = $1{} \
             AND NOT EXISTS (SELECT 1 FROM metric_summary_changes c WHERE {noted}) \
             UNION ALL \
             SELECT metrics.strategy_id, {aggregate} AS score, count(*) AS runs FROM metrics \
             WHERE metrics.name = $1 AND metrics.completed{} \
             AND metrics.strategy_id IN ({noted_strategies}) \
             GROUP BY metrics.strategy_id) r",
            on("s"),
            on("metrics"),
        );
        if self.min_runs.is_some() {
            sql.push_str(" WHERE runs >= $4");
        }
        let order = if self.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY score {order} NULLS LAST, strategy_id"));
        if self.top.is_some() {
            sql.push_str(" LIMIT $5");
        }
        // Unused placeholders cannot be left out of the numbering: bind a value to each, and
        // let the text above refer only to those it needs.
        let ids: Vec<i64> = self
            .filter
            .strategy_ids
            .iter()
            .flatten()
            .map(|s| s.0)
            .collect();
        diesel::sql_query(sql)
            .into_boxed()
            .bind::<Text, _>(self.metric.to_owned())
            .bind::<Text, _>(self.filter.dataset.clone().unwrap_or_default())
            .bind::<Array<BigInt>, _>(ids)
            .bind::<BigInt, _>(self.min_runs.unwrap_or(0))
            .bind::<BigInt, _>(self.top.unwrap_or(0))
    }
}
