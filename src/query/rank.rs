//! Ranking strategies, or single runs, by one metric, in a constant number of queries.
//!
//! Every order reads the kept summaries, one row per strategy (query/summary.rs), unless the
//! filter needs the runs themselves (sweep, tags, note, `--where`). Then `--by best` (and
//! `worst`) asks each strategy's completed runs for their extreme value with one probe of
//! `metrics_rank_idx` per strategy (a LATERAL subquery), so it costs a few index pages per
//! strategy however many runs each has, and the other orders aggregate every matching row.

use std::collections::HashMap;

use anyhow::Result;
use diesel::dsl;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{
    AstPass, BoxedSelectStatement, FromClause, Query, QueryFragment, QueryId,
};
use diesel::sql_types::{Array, BigInt, Double, Nullable};

use crate::db::aggregate::{mean_of, median_of};
use crate::db::explain::{self, load};
use crate::db::{Layout, Reader};
use serde::Serialize;

use super::StrategyRef;
use super::filter::{METRICS, Resolved};
use super::runs::{RunList, RunSummary};
use super::summary::{self, Score, Scored, SummaryRanking};
use crate::metrics::stats::{self, SharpeConfidence, TrialSet};
use crate::models::{RunId, StrategyId};
use crate::schema::{metrics, runs};

/// How a strategy's runs become one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// Its best run.
    Best,
    /// The mean over its runs.
    Mean,
    /// The median over its runs.
    Median,
    /// Its worst run.
    Worst,
    /// How many runs have the metric.
    Count,
}

impl By {
    pub const ALL: [By; 5] = [By::Best, By::Mean, By::Median, By::Worst, By::Count];

    /// The name the command line and JSON use.
    pub const fn as_str(self) -> &'static str {
        match self {
            By::Best => "best",
            By::Mean => "mean",
            By::Median => "median",
            By::Worst => "worst",
            By::Count => "count",
        }
    }
}

/// What to rank and how.
#[derive(Debug, Clone)]
pub struct Ranking {
    pub metric: String,
    pub by: By,
    /// Higher values rank first.
    pub descending: bool,
    pub filter: Resolved,
    /// Leave out strategies with fewer runs.
    pub min_runs: Option<i64>,
    /// How many rows; `None` for all.
    pub top: Option<i64>,
}

/// One strategy's place.
#[derive(Debug, Clone, Serialize)]
pub struct StrategyRank {
    pub rank: usize,
    pub strategy: StrategyRef,
    pub score: f64,
    /// Completed runs with the metric; `None` only for `--by best|worst` without `--min-runs`
    /// under a filter the summaries cannot answer (sweep, tags, note, `--where`): those read one
    /// index entry per strategy and do not count.
    pub runs: Option<i64>,
    /// The strategy's best run by the metric (ties: the earliest recorded).
    pub best_value: f64,
    pub best_run: RunSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deflated: Option<DeflatedSharpe>,
}

/// The deflated Sharpe ratio of a strategy's best run.
#[derive(Debug, Clone, Serialize)]
pub struct DeflatedSharpe {
    /// Parameter sets tried (N).
    pub trials: i64,
    /// Probability that the best run's true Sharpe ratio beats the best of `trials` skill-less
    /// ones; `null` when undefined (too few returns, or no skew and kurtosis recorded).
    pub probability: Option<f64>,
    /// The annualised Sharpe ratio the best of `trials` skill-less trials would reach.
    pub expected_max_sharpe: Option<f64>,
}

/// One run's place.
#[derive(Debug, Clone, Serialize)]
pub struct RunRank {
    pub rank: usize,
    pub value: f64,
    pub run: RunSummary,
    /// With `rank --runs --psr`: the probabilistic Sharpe ratio and minimum track record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<SharpeConfidence>,
}

/// A strategy's best run and that run's value.
type BestRun = (RunId, f64);

