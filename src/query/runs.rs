//! Run listings: a page of runs with strategy, parameters, sweep and metrics, in two queries
//! whatever the page size.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::dsl::AsSelect;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::AsyncPgConnection;
use futures_util::TryStreamExt;
use serde::Serialize;

use super::StrategyRef;
use super::count::bounded_count;
use super::filter::{METRICS, RUNS, Resolved};
use crate::db::explain::{self, load};
use crate::db::{Layout, Reader};
use crate::models::{
    MetricSet, MetricSetId, ParameterSet, Run, RunId, RunMetrics, RunStatus, Strategy, Sweep,
};
use crate::schema::{metrics, parameter_sets, runs, strategies, sweeps};

/// Most runs one page holds.
pub const MAX_PAGE: i64 = 10_000;

/// A run as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: RunId,
    pub run_key: String,
    pub strategy: StrategyRef,
    pub params: serde_json::Value,
    pub dataset: String,
    pub status: RunStatus,
    pub sweep: Option<String>,
    pub tags: Vec<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub recorded_at: DateTime<Utc>,
    pub metrics: RunMetrics,
}

/// A run with the rows it belongs to.
pub type RunWithParents = (Run, Strategy, ParameterSet, Option<Sweep>);

/// What a listing reads of a run: the columns it shows, not those that only its document
/// and the recorder need (hashes, the supplied metrics' names), which cost as much again to
/// decode at a million runs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = runs, check_for_backend(diesel::pg::Pg))]
pub struct ListedRun {
    pub id: RunId,
    pub run_key: String,
    pub dataset: String,
    pub status: RunStatus,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub tags: Vec<String>,
    pub recorded_at: DateTime<Utc>,
    pub metric_set_id: Option<MetricSetId>,
    pub metric_values: Option<Vec<f64>>,
}

/// A listed run with its strategy, its parameters and its sweep's name.
pub type ListedRow = (ListedRun, StrategyRef, serde_json::Value, Option<String>);

/// Runs joined with their strategy, parameter set and sweep.
type JoinedParents = diesel::dsl::LeftJoin<
    diesel::dsl::InnerJoin<
        diesel::dsl::InnerJoin<runs::table, strategies::table>,
        parameter_sets::table,
    >,
    sweeps::table,
>;

/// The query of [`ListedRow`]s.
type ListedQuery = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::Select<
        JoinedParents,
        (
            AsSelect<ListedRun, Pg>,
            AsSelect<StrategyRef, Pg>,
            parameter_sets::params,
            diesel::dsl::Nullable<sweeps::name>,
        ),
    >,
    Pg,
>;

/// Converts a run read whole with its parents.
pub fn listed((run, strategy, params, sweep): RunWithParents) -> ListedRow {
    let run = ListedRun {
        id: run.id,
        run_key: run.run_key,
        dataset: run.dataset,
        status: run.status,
        period_start: run.period_start,
        period_end: run.period_end,
        initial_capital: run.initial_capital,
        periods_per_year: run.periods_per_year,
        tags: run.tags,
        recorded_at: run.recorded_at,
        metric_set_id: run.metric_set_id,
        metric_values: run.metric_values,
    };
    (run, strategy.into(), params.params, sweep.map(|s| s.name))
}

fn joined_parents() -> JoinedParents {
    runs::table
        .inner_join(strategies::table)
        .inner_join(parameter_sets::table)
        .left_join(sweeps::table)
}

type WithParents = diesel::dsl::Select<
    JoinedParents,
    (
        AsSelect<Run, Pg>,
        AsSelect<Strategy, Pg>,
        AsSelect<ParameterSet, Pg>,
        AsSelect<Option<Sweep>, Pg>,
    ),
>;

/// Runs joined with their strategy, parameter set and sweep: one query for a page of runs and
/// everything single-valued shown beside them.
pub fn with_parents() -> WithParents {
    joined_parents().select((
        Run::as_select(),
        Strategy::as_select(),
        ParameterSet::as_select(),
        Option::<Sweep>::as_select(),
    ))
}

/// The names of metric sets by id, shared by the runs read with each.
pub type SetNames = HashMap<MetricSetId, Arc<[String]>>;

/// The names of the metric sets `ids`: a few rows, whatever the number of runs.
pub async fn set_names(
    conn: &mut AsyncPgConnection,
    ids: impl IntoIterator<Item = MetricSetId>,
) -> Result<SetNames> {
    let mut ids: Vec<MetricSetId> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(SetNames::new());
    }
    let sets: Vec<MetricSet> = load(conn, || MetricSet::by_ids(ids.clone())).await?;
    Ok(named(sets))
}

