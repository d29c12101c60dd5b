//! The columns of a run listing in a machine format (CSV, Arrow, Parquet), decided before the
//! first run is read so that every page of a stream has the same ones: a column per parameter
//! key with the type its values have, a column per metric the selection has, and the strategy
//! version only where a selected strategy has one.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable};
use diesel_async::AsyncPgConnection;

use super::filter::{METRICS, RUNS};
use super::runs::{MAX_PAGE, RunList};
use super::suggest;
use crate::db::explain::{load, load_each};
use crate::db::{Layout, Reader};
use crate::models::{ParameterKind, RunId, RunStatus, StrategyId};
use crate::schema::{equity_points, metrics, parameter_sets, runs, strategies, trades};

/// What a parameter key's values are across the listing's runs (nulls aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamKind {
    /// Integers written without a point or exponent, each fitting 64 bits.
    Int,
    /// Numbers, some written as decimals (integers among them read as floats, as JSON readers
    /// do).
    Float,
    Bool,
    Text,
    /// Objects or arrays: their JSON text.
    Json,
    /// Values of several of the kinds above (named, e.g. `int,string`): their text, with the
    /// kinds said in the column's metadata.
    Mixed(String),
}

/// The columns of a listing beyond the run's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListingColumns {
    /// Parameter keys, sorted, with their kinds.
    pub params: Vec<(String, ParamKind)>,
    /// Metric names, in the order asked for, or sorted when all.
    pub metrics: Vec<String>,
    /// Whether a selected run's strategy has a version: without, the column would be empty.
    pub version: bool,
}

/// Which metrics get a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricColumns {
    /// Every metric a selected run has.
    All,
    /// These, in this order.
    Named(Vec<String>),
}

/// The kind of each value of one parameter set, by key, as `btdb_parameter_kind` names it
/// (migration 15), spelled out since Citus may run the query on a worker, which lacks the
/// function: one JSON object per distinct shape. Citus's way, where `parameter_kinds` is not
/// kept.
const SHAPE: &str = "(SELECT jsonb_object_agg(key, CASE jsonb_typeof(value) \
     WHEN 'number' THEN CASE WHEN value::text ~ '^-?[0-9]{1,18}$' THEN 'int' ELSE 'float' END \
     ELSE jsonb_typeof(value) END) FROM jsonb_each(params))";

impl RunList {
    /// The columns a stream of this listing needs.
    pub async fn columns(
        &self,
        conn: &mut Reader<'_>,
        metrics: &MetricColumns,
    ) -> Result<ListingColumns> {
        Ok(ListingColumns {
            params: self.parameter_kinds(conn).await?,
            metrics: match metrics {
                MetricColumns::Named(names) => names.clone(),
                MetricColumns::All => self.metric_names(conn).await?,
            },
            version: self.has_versions(conn).await?,
        })
    }

    /// Every parameter key of the listing's strategies, sorted, each with the kind of its
    /// values: on one server from `parameter_kinds` (a few rows per strategy), on Citus from
    /// the parameter sets the listing's runs use.
    async fn parameter_kinds(&self, conn: &mut Reader<'_>) -> Result<Vec<(String, ParamKind)>> {
        let mut kinds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        match conn.layout() {
            Layout::Single => {
                let strategies = self.strategies(conn).await?;
                let rows: Vec<ParameterKind> =
                    load(conn, || ParameterKind::of_strategies(strategies.clone())).await?;
                for row in rows {
                    kinds.entry(row.key).or_default().insert(row.kind);
                }
            }
            Layout::Distributed => {
                let shapes: Vec<Option<serde_json::Value>> = load(conn, || {
                    let used = self.selected_runs().select(runs::parameter_set_id);
                    parameter_sets::table
                        .filter(parameter_sets::id.eq_any(used))
                        .select(diesel::dsl::sql::<Nullable<Jsonb>>(SHAPE))
                        .distinct()
                })
                .await?;
                for shape in shapes.into_iter().flatten() {
                    if let serde_json::Value::Object(shape) = shape {
                        for (key, kind) in shape {
                            let kinds = kinds.entry(key).or_default();
                            if let Some(kind) = kind.as_str().filter(|k| *k != "null") {
                                kinds.insert(kind.to_owned());
                            }
                        }
                    }
                }
            }
        }
        Ok(kinds
            .into_iter()
            .map(|(key, kinds)| (key, ParamKind::of(&kinds)))
            .collect())
    }

