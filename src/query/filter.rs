//! Which runs a command looks at: `--strategy --dataset --sweep --tag --where`, turned into
//! Diesel expressions with bound values for any table whose rows belong to a run.

use anyhow::{Result, bail};
use diesel::dsl;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::AsyncPgConnection;

use super::suggest;
use super::where_parse::{Comparison, Expr, Field, Op, Value};
use crate::db::explain::load;
use crate::models::{Strategy, StrategyId, Sweep, SweepId};
use crate::schema::{metrics, parameter_sets, runs, strategies, sweeps};

diesel::define_sql_function!(
    /// SQL `jsonb_typeof(jsonb)`: `number`, `string`, `boolean`, ...
    fn jsonb_typeof<T: diesel::sql_types::SingleValue>(
        x: T,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
);

/// A boolean condition on rows of `QS`.
pub type Predicate<QS> = Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>;

/// Filters as the user gave them, by name.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Strategy name, any case, every version.
    pub strategy: Option<String>,
    /// Strategy version, exactly: of the named strategy, or of any.
    pub version: Option<String>,
    pub dataset: Option<String>,
    pub sweep: Option<String>,
    /// Runs carrying every one of these tags.
    pub tags: Vec<String>,
    pub condition: Option<Expr>,
    /// Runs whose note holds this text, in any case.
    pub note: Option<String>,
}

/// A filter whose names were looked up: ids to bind instead of names to join.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub strategy_ids: Option<Vec<StrategyId>>,
    pub dataset: Option<String>,
    pub sweep_id: Option<SweepId>,
    pub tags: Vec<String>,
    pub condition: Option<Expr>,
    pub note: Option<String>,
}

/// The columns by which a table's rows belong to a run.
#[derive(Debug, Clone, Copy)]
pub struct RunColumns<R, P, S, D> {
    pub run_id: R,
    pub parameter_set_id: P,
    pub strategy_id: S,
    pub dataset: D,
}

pub const RUNS: RunColumns<runs::id, runs::parameter_set_id, runs::strategy_id, runs::dataset> =
    RunColumns {
        run_id: runs::id,
        parameter_set_id: runs::parameter_set_id,
        strategy_id: runs::strategy_id,
        dataset: runs::dataset,
    };

/// `metrics` carries copies of the run's keys, so ranking filters without a join.
pub const METRICS: RunColumns<
    metrics::run_id,
    metrics::parameter_set_id,
    metrics::strategy_id,
    metrics::dataset,
> = RunColumns {
    run_id: metrics::run_id,
    parameter_set_id: metrics::parameter_set_id,
    strategy_id: metrics::strategy_id,
    dataset: metrics::dataset,
};

type RunIds = runs::BoxedQuery<'static, Pg, BigInt>;
type MetricRunIds = metrics::BoxedQuery<'static, Pg, BigInt>;
type ParamSetIds = parameter_sets::BoxedQuery<'static, Pg, BigInt>;

impl RunFilter {
    /// Looks up the strategy and sweep names (one query each, when given); an unknown name is an
    /// error that lists the close matches.
    pub async fn resolve(&self, conn: &mut AsyncPgConnection) -> Result<Resolved> {
        let strategy_ids = match &self.strategy {
            None => None,
            Some(name) => {
                let ids: Vec<StrategyId> =
                    load(conn, || Strategy::by_name(name).select(strategies::id)).await?;
                if ids.is_empty() {
                    let names = || strategies::table.select(strategies::name).distinct();
                    let known: Vec<String> = load(conn, names).await?;
                    bail!("no strategy named `{name}`{}", suggest::hint(name, &known));
                }
                Some(ids)
            }
        };
        let strategy_ids = match &self.version {
            None => strategy_ids,
            Some(version) => {
                let of_version = || {
                    let mut query = strategies::table
                        .select((strategies::id, strategies::version))
                        .into_boxed();
                    if let Some(ids) = &strategy_ids {
                        query = query.filter(strategies::id.eq_any(ids.clone()));
                    }
                    query
                };
                let versions: Vec<(StrategyId, String)> = load(conn, of_version).await?;
                let ids: Vec<StrategyId> = versions
                    .iter()
                    .filter(|(_, v)| v == version)
                    .map(|(id, _)| *id)
                    .collect();
                if ids.is_empty() {
                    let mut known: Vec<String> = versions.into_iter().map(|(_, v)| v).collect();
                    known.sort();
                    known.dedup();
                    let whose = match &self.strategy {
                        Some(name) => format!("strategy `{name}` has no version"),
                        None => "no strategy has version".to_owned(),
                    };
                    bail!("{whose} `{version}`{}", suggest::hint(version, &known));
                }
                Some(ids)
            }
        };
        let sweep_id = match &self.sweep {
            None => None,
            Some(name) => {
                match load::<_, SweepId>(conn, || Sweep::by_name(name).select(sweeps::id))
                    .await?
                    .first()
                {
                    Some(id) => Some(*id),
                    None => {
                        let known: Vec<String> = load(conn, Sweep::names).await?;
                        bail!("no sweep named `{name}`{}", suggest::hint(name, &known));
                    }
                }
            }
        };
        let metrics = self
            .condition
            .as_ref()
            .map(Expr::metrics)
            .unwrap_or_default();
        for name in metrics {
            suggest::require_metric(conn, name, &[], || {
                format!("--where: no completed run has metric `{name}`")
            })
            .await?;
        }
        Ok(Resolved {
            strategy_ids,
            dataset: self.dataset.clone(),
            sweep_id,
            tags: self.tags.clone(),
            condition: self.condition.clone(),
            note: self.note.clone(),
        })
    }
}

