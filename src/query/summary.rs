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
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text};
use diesel::{QueryResult, QueryableByName};
use diesel_async::AsyncPgConnection;

use super::filter::Resolved;
use crate::db::explain::load;
use crate::db::{Layout, Reader};
use crate::models::{RunId, StrategyId};

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

/// On Citus, where no trigger notes changes: notes the groups `(strategy, data set)` whose
/// completed runs a writer adds or removes, in its own transaction (layout.rs, `btdb_note`).
fn note(
    groups: &[(StrategyId, &str)],
) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
    let mut pairs: Vec<(i64, String)> =
        groups.iter().map(|(s, d)| (s.0, (*d).to_owned())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let (strategies, datasets): (Vec<i64>, Vec<String>) = pairs.into_iter().unzip();
    diesel::sql_query("SELECT btdb_note($1, $2)")
        .into_boxed()
        .bind::<Array<BigInt>, _>(strategies)
        .bind::<Array<Text>, _>(datasets)
}

/// `note`, on a recorder's connection.
pub fn note_blocking(
    conn: &mut diesel::PgConnection,
    groups: &[(StrategyId, &str)],
) -> QueryResult<()> {
    diesel::RunQueryDsl::execute(note(groups), conn).map(drop)
}

/// `note`, from async code.
pub async fn note_async(
    conn: &mut AsyncPgConnection,
    groups: &[(StrategyId, &str)],
) -> QueryResult<()> {
    diesel_async::RunQueryDsl::execute(note(groups), conn)
        .await
        .map(drop)
}

/// Whether the summaries can answer a ranking under `filter`: they are kept per strategy and
/// data set, so sweeps, tags, notes and `--where` need the runs themselves.
pub fn answers(filter: &Resolved) -> bool {
    filter.sweep_id.is_none()
        && filter.tags.is_empty()
        && filter.note.is_none()
        && filter.condition.is_none()
}

/// The condition on a kept row `s` that its group has no note.
fn unless_noted(filter: &Resolved) -> &'static str {
    match filter.dataset {
        Some(_) => {
            "NOT EXISTS (SELECT 1 FROM metric_summary_changes c \
             WHERE c.strategy_id = s.strategy_id AND c.dataset = s.dataset)"
        }
        None => {
            "NOT EXISTS (SELECT 1 FROM metric_summary_changes c \
             WHERE c.strategy_id = s.strategy_id)"
        }
    }
}

/// The strategies with a noted group that `filter` reads (`$2`: its data set).
fn noted_strategies(filter: &Resolved) -> &'static str {
    match filter.dataset {
        Some(_) => "SELECT c.strategy_id FROM metric_summary_changes c WHERE c.dataset = $2",
        None => "SELECT c.strategy_id FROM metric_summary_changes c",
    }
}

/// The sample variance of the per-period Sharpe ratios of `metrics` rows joined with their
/// `runs`: a stored ratio is annualised by √periods_per_year. Ratios past ±2^480 count as
/// ±2^480, so that var_samp's sum of squares cannot overflow and fail the ranking (the figure
/// is then meaningless for that strategy, and no other). Migration 21's `btdb_period_sharpe`
/// is the same for the fold, which Citus's workers do not run.
pub const PERIOD_SHARPE_VARIANCE: &str = "var_samp(CASE \
     WHEN abs(metrics.value) < 2::float8 ^ 480 * sqrt(runs.periods_per_year) \
     THEN metrics.value / sqrt(runs.periods_per_year) \
     ELSE sign(metrics.value) * 2::float8 ^ 480 END)";

/// One strategy's trials for the deflated Sharpe ratio.
#[derive(Debug, QueryableByName)]
pub struct Trials {
    #[diesel(sql_type = BigInt)]
    pub strategy_id: StrategyId,
    /// Parameter sets tried.
    #[diesel(sql_type = BigInt)]
    pub parameter_sets: i64,
    /// The variance of their Sharpe ratios per period; `None` below two runs.
    #[diesel(sql_type = Nullable<Double>)]
    pub variance: Option<f64>,
}

