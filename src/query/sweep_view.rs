//! One sweep seen whole: every completed run of it with its parameters, a metric, and the
//! trial order an optimizer gave it, for the sweep's page.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::NotFound;
use super::direction;
use crate::db::Reader;
use crate::db::explain::load;
use crate::metrics::Direction;
use crate::models::{RunId, StrategyId, Sweep};
use crate::schema::{metrics, parameter_sets, runs};

/// One run of the sweep.
#[derive(Debug, Clone)]
pub struct Point {
    pub run: RunId,
    pub params: serde_json::Value,
    pub value: f64,
    /// The second metric, when one is asked for (the Pareto front).
    pub second: Option<f64>,
    /// The optimizer's trial number, else none.
    pub trial: Option<i64>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The sweep's runs by a metric, and how the metric ranks.
#[derive(Debug, Clone)]
pub struct SweepView {
    pub name: String,
    pub note: Option<String>,
    pub points: Vec<Point>,
    /// Whether more runs have the metric than the page reads ([`MOST_RUNS`]).
    pub cut: bool,
    /// Every parameter a run of the sweep has, sorted.
    pub parameters: Vec<String>,
    /// Every metric a completed run has, sorted (the choices of the page's metric).
    pub metrics: Vec<String>,
    pub lower_is_better: bool,
    pub second_lower_is_better: bool,
}

/// Runs a sweep's page reads at most: past it, the first this many by id, as it says.
pub const MOST_RUNS: usize = 50_000;

impl SweepView {
    /// The completed runs of sweep `name` (of the strategies `strategies`, when given) that
    /// have `metric`, at most [`MOST_RUNS`] of them, with `second` where asked; in four
    /// queries, none of which reads more of the sweep than the runs it shows.
    pub async fn load(
        conn: &mut Reader<'_>,
        name: &str,
        strategies: Option<&[StrategyId]>,
        metric: &str,
        second: Option<&str>,
    ) -> Result<Self> {
        let found: Vec<Sweep> =
            load(conn, || Sweep::by_name(name).select(Sweep::as_select())).await?;
        let Some(sweep) = found.into_iter().next() else {
            let known: Vec<String> = load(conn, Sweep::names).await?;
            return Err(NotFound(format!(
                "no sweep named `{name}`{}",
                super::suggest::hint(name, &known)
            ))
            .into());
        };
        type Row = (
            RunId,
            StrategyId,
            serde_json::Value,
            f64,
            Option<i64>,
            Option<DateTime<Utc>>,
        );
        let mut rows: Vec<Row> = load(conn, || {
            let mut query = runs::table
                .inner_join(parameter_sets::table)
                .inner_join(metrics::table.on(metrics::run_id.eq(runs::id)))
                .filter(runs::sweep_id.eq(sweep.id))
                .filter(metrics::name.eq(metric.to_owned()))
                .filter(metrics::completed.eq(true))
                .select((
                    runs::id,
                    runs::strategy_id,
                    parameter_sets::params,
                    metrics::value,
                    runs::trial,
                    runs::finished_at,
                ))
                .order(runs::id)
                .limit(MOST_RUNS as i64 + 1)
                .into_boxed();
            if let Some(ids) = strategies {
                query = query.filter(runs::strategy_id.eq_any(ids.to_vec()));
            }
            query
        })
        .await?;
        let cut = rows.len() > MOST_RUNS;
        rows.truncate(MOST_RUNS);
        let ids: Vec<RunId> = rows.iter().map(|r| r.0).collect();
        let seconds: HashMap<RunId, f64> = match second {
            None => HashMap::new(),
            Some(second) => load(conn, || {
                metrics::table
                    .filter(metrics::run_id.eq_any(ids.clone()))
                    .filter(metrics::name.eq(second.to_owned()))
                    .filter(metrics::completed.eq(true))
                    .select((metrics::run_id, metrics::value))
            })
            .await?
            .into_iter()
            .collect(),
        };
        let metrics = super::suggest::metric_names(conn).await?;
        let mut strategy_ids: Vec<StrategyId> = rows.iter().map(|r| r.1).collect();
        strategy_ids.sort();
        strategy_ids.dedup();
        let lower_is_better = direction::of_metric(conn, metric, Some(strategy_ids.clone()))
            .await?
            == Direction::LowerIsBetter;
        let second_lower_is_better = match second {
            Some(second) => {
                direction::of_metric(conn, second, Some(strategy_ids)).await?
                    == Direction::LowerIsBetter
            }
            None => false,
        };
        let mut parameters: Vec<String> = rows
            .iter()
            .filter_map(|r| r.2.as_object())
            .flat_map(|o| o.keys().cloned())
            .collect();
        parameters.sort();
        parameters.dedup();
        let points = rows
            .into_iter()
            .map(|(run, _, params, value, trial, finished_at)| Point {
                run,
                params,
                value,
                second: seconds.get(&run).copied(),
                trial,
                finished_at,
            })
            .collect();
        Ok(Self {
            name: sweep.name,
            note: sweep.note,
            points,
            cut,
            parameters,
            metrics,
            lower_is_better,
            second_lower_is_better,
        })
    }
}