impl Resolved {
    /// When a filter selected nothing, fails if `--where` names a parameter that no parameter
    /// set has (listing the close ones), and warns of a comparison whose literal is of a type
    /// the parameter is never stored as (`params.period = '10'` where periods are numbers); a
    /// filter that is merely strict passes. Reads every parameter set in scope, so it runs only
    /// after an empty result.
    pub async fn check_parameters(&self, conn: &mut AsyncPgConnection) -> Result<()> {
        let comparisons: Vec<&Comparison> = self
            .condition
            .as_ref()
            .map(Expr::comparisons)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| matches!(c.field, Field::Param(_)))
            .collect();
        if comparisons.is_empty() {
            return Ok(());
        }
        // Each parameter with each JSON type it is stored as. Two set-returning calls in one
        // select list run in lockstep, so each key meets its own value.
        let stored = || {
            let query = parameter_sets::table
                .select(
                    dsl::sql::<(diesel::sql_types::Text, diesel::sql_types::Text)>(
                        "(jsonb_each(params)).key, jsonb_typeof((jsonb_each(params)).value)",
                    ),
                )
                .distinct()
                .into_boxed();
            match &self.strategy_ids {
                Some(ids) => query.filter(parameter_sets::strategy_id.eq_any(ids.clone())),
                None => query,
            }
        };
        let stored: Vec<(String, String)> = load(conn, stored).await?;
        let mut known: Vec<String> = stored.iter().map(|(key, _)| key.clone()).collect();
        known.sort();
        known.dedup();
        for c in comparisons {
            let Field::Param(key) = &c.field else {
                continue;
            };
            suggest::require(key, &known, || {
                format!("--where: no parameter set has parameter `{key}`")
            })?;
            let types: Vec<&str> = stored
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, t)| t.as_str())
                .collect();
            let wanted = json_type(&c.value);
            if !types.contains(&wanted) {
                tracing::warn!(
                    "--where: `params.{key} {} {}` compares a {wanted} with parameter `{key}`, \
                     which is stored as {}, so it matches nothing",
                    c.op,
                    c.value,
                    types.join(" or ")
                );
            }
        }
        Ok(())
    }

    /// When a listing selected nothing, fails if `--dataset` names a data set no run (of the
    /// strategy) is on, with the close names. Reads the data sets in scope, so it runs only
    /// after an empty result.
    pub async fn check_dataset(&self, conn: &mut AsyncPgConnection) -> Result<()> {
        if let Some(dataset) = &self.dataset {
            let known: Vec<String> = load(conn, || {
                let query = runs::table.select(runs::dataset).distinct().into_boxed();
                match &self.strategy_ids {
                    Some(ids) => query.filter(runs::strategy_id.eq_any(ids.clone())),
                    None => query,
                }
            })
            .await?;
            suggest::require(dataset, &known, || match self.strategy_ids {
                Some(_) => format!("--dataset: the strategy has no run on `{dataset}`"),
                None => format!("--dataset: no run is on `{dataset}`"),
            })?;
        }
        Ok(())
    }

    /// The filter as conditions on a table whose rows belong to runs through `cols`.
    pub fn predicates<QS, R, P, S, D>(&self, cols: RunColumns<R, P, S, D>) -> Vec<Predicate<QS>>
    where
        R: Expression<SqlType = BigInt> + Copy,
        P: Expression<SqlType = BigInt> + Copy,
        S: Expression<SqlType = BigInt> + Copy,
        D: Expression<SqlType = diesel::sql_types::Text> + Copy,
        dsl::EqAny<R, RunIds>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        dsl::EqAny<R, MetricRunIds>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        dsl::EqAny<P, ParamSetIds>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        dsl::EqAny<S, Vec<StrategyId>>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        dsl::Eq<S, StrategyId>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        dsl::Eq<D, String>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
        QS: 'static,
    {
        let mut out: Vec<Predicate<QS>> = Vec::new();
        // One strategy (the usual case: a name with one version) as an equality, which lets
        // the planner read its runs in id order from runs_strategy_id_idx (migration 16);
        // `= ANY` of one value does not.
        match self.strategy_ids.as_deref() {
            Some([id]) => out.push(Box::new(cols.strategy_id.eq(*id))),
            Some(ids) => out.push(Box::new(cols.strategy_id.eq_any(ids.to_vec()))),
            None => {}
        }
        if let Some(dataset) = &self.dataset {
            out.push(Box::new(cols.dataset.eq(dataset.clone())));
        }
        // Sweep and tags live on `runs` only: a semi-join through its primary key.
        if let Some(sweep_id) = self.sweep_id {
            let ids: RunIds = runs::table
                .filter(runs::sweep_id.eq(sweep_id))
                .select(runs::id)
                .into_boxed();
            out.push(Box::new(cols.run_id.eq_any(ids)));
        }
        if !self.tags.is_empty() {
            let ids: RunIds = runs::table
                .filter(runs::tags.contains(self.tags.clone()))
                .select(runs::id)
                .into_boxed();
            out.push(Box::new(cols.run_id.eq_any(ids)));
        }
        if let Some(text) = &self.note {
            // The text as itself: LIKE's wildcards and escape in it match literally.
            let literal: String = text
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let ids: RunIds = runs::table
                .filter(runs::note.ilike(format!("%{literal}%")))
                .select(runs::id)
                .into_boxed();
            out.push(Box::new(cols.run_id.eq_any(ids)));
        }
        if let Some(condition) = &self.condition {
            out.push(condition_expr(condition, cols));
        }
        out
    }
}