/// The trials of the strategies `ids` under `filter` (which `answers` accepts), on one server:
/// kept with the `sharpe` summaries (migration 21) for the groups without a note, counted from
/// the runs for the others, in one statement as the scores are.
pub async fn trials(
    conn: &mut Reader<'_>,
    filter: &Resolved,
    ids: &[StrategyId],
) -> QueryResult<Vec<Trials>> {
    let (summaries, kept_on, counted_on) = match filter.dataset {
        Some(_) => (
            "metric_summaries s",
            " AND s.dataset = $2",
            " AND metrics.dataset = $2",
        ),
        None => ("pooled_metric_summaries s", "", ""),
    };
    let sql = format!(
        "SELECT s.strategy_id, s.parameter_sets, s.period_sharpe_variance AS variance \
         FROM {summaries} \
         WHERE s.name = 'sharpe' AND s.strategy_id = ANY($1){kept_on} AND {} \
         UNION ALL \
         SELECT metrics.strategy_id, count(DISTINCT metrics.parameter_set_id), \
                {PERIOD_SHARPE_VARIANCE} \
         FROM metrics JOIN runs ON runs.id = metrics.run_id \
         WHERE metrics.name = 'sharpe' AND metrics.completed \
           AND metrics.strategy_id = ANY($1) AND runs.strategy_id = ANY($1){counted_on} \
           AND metrics.strategy_id IN ({}) \
         GROUP BY metrics.strategy_id",
        unless_noted(filter),
        noted_strategies(filter),
    );
    let ids: Vec<i64> = ids.iter().map(|s| s.0).collect();
    load(conn, || {
        diesel::sql_query(sql.clone())
            .into_boxed()
            .bind::<Array<BigInt>, _>(ids.clone())
            .bind::<Text, _>(filter.dataset.clone().unwrap_or_default())
    })
    .await
}

/// One strategy's score.
#[derive(Debug, QueryableByName)]
pub struct Scored {
    #[diesel(sql_type = BigInt)]
    pub strategy_id: StrategyId,
    #[diesel(sql_type = Nullable<Double>)]
    pub score: Option<f64>,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    /// The value of its best run in the ranking's direction (highest when descending).
    #[diesel(sql_type = Nullable<Double>)]
    pub extreme: Option<f64>,
    /// On Citus, the earliest run with that value (one server finds it by a probe).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub best_run: Option<RunId>,
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
    /// Whether a strategy's best run is its highest value (the metric's direction, which
    /// `--by count` does not change).
    pub highest_best: bool,
    pub min_runs: Option<i64>,
    pub top: Option<i64>,
}

/// One of the queries of a ranking on Citus.
pub type Query = BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery>;