impl Ranking {
    /// Strategies in rank order, each with its best run; `deflated` adds the deflated Sharpe
    /// ratio (which reads the `sharpe` metric whatever `metric` is).
    pub async fn strategies(
        &self,
        conn: &mut Reader<'_>,
        deflated: bool,
    ) -> Result<Vec<StrategyRank>> {
        // The summaries answer any order with one row per strategy, counted. Under a filter
        // they cannot answer, `--by best` and `worst` read one index entry per strategy and do
        // not count; the other orders aggregate the matching runs.
        // On Citus a probe per strategy cannot be pushed down to the workers: without the
        // summaries every order is an aggregate, computed per shard and combined.
        let single = conn.layout() == Layout::Single;
        let summarised = summary::answers(&self.filter);
        // Where one server reads one index entry per strategy, runs are not counted, on Citus
        // either: both layouts give the same answer.
        let uncounted =
            !summarised && matches!(self.by, By::Best | By::Worst) && self.min_runs.is_none();
        let probe_only = single && uncounted;
        // (strategy, score, its best run and that run's value where already known, completed
        // runs with the metric where counted).
        let scored: Vec<(StrategyId, f64, Option<BestRun>, Option<i64>)> = if summarised {
            let ranking = SummaryRanking {
                metric: &self.metric,
                filter: &self.filter,
                score: self.score(),
                descending: self.ranks_descending(),
                highest_best: self.descending,
                min_runs: self.min_runs,
                top: self.top,
            };
            explain::path("ranking from the summaries: one kept row per strategy");
            let rows: Vec<Scored> = ranking.load(conn).await?;
            // On Citus the summaries name each strategy's best run.
            rows.into_iter()
                .filter_map(|s| {
                    let best = s.best_run.zip(s.extreme);
                    Some((s.strategy_id, s.score?, best, Some(s.runs)))
                })
                .collect()
        } else if probe_only {
            let probe_descending = (self.by == By::Best) == self.descending;
            explain::path("ranking by probes: one index entry per strategy, runs not counted");
            let probed_best = self.by == By::Best;
            load::<_, (StrategyId, RunId, f64)>(conn, || self.probe(probe_descending, None))
                .await?
                .into_iter()
                .map(|(strategy, run, value)| {
                    (strategy, value, probed_best.then_some((run, value)), None)
                })
                .collect()
        } else {
            explain::path("ranking by aggregate: every matching run's value");
            load::<_, (StrategyId, Option<f64>, i64)>(conn, || self.aggregate(None))
                .await?
                .into_iter()
                .filter_map(|(strategy, score, n)| {
                    Some((strategy, score?, None, (!uncounted).then_some(n)))
                })
                .collect()
        };
        if scored.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<StrategyId> = scored.iter().map(|(s, ..)| *s).collect();
        let known: HashMap<StrategyId, BestRun> = scored
            .iter()
            .filter_map(|(s, _, best, _)| Some((*s, (*best)?)))
            .collect();
        let best = if known.len() == scored.len() {
            known
        } else {
            let best = if single {
                load::<_, (StrategyId, RunId, f64)>(conn, || {
                    self.probe(self.descending, Some(&ids))
                })
                .await?
            } else {
                load::<_, (StrategyId, RunId, f64)>(conn, || self.extremes(&ids)).await?
            };
            best.into_iter()
                .map(|(strategy, run, value)| (strategy, (run, value)))
                .collect()
        };
        let run_ids: Vec<RunId> = ids
            .iter()
            .filter_map(|s| best.get(s))
            .map(|b| b.0)
            .collect();
        let runs: HashMap<RunId, RunSummary> = RunList::by_ids(run_ids)
            .fetch(conn)
            .await?
            .into_iter()
            .map(|run| (run.id, run))
            .collect();
        let trials = if deflated {
            self.trials(conn, &ids, summarised).await?
        } else {
            Vec::new()
        };
        let trials: HashMap<StrategyId, (i64, Option<f64>)> =
            trials.into_iter().map(|(s, n, v)| (s, (n, v))).collect();
        let mut out = Vec::with_capacity(scored.len());
        for (strategy, score, _, runs_counted) in scored {
            let Some((run_id, best_value)) = best.get(&strategy).copied() else {
                continue;
            };
            let Some(run) = runs.get(&run_id).cloned() else {
                continue;
            };
            let deflated = deflated.then(|| {
                let (n, variance) = trials.get(&strategy).copied().unwrap_or((0, None));
                deflate(&run, n, variance)
            });
            out.push(StrategyRank {
                rank: out.len() + 1,
                strategy: run.strategy.clone(),
                score,
                runs: runs_counted,
                best_value,
                best_run: run,
                deflated,
            });
        }
        Ok(out)
    }