/// `sets` as the names runs share.
fn named(sets: Vec<MetricSet>) -> SetNames {
    sets.into_iter().map(|s| (s.id, s.names.into())).collect()
}

/// Runs read with their parents as listings show them, each with the metrics its row keeps:
/// one more query, for the names of their metric sets.
pub async fn summaries(
    conn: &mut AsyncPgConnection,
    rows: Vec<ListedRow>,
) -> Result<Vec<RunSummary>> {
    let sets = set_names(conn, rows.iter().filter_map(|(run, ..)| run.metric_set_id)).await?;
    Ok(rows
        .into_iter()
        .map(|row| RunSummary::new(row, &sets))
        .collect())
}

/// `summaries` of runs read whole with their parents.
pub async fn summaries_of(
    conn: &mut AsyncPgConnection,
    rows: Vec<RunWithParents>,
) -> Result<Vec<RunSummary>> {
    summaries(conn, rows.into_iter().map(listed).collect()).await
}

impl RunSummary {
    /// The summary of a listed run, its metrics named by `sets`.
    pub fn new((mut run, strategy, params, sweep): ListedRow, sets: &SetNames) -> Self {
        let metrics = match (run.metric_set_id, run.metric_values.take()) {
            (Some(set), Some(values)) => sets
                .get(&set)
                .map(|names| RunMetrics::new(names.clone(), values))
                .unwrap_or_default(),
            _ => RunMetrics::default(),
        };
        Self {
            id: run.id,
            run_key: run.run_key,
            strategy,
            params,
            dataset: run.dataset,
            status: run.status,
            sweep,
            tags: run.tags,
            period_start: run.period_start,
            period_end: run.period_end,
            initial_capital: run.initial_capital,
            periods_per_year: run.periods_per_year,
            recorded_at: run.recorded_at,
            metrics,
        }
    }
}

/// The order of a listing: by recording (the run id) or by a metric, ties broken by the id so
/// that every run has one place and keyset paging neither repeats nor skips a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sort {
    /// `None`: by recording.
    pub metric: Option<String>,
    /// Smallest first; largest (newest) first otherwise.
    pub ascending: bool,
}

/// Counts stop here: past it a listing says "more than" it. Counting stops early, so a count
/// costs at most this many index entries whatever the filter.
pub const COUNT_BOUND: i64 = 10_000;

/// How many runs a listing matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The count, or `COUNT_BOUND` when more match.
    pub runs: i64,
    /// False when more than `runs` match.
    pub exact: bool,
}

/// Which runs to list: in `sort` order, a page after or before a cursor, or exactly the given
/// ids.
#[derive(Debug, Clone, Default)]
pub struct RunList {
    pub filter: Resolved,
    pub status: Option<RunStatus>,
    pub sort: Sort,
    /// Keyset cursor: list the runs that follow this run in `sort` order.
    pub after: Option<RunId>,
    /// Keyset cursor back: the page of runs just before this run (still in `sort` order).
    pub before: Option<RunId>,
    /// Page size (capped at `MAX_PAGE` and the one more that says whether a page follows);
    /// ignored when `ids` is given.
    pub limit: i64,
    /// Exactly these runs, in this order (ranking loads its winners this way).
    pub ids: Option<Vec<RunId>>,
}

/// A keyset condition: rows after `(value, id)` when reading downwards, before it upwards.
type MetricKeyset = (f64, RunId);

/// Where a page sorted by a metric starts: at the listing's start, at a run with a ranked
/// value, or at one of the rest, listed after them.
#[derive(Debug, Clone, Copy)]
enum At {
    Start,
    Ranked(MetricKeyset),
    Rest(RunId),
}

impl RunList {
    /// Exactly the runs `ids`, in this order.
    pub fn by_ids(ids: Vec<RunId>) -> Self {
        RunList {
            ids: Some(ids),
            ..RunList::default()
        }
    }

    /// Whether rows are read from the largest key down: the listing's order forward, the
    /// reverse when paging back.
    fn reads_down(&self) -> bool {
        self.sort.ascending == self.before.is_some()
    }