impl SummaryRanking<'_> {
    /// `(strategy, score, runs, extreme, best run)` per strategy, best score first (ties:
    /// lower strategy id), as the reader's layout reads them.
    pub async fn load(&self, conn: &mut Reader<'_>) -> QueryResult<Vec<Scored>> {
        match conn.layout() {
            Layout::Single => load(conn, || self.query()).await,
            Layout::Distributed => super::citus::summary_scores(self, conn).await,
        }
    }

    /// On one server: in one statement, so one snapshot.
    fn query(&self) -> Query {
        let kept = self.kept(self.unless_noted(), false);
        let counted = self.counted(&format!("IN ({})", self.noted_strategies()), false);
        self.bind(
            self.ordered(&format!("{kept} UNION ALL {counted}"), ""),
            &[],
            None,
        )
    }

    /// The kept rows' condition that their group has no note.
    pub(super) fn unless_noted(&self) -> &'static str {
        unless_noted(self.filter)
    }

    /// The strategies with a noted group the ranking reads (`$2`: the data set).
    pub(super) fn noted_strategies(&self) -> &'static str {
        noted_strategies(self.filter)
    }

    /// The filter's data set (`$2`) and strategies (`$3`) on `table`.
    fn restrict(&self, table: &str) -> String {
        let mut restrict = String::new();
        if self.filter.dataset.is_some() {
            restrict.push_str(&format!(" AND {table}.dataset = $2"));
        }
        if self.filter.strategy_ids.is_some() {
            restrict.push_str(&format!(" AND {table}.strategy_id = ANY($3)"));
        }
        restrict
    }

    /// The kept rows of the strategies `fresh` accepts; on Citus (`distributed`) with the
    /// best run the summaries name.
    pub(super) fn kept(&self, fresh: &str, distributed: bool) -> String {
        let summaries = match self.filter.dataset {
            Some(_) => "metric_summaries s",
            None => "pooled_metric_summaries s",
        };
        let (extreme, run) = if self.highest_best {
            ("s.highest", "s.highest_run")
        } else {
            ("s.lowest", "s.lowest_run")
        };
        let run = if distributed { run } else { "NULL::bigint" };
        format!(
            "SELECT s.strategy_id, {} AS score, s.runs, {extreme} AS extreme, {run} AS best_run \
             FROM {summaries} \
             WHERE s.name = $1{} AND {fresh}",
            self.score.column,
            self.restrict("s"),
        )
    }

    /// The rows of the strategies `which` accepts, aggregated from `metrics`; on Citus
    /// (`distributed`) with their best run.
    pub(super) fn counted(&self, which: &str, distributed: bool) -> String {
        let (extreme, order) = if self.highest_best {
            ("max(metrics.value)", "DESC")
        } else {
            ("min(metrics.value)", "ASC")
        };
        let run = if distributed {
            format!("(array_agg(metrics.run_id ORDER BY metrics.value {order}, metrics.run_id))[1]")
        } else {
            "NULL::bigint".to_owned()
        };
        format!(
            "SELECT metrics.strategy_id, {} AS score, count(*) AS runs, {extreme} AS extreme, \
             {run} AS best_run FROM metrics WHERE metrics.name = $1 AND metrics.completed{} \
             AND metrics.strategy_id {which} GROUP BY metrics.strategy_id",
            self.score.aggregate,
            self.restrict("metrics"),
        )
    }

    /// `rows` (a union of scored rows) kept to `--min-runs` (`$4`), in rank order, the first
    /// `--top` (`$5`), with the columns `more` after the score's.
    pub(super) fn ordered(&self, rows: &str, more: &str) -> String {
        let mut sql =
            format!("SELECT strategy_id, score, runs, extreme, best_run{more} FROM ({rows}) r");
        if self.min_runs.is_some() {
            sql.push_str(" WHERE runs >= $4");
        }
        let order = if self.descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY score {order} NULLS LAST, strategy_id"));
        if self.top.is_some() {
            sql.push_str(" LIMIT $5");
        }
        sql
    }

    /// `sql` with its values: `$1`–`$5` always (unused placeholders cannot be left out of
    /// the numbering, so each gets a value and the text refers only to those it needs), the
    /// noted strategies as `$6` and the scores counted from them as `$7`–`$11` on Citus.
    pub(super) fn bind(&self, sql: String, noted: &[i64], counted: Option<&[Scored]>) -> Query {
        let ids: Vec<i64> = self
            .filter
            .strategy_ids
            .iter()
            .flatten()
            .map(|s| s.0)
            .collect();
        let query = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Text, _>(self.metric.to_owned())
            .bind::<Text, _>(self.filter.dataset.clone().unwrap_or_default())
            .bind::<Array<BigInt>, _>(ids)
            .bind::<BigInt, _>(self.min_runs.unwrap_or(0))
            .bind::<BigInt, _>(self.top.unwrap_or(0));
        if noted.is_empty() && counted.is_none() {
            return query;
        }
        let query = query.bind::<Array<BigInt>, _>(noted.to_vec());
        let Some(counted) = counted else {
            return query;
        };
        query
            .bind::<Array<BigInt>, _>(counted.iter().map(|c| c.strategy_id.0).collect::<Vec<_>>())
            .bind::<Array<Nullable<Double>>, _>(counted.iter().map(|c| c.score).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(counted.iter().map(|c| c.runs).collect::<Vec<_>>())
            .bind::<Array<Nullable<Double>>, _>(
                counted.iter().map(|c| c.extreme).collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<BigInt>>, _>(
                counted
                    .iter()
                    .map(|c| c.best_run.map(|r| r.0))
                    .collect::<Vec<_>>(),
            )
    }
}