    /// Single runs in rank order.
    pub async fn runs(&self, conn: &mut Reader<'_>) -> Result<Vec<RunRank>> {
        let query = || {
            let query = self
                .completed_rows()
                .select((metrics::run_id, metrics::value));
            let query = if self.descending {
                query.order((metrics::value.desc(), metrics::run_id))
            } else {
                query.order((metrics::value.asc(), metrics::run_id))
            };
            match self.top {
                Some(top) => query.limit(top),
                None => query,
            }
        };
        let ranked: Vec<(RunId, f64)> = load(conn, query).await?;
        let runs = RunList::by_ids(ranked.iter().map(|(id, _)| *id).collect())
            .fetch(conn)
            .await?;
        Ok(ranked
            .into_iter()
            .zip(runs)
            .enumerate()
            .map(|(i, ((_, value), run))| RunRank {
                rank: i + 1,
                value,
                run,
                confidence: None,
            })
            .collect())
    }

    /// Completed runs' rows of the metric that pass the filter.
    fn completed_rows<'a>(&self) -> metrics::BoxedQuery<'a, Pg> {
        self.restrict(metrics::table.into_boxed())
    }

    /// `query` kept to completed runs' rows of the metric that pass the filter.
    fn restrict<'a, ST, GB>(
        &self,
        query: BoxedSelectStatement<'a, ST, FromClause<metrics::table>, Pg, GB>,
    ) -> BoxedSelectStatement<'a, ST, FromClause<metrics::table>, Pg, GB> {
        let mut query = query
            .filter(metrics::name.eq(self.metric.clone()))
            .filter(metrics::completed.eq(true));
        for predicate in self.filter.predicates(METRICS) {
            query = query.filter(predicate);
        }
        query
    }

    /// Each strategy's extreme run, ordered by its value: `(strategy, run, value)`.
    fn probe(&self, probe_descending: bool, only: Option<&[StrategyId]>) -> BestPerStrategy {
        let query = self
            .completed_rows()
            .filter(metrics::strategy_id.eq(OuterStrategyId));
        // Ties go to the earliest recorded run, whichever way the values sort.
        let query = if probe_descending {
            query.order((metrics::value.desc(), metrics::run_id))
        } else {
            query.order((metrics::value.asc(), metrics::run_id))
        };
        // The top strategies by their best value are the first distinct strategies met when
        // walking every run in value order: try that on the best few thousand rows first.
        let walk = match (only, self.top, &self.filter.strategy_ids) {
            (None, Some(top), None) if probe_descending == self.descending => {
                let rows = (top * WALK_ROWS_PER_STRATEGY).clamp(256, 100_000);
                let walk = self.completed_rows();
                let walk = if self.descending {
                    walk.order((metrics::value.desc(), metrics::strategy_id, metrics::run_id))
                } else {
                    walk.order((metrics::value.asc(), metrics::strategy_id, metrics::run_id))
                };
                Some((
                    walk.select((metrics::strategy_id, metrics::run_id, metrics::value))
                        .limit(rows),
                    rows,
                ))
            }
            _ => None,
        };
        BestPerStrategy {
            walk,
            probe: query.select((metrics::run_id, metrics::value)).limit(1),
            only: only.map(<[StrategyId]>::to_vec),
            descending: self.descending,
            limit: if only.is_some() { None } else { self.top },
        }
    }

    /// Each of `ids`' extreme run in one pass over their rows, `(strategy, run, value)`: the
    /// probe's answer in a form Citus runs on every shard (`DISTINCT ON` after gathering).
    fn extremes<'a>(
        &self,
        ids: &[StrategyId],
    ) -> BoxedSelectStatement<'a, (BigInt, BigInt, Double), FromClause<metrics::table>, Pg> {
        let query = self
            .restrict(
                metrics::table
                    .distinct_on(metrics::strategy_id)
                    .select((metrics::strategy_id, metrics::run_id, metrics::value))
                    .into_boxed(),
            )
            .filter(metrics::strategy_id.eq_any(ids.to_vec()));
        // Ties go to the earliest recorded run, as the probe's do.
        if self.descending {
            query.order((metrics::strategy_id, metrics::value.desc(), metrics::run_id))
        } else {
            query.order((metrics::strategy_id, metrics::value.asc(), metrics::run_id))
        }
    }

    /// `(strategy, score, runs)` per strategy, best score first; `only` restricts strategies.
    fn aggregate<'a>(
        &self,
        only: Option<&[StrategyId]>,
    ) -> BoxedSelectStatement<
        'a,
        (BigInt, Nullable<Double>, BigInt),
        FromClause<metrics::table>,
        Pg,
        metrics::strategy_id,
    > {
        let score = self.score().aggregate;
        let mut query = self.restrict(
            metrics::table
                .group_by(metrics::strategy_id)
                .select((
                    metrics::strategy_id,
                    dsl::sql::<Nullable<Double>>(score),
                    dsl::count_star(),
                ))
                .into_boxed(),
        );
        if let Some(ids) = only {
            query = query.filter(metrics::strategy_id.eq_any(ids.to_vec()));
        }
        if let Some(min) = self.min_runs {
            query = query.having(dsl::count_star().ge(min));
        }
        query = if self.ranks_descending() {
            query.order((
                dsl::sql::<Nullable<Double>>(score).desc().nulls_last(),
                metrics::strategy_id,
            ))
        } else {
            query.order((
                dsl::sql::<Nullable<Double>>(score).asc().nulls_last(),
                metrics::strategy_id,
            ))
        };
        if let (Some(top), None) = (self.top, only) {
            query = query.limit(top);
        }
        query
    }

    /// The score, as an aggregate over `metrics` and as the summaries' column that keeps it.
    /// Static SQL per variant: nothing the user typed reaches this text.
    fn score(&self) -> Score {
        let (column, aggregate) = match (self.by, self.descending) {
            (By::Best, true) | (By::Worst, false) => ("s.highest", "max(metrics.value)"),
            (By::Best, false) | (By::Worst, true) => ("s.lowest", "min(metrics.value)"),
            (By::Mean, _) => ("s.mean", mean_of!("metrics.value")),
            (By::Median, _) => ("s.median", median_of!("metrics.value")),
            (By::Count, _) => ("s.runs::float8", "count(*)::float8"),
        };
        Score { column, aggregate }
    }

    /// Whether higher scores rank first: more runs do, whichever way the metric goes.
    fn ranks_descending(&self) -> bool {
        self.descending || self.by == By::Count
    }

    /// Per strategy: parameter sets tried, and the variance of their per-period Sharpe ratios;
    /// on one server from the summaries where they answer (`summarised`).
    async fn trials(
        &self,
        conn: &mut Reader<'_>,
        ids: &[StrategyId],
        summarised: bool,
    ) -> Result<Vec<(StrategyId, i64, Option<f64>)>> {
        if summarised && conn.layout() == Layout::Single {
            let kept = summary::trials(conn, &self.filter, ids).await?;
            return Ok(kept
                .into_iter()
                .map(|t| (t.strategy_id, t.parameter_sets, t.variance))
                .collect());
        }
        let query = || {
            let mut query = metrics::table
                .inner_join(runs::table)
                .filter(metrics::name.eq("sharpe"))
                .filter(metrics::completed.eq(true))
                .filter(metrics::strategy_id.eq_any(ids.to_vec()))
                // Implied by the line above (metrics copies the run's strategy), but it lets
                // the planner reach runs through its strategy index rather than a full scan.
                .filter(runs::strategy_id.eq_any(ids.to_vec()))
                .group_by(metrics::strategy_id)
                .select((
                    metrics::strategy_id,
                    dsl::count(metrics::parameter_set_id).aggregate_distinct(),
                    dsl::sql::<Nullable<Double>>(summary::PERIOD_SHARPE_VARIANCE),
                ))
                .into_boxed();
            for predicate in self.filter.predicates(METRICS) {
                query = query.filter(predicate);
            }
            query
        };
        Ok(load(conn, query).await?)
    }
}