    /// The runs, with their parents joined in one query and the names of their metric sets
    /// in a second; sorted by a metric, a first query takes the page's ids from the metric's
    /// index.
    pub async fn fetch(&self, conn: &mut Reader<'_>) -> Result<Vec<RunSummary>> {
        let picked = match (&self.ids, &self.sort.metric) {
            (Some(ids), _) => Some(ids.clone()),
            (None, Some(metric)) => Some(self.page_by_metric(conn, metric).await?),
            (None, None) => None,
        };
        let query = || match &picked {
            Some(ids) => self.listed_rows().filter(runs::id.eq_any(ids.clone())),
            None => self
                .in_recording_order()
                .limit(self.limit.clamp(1, MAX_PAGE + 1)),
        };
        // On Citus a join of runs with the reference tables is planned and run once per shard
        // (16 ms for 20 runs on 32 shards): runs chosen by id are read with their metrics in
        // one statement on the shards that hold them (co-located by run id), and their parents
        // from the coordinator's copies of the reference tables.
        let by_ids_alone = self.status.is_none()
            && self
                .filter
                .predicates::<runs::table, _, _, _, _>(RUNS)
                .is_empty();
        let mut out: Vec<RunSummary> = match &picked {
            Some(ids) if by_ids_alone && conn.layout() == Layout::Distributed => {
                super::citus::runs_by_ids(conn, ids).await?
            }
            _ => {
                let rows: Vec<ListedRow> = load(conn, query).await?;
                summaries(conn, rows).await?
            }
        };
        if let Some(ids) = &picked {
            let position: HashMap<RunId, usize> =
                ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            out.sort_by_key(|run| position.get(&run.id).copied());
        }
        // Paging back reads away from the cursor: the page is that read turned round.
        if self.ids.is_none() && self.before.is_some() {
            out.reverse();
        }
        Ok(out)
    }

    /// The listing's runs with their parents, unordered and unpaged: its filter and status.
    fn listed_rows(&self) -> ListedQuery {
        let mut query = joined_parents()
            .select((
                ListedRun::as_select(),
                StrategyRef::as_select(),
                parameter_sets::params,
                sweeps::name.nullable(),
            ))
            .into_boxed();
        for predicate in self.filter.predicates(RUNS) {
            query = query.filter(predicate);
        }
        // The same strategies said of the joined parameter sets: without it the planner
        // guesses every parameter set joins and hashes them all (59 ms instead of 14 ms for
        // a strategy of 10,000 runs among a million).
        if let Some(ids) = &self.filter.strategy_ids {
            query = query.filter(parameter_sets::strategy_id.eq_any(ids.clone()));
        }
        if let Some(status) = self.status {
            query = query.filter(runs::status.eq(status));
        }
        query
    }

    /// `listed_rows` in recording order from the cursor on. Keyset paging: a page costs the
    /// same at any depth, and inserts do not shift it.
    pub(super) fn in_recording_order(&self) -> ListedQuery {
        let query = self.listed_rows();
        let query = match (self.reads_down(), self.after.or(self.before)) {
            (true, Some(c)) => query.filter(runs::id.lt(c)),
            (false, Some(c)) => query.filter(runs::id.gt(c)),
            (_, None) => query,
        };
        match self.reads_down() {
            true => query.order(runs::id.desc()),
            false => query.order(runs::id.asc()),
        }
    }

    /// The ids of a page sorted by `metric`: first the completed runs that have it, in value
    /// order, read from the metric's rows alone (`metrics` carries the run's strategy and data
    /// set, so `metrics_rank_idx` (one strategy) or `metrics_value_idx` (any) yields them in
    /// that order and the scan stops at the page's end); then the other runs the listing
    /// matches (failed and pruned runs, runs without the metric) by id in the same direction,
    /// read once the first part is done. A cursor lies in one part or the other.
    pub(super) async fn page_by_metric(
        &self,
        conn: &mut AsyncPgConnection,
        metric: &str,
    ) -> Result<Vec<RunId>> {
        let limit = self.limit.clamp(1, MAX_PAGE + 1);
        let at = match self.after.or(self.before) {
            None => At::Start,
            Some(id) => match cursor_value(conn, metric, id).await? {
                Some(value) => At::Ranked((value, id)),
                None => At::Rest(id),
            },
        };
        let down = self.reads_down();
        // Only completed runs have a ranked value; a listing of the others has none.
        let ranked_listed = self.status.is_none_or(|s| s == RunStatus::Completed);
        let ranked = |keyset: Option<MetricKeyset>, limit: i64| {
            move || {
                let mut query = self.metric_rows(metric);
                if let Some(keyset) = keyset {
                    query = query.filter(beyond(down, keyset));
                }
                let query = match down {
                    true => query.order((metrics::value.desc(), metrics::run_id.desc())),
                    false => query.order((metrics::value.asc(), metrics::run_id.asc())),
                };
                query.limit(limit)
            }
        };
        let rest = |after: Option<RunId>, limit: i64| {
            move || {
                let mut query = self.unranked(metric);
                query = match (down, after) {
                    (true, Some(c)) => query.filter(runs::id.lt(c)),
                    (false, Some(c)) => query.filter(runs::id.gt(c)),
                    (_, None) => query,
                };
                let query = match down {
                    true => query.order(runs::id.desc()),
                    false => query.order(runs::id.asc()),
                };
                query.limit(limit)
            }
        };
        let short = |ids: &Vec<RunId>| limit - ids.len() as i64;
        let mut ids: Vec<RunId> = Vec::new();
        match (self.before.is_none(), at) {
            // Forward through the ranked runs, then on into the rest.
            (true, At::Start | At::Ranked(_)) | (false, At::Start) => {
                let keyset = match at {
                    At::Ranked(keyset) => Some(keyset),
                    _ => None,
                };
                if ranked_listed {
                    ids = load(conn, ranked(keyset, limit)).await?;
                }
                if short(&ids) > 0 {
                    ids.extend(load::<_, RunId>(conn, rest(None, short(&ids))).await?);
                }
            }
            (true, At::Rest(id)) => ids = load(conn, rest(Some(id), limit)).await?,
            (false, At::Ranked(keyset)) if ranked_listed => {
                ids = load(conn, ranked(Some(keyset), limit)).await?;
            }
            (false, At::Ranked(_)) => {}
            // Back through the rest, then on into the ranked runs from their end.
            (false, At::Rest(id)) => {
                ids = load(conn, rest(Some(id), limit)).await?;
                if short(&ids) > 0 && ranked_listed {
                    ids.extend(load::<_, RunId>(conn, ranked(None, short(&ids))).await?);
                }
            }
        }
        Ok(ids)
    }

