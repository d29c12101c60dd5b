//! Run listings: a page of runs with strategy, parameters, sweep and metrics, in two queries
//! whatever the page size.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::{DateTime, Utc};
use diesel::dsl::AsSelect;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::StrategyRef;
use super::filter::{RUNS, Resolved};
use crate::db::explain::load;
use crate::models::{Metric, MetricValue, ParameterSet, Run, RunId, RunStatus, Strategy, Sweep};
use crate::schema::{parameter_sets, runs, strategies, sweeps};

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
    pub periods_per_year: f64,
    pub recorded_at: DateTime<Utc>,
    pub metrics: BTreeMap<String, f64>,
}

/// A run with the rows it belongs to.
pub type RunWithParents = (Run, Strategy, ParameterSet, Option<Sweep>);

type WithParents = diesel::dsl::Select<
    diesel::dsl::LeftJoin<
        diesel::dsl::InnerJoin<
            diesel::dsl::InnerJoin<runs::table, strategies::table>,
            parameter_sets::table,
        >,
        sweeps::table,
    >,
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
    runs::table
        .inner_join(strategies::table)
        .inner_join(parameter_sets::table)
        .left_join(sweeps::table)
        .select((
            Run::as_select(),
            Strategy::as_select(),
            ParameterSet::as_select(),
            Option::<Sweep>::as_select(),
        ))
}

impl RunSummary {
    /// The summary of a run loaded with its parents and its metrics.
    pub fn new((run, strategy, params, sweep): RunWithParents, metrics: Vec<MetricValue>) -> Self {
        Self {
            id: run.id,
            run_key: run.run_key,
            strategy: strategy.into(),
            params: params.params,
            dataset: run.dataset,
            status: run.status,
            sweep: sweep.map(|s| s.name),
            tags: run.tags,
            periods_per_year: run.periods_per_year,
            recorded_at: run.recorded_at,
            metrics: metrics.into_iter().map(|m| (m.name, m.value)).collect(),
        }
    }
}

/// Which runs to list: newest first, a page after a cursor, or exactly the given ids.
#[derive(Debug, Clone, Default)]
pub struct RunList {
    pub filter: Resolved,
    pub status: Option<RunStatus>,
    /// Keyset cursor: list runs older than this id.
    pub after: Option<RunId>,
    /// Keyset cursor back: the page of runs just newer than this id (still newest first).
    pub before: Option<RunId>,
    /// Page size (capped at `MAX_PAGE` and the one more that says whether a page follows);
    /// ignored when `ids` is given.
    pub limit: i64,
    /// Exactly these runs, in this order (ranking loads its winners this way).
    pub ids: Option<Vec<RunId>>,
}

impl RunList {
    /// The runs, with their parents joined in one query and their metrics in a second.
    pub async fn fetch(&self, conn: &mut AsyncPgConnection) -> Result<Vec<RunSummary>> {
        let query = || {
            let mut query = with_parents().into_boxed();
            for predicate in self.filter.predicates(RUNS) {
                query = query.filter(predicate);
            }
            if let Some(status) = self.status {
                query = query.filter(runs::status.eq(status));
            }
            match &self.ids {
                Some(ids) => query = query.filter(runs::id.eq_any(ids.clone())),
                None => {
                    // Keyset paging: a page costs the same at any depth, and inserts do not shift it.
                    if let Some(after) = self.after {
                        query = query.filter(runs::id.lt(after));
                    }
                    query = match self.before {
                        // The nearest newer runs, read upwards from the cursor and turned below.
                        Some(before) => query.filter(runs::id.gt(before)).order(runs::id.asc()),
                        None => query.order(runs::id.desc()),
                    };
                    query = query.limit(self.limit.clamp(1, MAX_PAGE + 1));
                }
            }
            query
        };
        let rows: Vec<RunWithParents> = load(conn, query).await?;
        let runs: Vec<Run> = rows.iter().map(|(run, ..)| run.clone()).collect();
        let metrics: Vec<MetricValue> = load(conn, || Metric::for_runs(&runs)).await?;
        let metrics = metrics.grouped_by(&runs);
        let mut out: Vec<RunSummary> = rows
            .into_iter()
            .zip(metrics)
            .map(|(row, metrics)| RunSummary::new(row, metrics))
            .collect();
        if self.ids.is_none() && self.before.is_some() {
            out.reverse();
        }
        if let Some(ids) = &self.ids {
            let position: HashMap<RunId, usize> =
                ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            out.sort_by_key(|run| position.get(&run.id).copied());
        }
        Ok(out)
    }
}