/// The deflated Sharpe ratio of `run`, the best of `trials`, from its own metrics.
fn deflate(run: &RunSummary, trials: i64, variance: Option<f64>) -> DeflatedSharpe {
    let root = run.periods_per_year.sqrt();
    let metric = |name: &str| run.metrics.get(name);
    let result = match (
        metric("sharpe"),
        metric("n_periods"),
        metric("returns_skew"),
        metric("returns_kurtosis"),
    ) {
        (Some(sharpe), Some(periods), Some(skew), Some(kurtosis)) => {
            stats::deflated_sharpe(&TrialSet {
                sharpe: sharpe / root,
                periods,
                skew,
                kurtosis,
                trials: u64::try_from(trials).unwrap_or(0),
                variance: variance.unwrap_or(0.0),
            })
        }
        _ => None,
    };
    DeflatedSharpe {
        trials,
        probability: result.map(|d| d.probability),
        expected_max_sharpe: result.map(|d| d.expected_max * root),
    }
}

/// `s.id` of the LATERAL query: the probe's correlation with the strategy it is run for.
#[derive(Debug, Clone, Copy, QueryId)]
struct OuterStrategyId;

impl Expression for OuterStrategyId {
    type SqlType = BigInt;
}

impl QueryFragment<Pg> for OuterStrategyId {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("s.id");
        Ok(())
    }
}