    /// The runs the listing matches that have no ranked value of `metric`: not completed, or
    /// without it.
    fn unranked(&self, metric: &str) -> runs::BoxedQuery<'static, Pg, BigInt> {
        let ranked = metrics::table
            .filter(metrics::run_id.eq(runs::id))
            .filter(metrics::name.eq(metric.to_owned()))
            .filter(metrics::completed.eq(true));
        let mut query = runs::table
            .filter(diesel::dsl::not(diesel::dsl::exists(ranked)))
            .select(runs::id)
            .into_boxed();
        for predicate in self.filter.predicates(RUNS) {
            query = query.filter(predicate);
        }
        if let Some(status) = self.status {
            query = query.filter(runs::status.eq(status));
        }
        query
    }

    /// The run ids of the metric rows this listing covers, unordered.
    fn metric_rows(&self, metric: &str) -> metrics::BoxedQuery<'static, Pg, BigInt> {
        let mut query = metrics::table
            .filter(metrics::name.eq(metric.to_owned()))
            .filter(metrics::completed.eq(true))
            .select(metrics::run_id)
            .into_boxed();
        for predicate in self.filter.predicates(METRICS) {
            query = query.filter(predicate);
        }
        query
    }

    /// How many runs the listing matches, counting no further than `COUNT_BOUND`; sorted by a
    /// metric, the runs without a ranked value count too (they are listed last).
    pub async fn count(&self, conn: &mut AsyncPgConnection) -> Result<Count> {
        let counted: Vec<i64> = load(conn, || {
            let mut query = runs::table.select(runs::id).into_boxed();
            for predicate in self.filter.predicates(RUNS) {
                query = query.filter(predicate);
            }
            if let Some(status) = self.status {
                query = query.filter(runs::status.eq(status));
            }
            bounded_count(query)
        })
        .await?;
        let counted = counted.first().copied().unwrap_or(0);
        Ok(Count {
            runs: counted.min(COUNT_BOUND),
            exact: counted <= COUNT_BOUND,
        })
    }
}

/// The rows beyond `(value, id)` in the direction read. The first condition bounds the index
/// scan; the second orders the ties by id.
fn beyond(
    down: bool,
    (value, id): MetricKeyset,
) -> Box<dyn BoxableExpression<metrics::table, Pg, SqlType = diesel::sql_types::Bool>> {
    match down {
        true => Box::new(
            metrics::value
                .le(value)
                .and(metrics::value.lt(value).or(metrics::run_id.lt(id))),
        ),
        false => Box::new(
            metrics::value
                .ge(value)
                .and(metrics::value.gt(value).or(metrics::run_id.gt(id))),
        ),
    }
}

