//! `metrics`: one value per run and metric name, with the run's ranking keys copied in.

use diesel::pg::Pg;
use diesel::prelude::*;
use serde::Serialize;

use super::{ParameterSetId, Run, RunId, StrategyId};
use crate::schema::{metrics, parameter_sets, runs};

// No foreign keys (see the migration), so print-schema cannot infer these joins.
diesel::joinable!(metrics -> runs (run_id));
diesel::joinable!(metrics -> parameter_sets (parameter_set_id));

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(
    table_name = metrics,
    primary_key(run_id, name),
    belongs_to(Run),
    check_for_backend(diesel::pg::Pg)
)]
pub struct Metric {
    pub run_id: RunId,
    pub name: String,
    pub value: f64,
    pub strategy_id: StrategyId,
    pub parameter_set_id: ParameterSetId,
    pub dataset: String,
    pub completed: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = metrics, treat_none_as_default_value = false)]
pub struct NewMetric<'a> {
    pub run_id: RunId,
    pub name: &'a str,
    pub value: f64,
    pub strategy_id: StrategyId,
    pub parameter_set_id: ParameterSetId,
    pub dataset: &'a str,
    pub completed: bool,
}

/// A run's metric as listings show it: the row without the copied ranking keys, which would
/// cost an allocation per row for nothing.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Associations)]
#[diesel(table_name = metrics, belongs_to(Run), check_for_backend(diesel::pg::Pg))]
pub struct MetricValue {
    pub run_id: RunId,
    pub name: String,
    pub value: f64,
}

impl From<MetricValue> for (String, f64) {
    fn from(metric: MetricValue) -> Self {
        (metric.name, metric.value)
    }
}

/// A metric name, as `Metric::names` returns it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MetricName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
}

impl Metric {
    /// Distinct metric names of completed runs, in order, from the `metric_names` view (a
    /// loose index scan on one server; migration 13).
    pub fn names() -> diesel::query_builder::SqlQuery {
        diesel::sql_query("SELECT name FROM metric_names ORDER BY name")
    }

    /// Writes a run's metrics with binary COPY: a multi-row INSERT of a varying row count is a
    /// new statement to plan each time, and cost more than the run's thousands of COPY rows.
    pub fn copy_in(conn: &mut PgConnection, rows: &[NewMetric<'_>]) -> QueryResult<usize> {
        diesel::copy_from(metrics::table)
            .from_insertable(rows)
            .execute(conn)
    }

    /// The metrics of a page of runs in one query; group them with `grouped_by(runs)`, which
    /// leaves out the rows of other runs: close ids are read as one range of the primary key
    /// ([`RunId::dense_range`]), with the runs between them. Matching each row against the
    /// page's thousands of ids cost more than reading the few rows too many (450 ms against
    /// 10 ms for 5,000 runs, BENCHMARKS.md).
    pub fn for_runs(
        runs: &[Run],
    ) -> metrics::BoxedQuery<'_, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<MetricValue, Pg>>>
    {
        let ids: Vec<RunId> = runs.iter().map(|r| r.id).collect();
        let query = metrics::table
            .select(MetricValue::as_select())
            .order((metrics::run_id, metrics::name))
            .into_boxed();
        match RunId::dense_range(&ids) {
            Some((low, high)) => query.filter(metrics::run_id.between(low, high)),
            None => query.filter(metrics::run_id.eq_any(ids)),
        }
    }
}