    /// The strategies of the listing's runs: those named, every one when nothing narrows the
    /// listing (`None`), else those its runs have.
    async fn strategies(&self, conn: &mut AsyncPgConnection) -> Result<Option<Vec<StrategyId>>> {
        if let Some(ids) = &self.filter.strategy_ids {
            return Ok(Some(ids.clone()));
        }
        let narrowed = self.status.is_some()
            || self.ids.is_some()
            || !self
                .filter
                .predicates::<runs::table, _, _, _, _>(RUNS)
                .is_empty();
        if !narrowed {
            return Ok(None);
        }
        let ids: Vec<StrategyId> = load(conn, || {
            self.selected_runs().select(runs::strategy_id).distinct()
        })
        .await?;
        Ok(Some(ids))
    }

    /// The names of the metrics the listing's runs have, sorted: each name btdb knows, kept if
    /// one selected run has it (completed runs, or unranked ones when only failed or pruned
    /// runs are listed).
    pub async fn metric_names(&self, conn: &mut AsyncPgConnection) -> Result<Vec<String>> {
        let completed = !matches!(self.status, Some(RunStatus::Failed | RunStatus::Pruned));
        let names = suggest::metric_names(conn).await?;
        let found: Vec<Vec<i64>> = load_each(conn, &names, |name| {
            let mut rows = metrics::table
                .filter(metrics::name.eq(name.clone()))
                .filter(metrics::completed.eq(completed))
                .select(metrics::run_id)
                .limit(1)
                .into_boxed();
            for predicate in self.filter.predicates(METRICS) {
                rows = rows.filter(predicate);
            }
            if let Some(ids) = &self.ids {
                rows = rows.filter(metrics::run_id.eq_any(ids.clone()));
            }
            rows
        })
        .await?;
        Ok(names
            .into_iter()
            .zip(found)
            .filter_map(|(name, rows)| (!rows.is_empty()).then_some(name))
            .collect())
    }

    /// Whether a selected run's strategy has a version: strategies are few, so the versioned
    /// ones are looked up first, and most databases have none.
    async fn has_versions(&self, conn: &mut AsyncPgConnection) -> Result<bool> {
        let versioned: Vec<i64> = load(conn, || {
            strategies::table
                .filter(strategies::version.ne(""))
                .select(strategies::id)
        })
        .await?;
        if versioned.is_empty() {
            return Ok(false);
        }
        let found: Vec<i64> = load(conn, || {
            self.selected_runs()
                .filter(runs::strategy_id.eq_any(versioned.clone()))
                .select(runs::id)
                .limit(1)
        })
        .await?;
        Ok(!found.is_empty())
    }
}

impl ParamKind {
    /// The kind of a key whose values are of `kinds` (jsonb_typeof's names, numbers split
    /// into `int` and `float`).
    fn of(kinds: &BTreeSet<String>) -> Self {
        let names: Vec<&str> = kinds.iter().map(String::as_str).collect();
        match names.as_slice() {
            [] | ["string"] => ParamKind::Text,
            ["int"] => ParamKind::Int,
            ["float"] | ["float", "int"] => ParamKind::Float,
            ["boolean"] => ParamKind::Bool,
            ["array"] | ["object"] | ["array", "object"] => ParamKind::Json,
            _ => ParamKind::Mixed(names.join(",")),
        }
    }
}

/// How far a NUMERIC column's values reach: the most digits after the point any has, and the
/// most before it. Arrow's decimal128 holds 38 digits at one scale per column, so a stream
/// decides the scale before its first row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecimalRange {
    pub scale: i64,
    pub integer_digits: i64,
}

/// The SQL of a [`DecimalRange`] over `column`: two BIGINTs.
pub fn decimal_range_sql(column: &str) -> String {
    format!(
        "coalesce(max(scale({column})), 0)::int8, \
         coalesce(max(length(trunc(abs({column}))::text)), 0)::int8"
    )
}