/// The cursor run's ranked value of `metric`, where its page ends; none when the run has none
/// (a cursor in the listing's rest).
async fn cursor_value(
    conn: &mut AsyncPgConnection,
    metric: &str,
    id: RunId,
) -> Result<Option<f64>> {
    let values: Vec<f64> = load(conn, || {
        metrics::table
            .filter(metrics::run_id.eq(id))
            .filter(metrics::name.eq(metric.to_owned()))
            .filter(metrics::completed.eq(true))
            .select(metrics::value)
    })
    .await?;
    Ok(values.first().copied())
}

/// Runs read per query when a listing is streamed whole: memory holds one page.
pub const STREAM_PAGE: i64 = 5_000;

/// A listing read a page at a time in its order, up to a number of runs or all of them: how
/// the machine formats stream listings of any size in flat memory.
#[derive(Debug, Clone)]
pub struct Pages {
    list: RunList,
    /// Runs still to read; `None`: all.
    left: Option<i64>,
    done: bool,
    /// Set once the limit was reached with runs beyond it: the last run read.
    cut_after: Option<RunId>,
}

impl Pages {
    /// `list` from its `after` cursor on (paging back is for pages, not streams).
    pub fn new(mut list: RunList, limit: Option<i64>) -> Self {
        list.before = None;
        Self {
            list,
            left: limit,
            done: false,
            cut_after: None,
        }
    }

    /// The next page, or `None` at the end.
    pub async fn next(&mut self, conn: &mut Reader<'_>) -> Result<Option<Vec<RunSummary>>> {
        if self.done {
            return Ok(None);
        }
        let wanted = self.left.map_or(STREAM_PAGE, |left| left.min(STREAM_PAGE));
        // One more than wanted says whether the listing goes on.
        self.list.limit = wanted + 1;
        let mut page = self.list.fetch(conn).await?;
        let more = page.len() as i64 > wanted;
        page.truncate(wanted as usize);
        if let Some(left) = &mut self.left {
            *left -= page.len() as i64;
        }
        let last = page.last().map(|r| r.id);
        match (more, self.left) {
            (false, _) => self.done = true,
            (true, Some(0)) => {
                self.done = true;
                self.cut_after = last;
            }
            (true, _) => self.list.after = last,
        }
        Ok(Some(page))
    }

    /// Calls `each` with every page, in order. A listing in recording order is read as one
    /// statement whose rows btdb takes as the server sends them, so that the server produces
    /// rows while btdb decodes the ones before (a million runs in 3.3 s instead of 5.3 s with
    /// a query per page, BENCHMARKS.md); one sorted by a metric, a page per query.
    pub async fn each(
        &mut self,
        conn: &mut Reader<'_>,
        mut each: impl FnMut(Vec<RunSummary>) -> Result<()> + Send,
    ) -> Result<()> {
        if self.list.sort.metric.is_none() && self.list.ids.is_none() && !explain::capturing() {
            return self.streamed(conn, each).await;
        }
        while let Some(page) = self.next(conn).await? {
            each(page)?;
        }
        Ok(())
    }

    /// `each` over one streamed statement, in a read-only transaction that reads the metric
    /// sets first: every set a streamed run names is then among those read.
    async fn streamed(
        &mut self,
        conn: &mut Reader<'_>,
        mut each: impl FnMut(Vec<RunSummary>) -> Result<()> + Send,
    ) -> Result<()> {
        let (list, left) = (&self.list, self.left);
        let cut = conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                let sets = named(diesel_async::RunQueryDsl::load(MetricSet::all(), conn).await?);
                let mut query = list.in_recording_order();
                if let Some(left) = left {
                    // One more than wanted says whether the listing goes on.
                    query = query.limit(left + 1);
                }
                let mut rows =
                    diesel_async::RunQueryDsl::load_stream::<ListedRow>(query, conn).await?;
                let mut page = Vec::with_capacity(STREAM_PAGE as usize);
                let (mut read, mut last, mut cut) = (0i64, None, None);
                while let Some(row) = rows.try_next().await? {
                    if Some(read) == left {
                        cut = last;
                        break;
                    }
                    read += 1;
                    last = Some(row.0.id);
                    page.push(RunSummary::new(row, &sets));
                    if page.len() as i64 == STREAM_PAGE {
                        each(std::mem::replace(
                            &mut page,
                            Vec::with_capacity(STREAM_PAGE as usize),
                        ))?;
                    }
                }
                if !page.is_empty() {
                    each(page)?;
                }
                anyhow::Ok(cut)
            })
            .await?;
        self.done = true;
        self.cut_after = cut;
        Ok(())
    }

    /// Where the listing was cut by its limit: `--after` for the rest.
    pub fn cut_after(&self) -> Option<RunId> {
        self.cut_after
    }

    pub fn list(&self) -> &RunList {
        &self.list
    }
}