/// A `--where` tree as one Diesel expression.
fn condition_expr<QS, R, P, S, D>(expr: &Expr, cols: RunColumns<R, P, S, D>) -> Predicate<QS>
where
    R: Expression<SqlType = BigInt> + Copy,
    P: Expression<SqlType = BigInt> + Copy,
    S: Copy,
    D: Copy,
    dsl::EqAny<R, MetricRunIds>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
    dsl::EqAny<P, ParamSetIds>: BoxableExpression<QS, Pg, SqlType = Bool> + 'static,
    QS: 'static,
{
    match expr {
        Expr::And(a, b) => Box::new(condition_expr(a, cols).and(condition_expr(b, cols))),
        Expr::Or(a, b) => Box::new(condition_expr(a, cols).or(condition_expr(b, cols))),
        Expr::Not(a) => Box::new(dsl::not(condition_expr(a, cols))),
        Expr::Compare(c) => match &c.field {
            Field::Metric(_) => Box::new(cols.run_id.eq_any(metric_runs(c))),
            Field::Param(_) => Box::new(cols.parameter_set_id.eq_any(param_sets(c))),
        },
    }
}

/// Completed runs whose metric compares as asked: a range of `metrics_value_idx`. Failed runs'
/// metrics are partial and are left out, as in ranking.
fn metric_runs(c: &Comparison) -> MetricRunIds {
    let (Field::Metric(name), Value::Number(text)) = (&c.field, &c.value) else {
        unreachable!("the parser gives metrics numbers only")
    };
    // The parser accepted the text as a JSON number, which always reads as an f64.
    let value: f64 = text.parse().unwrap_or(f64::NAN);
    let query = metrics::table
        .filter(metrics::name.eq(name.clone()))
        .filter(metrics::completed.eq(true))
        .select(metrics::run_id)
        .into_boxed();
    match c.op {
        Op::Eq => query.filter(metrics::value.eq(value)),
        Op::Ne => query.filter(metrics::value.ne(value)),
        Op::Lt => query.filter(metrics::value.lt(value)),
        Op::Le => query.filter(metrics::value.le(value)),
        Op::Gt => query.filter(metrics::value.gt(value)),
        Op::Ge => query.filter(metrics::value.ge(value)),
    }
}

/// Parameter sets whose parameter compares as asked. Equality is JSON containment, which the
/// GIN index on `params` serves and which compares numbers by value (`10` = `10.0`); order
/// comparisons hold only between values of the same JSON type.
fn param_sets(c: &Comparison) -> ParamSetIds {
    let Field::Param(key) = &c.field else {
        unreachable!("called for parameters only")
    };
    let value = json_value(&c.value);
    let query = parameter_sets::table
        .select(parameter_sets::id)
        .into_boxed();
    let param = parameter_sets::params.retrieve_as_object(key.clone());
    let same_type = jsonb_typeof(param.clone()).eq(json_type(&c.value));
    let contains =
        parameter_sets::params.contains(serde_json::json!({ key.clone(): value.clone() }));
    match c.op {
        Op::Eq => query.filter(contains),
        Op::Ne => query
            .filter(parameter_sets::params.has_key(key.clone()))
            .filter(dsl::not(contains)),
        Op::Lt => query.filter(same_type).filter(param.lt(value)),
        Op::Le => query.filter(same_type).filter(param.le(value)),
        Op::Gt => query.filter(same_type).filter(param.gt(value)),
        Op::Ge => query.filter(same_type).filter(param.ge(value)),
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        // Kept as written (arbitrary precision): compared exactly by PostgreSQL's numeric.
        Value::Number(text) => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
        Value::Text(text) => serde_json::Value::String(text.clone()),
        Value::Bool(b) => serde_json::Value::Bool(*b),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Number(_) => "number",
        Value::Text(_) => "string",
        Value::Bool(_) => "boolean",
    }
}