impl From<(i64, i64)> for DecimalRange {
    fn from((scale, integer_digits): (i64, i64)) -> Self {
        Self {
            scale,
            integer_digits,
        }
    }
}

impl RunList {
    /// The range of the initial capitals of the listing's runs, or of its first `limit` runs
    /// (sorted by a metric, of at most a page of them; of every run selected past that).
    pub async fn capital_range(
        &self,
        conn: &mut AsyncPgConnection,
        limit: Option<i64>,
    ) -> Result<DecimalRange> {
        // Sorted by a metric and cut within a page, the runs written are that page's: their
        // ids are read first, as the stream's first page reads them.
        let sorted_cut = match (limit, &self.sort.metric, &self.ids) {
            (Some(limit), Some(metric), None) if limit <= MAX_PAGE => {
                let cut = RunList {
                    limit,
                    ..self.clone()
                };
                Some(cut.page_by_metric(conn, metric).await?)
            }
            _ => None,
        };
        let range: Vec<(i64, i64)> = load(conn, || {
            let selected = match (limit, &self.sort.metric, &self.ids, &sorted_cut) {
                // A cut listing writes its first runs alone: their range is read from them
                // (ten runs of a million cost a scan of every run's capital before). In
                // recording order the listing's own query carries its filters.
                (_, _, _, Some(ids)) => runs::table
                    .into_boxed()
                    .filter(runs::id.eq_any(ids.clone())),
                (Some(limit), None, None, None) => runs::table.into_boxed().filter(
                    runs::id.eq_any(self.in_recording_order().select(runs::id).limit(limit)),
                ),
                _ => self.selected_runs(),
            };
            selected.select(diesel::dsl::sql::<(BigInt, BigInt)>(&decimal_range_sql(
                "initial_capital",
            )))
        })
        .await?;
        Ok(range.first().copied().map(Into::into).unwrap_or_default())
    }

    /// The runs the listing covers, in no order: its filter, status and ids; the order's
    /// metric aside (a superset, which columns may cover).
    fn selected_runs(&self) -> runs::BoxedQuery<'static, Pg> {
        let mut query = runs::table.into_boxed();
        for predicate in self.filter.predicates(RUNS) {
            query = query.filter(predicate);
        }
        if let Some(status) = self.status {
            query = query.filter(runs::status.eq(status));
        }
        if let Some(ids) = &self.ids {
            query = query.filter(runs::id.eq_any(ids.clone()));
        }
        query
    }
}

/// How far the decimals of the trades of runs `ids` reach: quantity, entry price, exit price,
/// fees, pnl and leverage, in that order.
pub async fn trade_ranges(
    conn: &mut AsyncPgConnection,
    ids: &[RunId],
) -> Result<[DecimalRange; 6]> {
    let columns = [
        "quantity",
        "entry_price",
        "exit_price",
        "fees",
        "pnl",
        "leverage",
    ];
    let sql = columns.map(decimal_range_sql).join(", ");
    type Pair = (BigInt, BigInt);
    type Range = (i64, i64);
    let ranges: Vec<(Range, Range, Range, Range, Range, Range)> = load(conn, || {
        trades::table
            .filter(trades::run_id.eq_any(ids.to_vec()))
            .select(diesel::dsl::sql::<(Pair, Pair, Pair, Pair, Pair, Pair)>(
                &sql,
            ))
    })
    .await?;
    Ok(ranges
        .first()
        .map(|&(a, b, c, d, e, f)| [a, b, c, d, e, f].map(Into::into))
        .unwrap_or_default())
}

/// How far the equity values of runs `ids` reach.
pub async fn equity_range(conn: &mut AsyncPgConnection, ids: &[RunId]) -> Result<DecimalRange> {
    let range: Vec<(i64, i64)> = load(conn, || {
        equity_points::table
            .filter(equity_points::run_id.eq_any(ids.to_vec()))
            .select(diesel::dsl::sql::<(BigInt, BigInt)>(&decimal_range_sql(
                "equity",
            )))
    })
    .await?;
    Ok(range.first().copied().map(Into::into).unwrap_or_default())
}