// Valid only inside `BestPerStrategy`, which puts `strategies s` around the probe.
impl AppearsOnTable<metrics::table> for OuterStrategyId {}
impl SelectableExpression<metrics::table> for OuterStrategyId {}

impl ValidGrouping<()> for OuterStrategyId {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

type Probe = metrics::BoxedQuery<'static, Pg, (BigInt, Double)>;
type Walk = metrics::BoxedQuery<'static, Pg, (BigInt, BigInt, Double)>;

/// Rows of the value-ordered walk per strategy wanted: enough when a few strategies dominate
/// the top; when it is not enough, the query falls back to a probe per strategy by itself.
const WALK_ROWS_PER_STRATEGY: i64 = 64;

/// Each strategy's extreme run, in rank order: `(strategy, run, value)`.
///
/// `SELECT s.id, b.run_id, b.value FROM strategies s CROSS JOIN LATERAL (probe) b …` probes
/// each strategy once. With a `walk`, the query first reads the metric's rows in value order
/// (`metrics_value_idx`): the first K distinct strategies met are the top K, exactly (a
/// strategy's first row in that order is its best, and the order is total). Only when the
/// walk's rows hold fewer than K strategies does the probe branch run. Diesel has neither
/// LATERAL nor WITH, so this node writes the frame and Diesel writes both subqueries, binds
/// included.
struct BestPerStrategy {
    walk: Option<(Walk, i64)>,
    probe: Probe,
    only: Option<Vec<StrategyId>>,
    descending: bool,
    limit: Option<i64>,
}

impl QueryFragment<Pg> for BestPerStrategy {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let order = if self.descending { "DESC" } else { "ASC" };
        if let (Some((walk, rows)), Some(limit)) = (&self.walk, &self.limit) {
            out.push_sql("WITH c AS (");
            QueryFragment::<Pg>::walk_ast(walk, out.reborrow())?;
            out.push_sql(&format!(
                "), f AS (SELECT DISTINCT ON (strategy_id) strategy_id, run_id, value FROM c \
                 ORDER BY strategy_id, value {order}, run_id), \
                 enough AS (SELECT (SELECT count(*) FROM f) >= "
            ));
            out.push_bind_param::<BigInt, _>(limit)?;
            out.push_sql(" OR (SELECT count(*) FROM c) < ");
            out.push_bind_param::<BigInt, _>(rows)?;
            out.push_sql(
                " AS walked) SELECT * FROM (SELECT strategy_id, run_id, value FROM f \
                 WHERE (SELECT walked FROM enough) UNION ALL ",
            );
        }
        out.push_sql("SELECT s.id, b.run_id, b.value FROM strategies s CROSS JOIN LATERAL (");
        QueryFragment::<Pg>::walk_ast(&self.probe, out.reborrow())?;
        out.push_sql(") b");
        if let Some(ids) = &self.only {
            out.push_sql(" WHERE s.id = ANY(");
            out.push_bind_param::<Array<BigInt>, _>(ids)?;
            out.push_sql(")");
        }
        if self.walk.is_some() && self.limit.is_some() {
            out.push_sql(" WHERE NOT (SELECT walked FROM enough)) u");
            out.push_sql(&format!(" ORDER BY value {order}, strategy_id"));
        } else {
            out.push_sql(&format!(" ORDER BY b.value {order}, s.id"));
        }
        if let Some(limit) = &self.limit {
            out.push_sql(" LIMIT ");
            out.push_bind_param::<BigInt, _>(limit)?;
        }
        Ok(())
    }
}

impl QueryId for BestPerStrategy {
    type QueryId = ();
    // Its text varies with the filters: never cached as a prepared statement.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for BestPerStrategy {
    type SqlType = (BigInt, BigInt, Double);
}
