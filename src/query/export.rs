//! Runs as the run documents that recorded them, for `btdb export`: a page of runs at a time,
//! each page with everything its runs own in four queries, so memory holds one page.

use std::collections::BTreeMap;

use anyhow::Result;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value, json};

use super::runs::{RunWithParents, with_parents};
use crate::db::explain::load;
use crate::document::validate;
use crate::metrics;
use crate::models::{EquityPoint, IntermediateValue, Metric, MetricValue, Run, RunId, Trade};
use crate::schema::runs;

/// Runs per page: a few hundred kilobytes for runs of the usual size.
pub const PAGE: usize = 100;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exported {
    pub runs: u64,
    /// Runs recorded before btdb kept which metrics a document supplied: for them, a metric
    /// counts as supplied when it is not one btdb computes from the run or differs from it.
    pub inferred: u64,
}

/// Calls `emit` with the run document of each run of `ids`, in that order, a page at a time.
pub async fn documents(
    conn: &mut AsyncPgConnection,
    ids: &[RunId],
    mut emit: impl FnMut(Vec<Value>) -> Result<()>,
) -> Result<Exported> {
    let mut exported = Exported::default();
    for page in ids.chunks(PAGE) {
        let rows: Vec<RunWithParents> = load(conn, || {
            with_parents()
                .filter(runs::id.eq_any(page.to_vec()))
                .order(runs::id)
        })
        .await?;
        let runs: Vec<Run> = rows.iter().map(|(run, ..)| run.clone()).collect();
        let metrics: Vec<MetricValue> = load(conn, || Metric::for_runs(&runs)).await?;
        let trades: Vec<Trade> = load(conn, || Trade::for_runs(&runs)).await?;
        let equity: Vec<EquityPoint> = load(conn, || EquityPoint::for_runs(&runs)).await?;
        let intermediate: Vec<IntermediateValue> =
            load(conn, || IntermediateValue::for_runs(&runs)).await?;
        let owned = metrics
            .grouped_by(&runs)
            .into_iter()
            .zip(trades.grouped_by(&runs))
            .zip(equity.grouped_by(&runs))
            .zip(intermediate.grouped_by(&runs));
        let mut docs = Vec::with_capacity(rows.len());
        for (row, (((metrics, trades), equity), intermediate)) in rows.into_iter().zip(owned) {
            let owned = Owned {
                metrics: &metrics,
                trades: &trades,
                equity: &equity,
                intermediate: &intermediate,
            };
            let (doc, inferred) = document(row, owned);
            exported.runs += 1;
            exported.inferred += u64::from(inferred);
            docs.push(doc);
        }
        emit(docs)?;
    }
    Ok(exported)
}

/// The run document of run `id`, read on a blocking connection (the recorder's, when a key
/// arrives with other content and the difference is to be named); `None` if it is gone.
pub fn stored_document(conn: &mut diesel::PgConnection, id: RunId) -> QueryResult<Option<Value>> {
    let Some(row) = with_parents()
        .filter(runs::id.eq(id))
        .first::<RunWithParents>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let run = std::slice::from_ref(&row.0);
    let metrics: Vec<MetricValue> = Metric::for_runs(run).load(conn)?;
    let trades: Vec<Trade> = Trade::for_runs(run).load(conn)?;
    let equity: Vec<EquityPoint> = EquityPoint::for_runs(run).load(conn)?;
    let intermediate: Vec<IntermediateValue> = IntermediateValue::for_runs(run).load(conn)?;
    let owned = Owned {
        metrics: &metrics,
        trades: &trades,
        equity: &equity,
        intermediate: &intermediate,
    };
    Ok(Some(document(row, owned).0))
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(validate::rfc3339(t))
}

/// A decimal as it is stored, scale included (`10.50` stays `10.50`), as a string in JSON's
/// number syntax.
fn decimal(d: &BigDecimal) -> Value {
    Value::String(d.to_plain_string())
}

/// The rows a run owns.
struct Owned<'a> {
    metrics: &'a [MetricValue],
    trades: &'a [Trade],
    equity: &'a [EquityPoint],
    intermediate: &'a [IntermediateValue],
}

/// The run document of one run, and whether its supplied metrics were inferred.
fn document((run, strategy, params, sweep): RunWithParents, owned: Owned) -> (Value, bool) {
    let Owned {
        metrics,
        trades,
        equity,
        intermediate,
    } = owned;
    let mut doc = Map::new();
    // A key btdb derived from the content was not in the document, and is not part of it.
    if run.run_key != validate::derived_run_key(&run.content_hash) {
        doc.insert("run_key".into(), Value::String(run.run_key));
    }
    let name = run.strategy_spelling.unwrap_or(strategy.name);
    let strategy = if strategy.version.is_empty() {
        Value::String(name)
    } else {
        json!({"name": name, "version": strategy.version})
    };
    doc.insert("strategy".into(), strategy);
    doc.insert("params".into(), params.params);
    doc.insert("dataset".into(), Value::String(run.dataset));
    if let Some(start) = run.period_start {
        doc.insert("period_start".into(), time(start));
    }
    if let Some(end) = run.period_end {
        doc.insert("period_end".into(), time(end));
    }
    if let Some(capital) = &run.initial_capital {
        doc.insert("initial_capital".into(), decimal(capital));
    }
    doc.insert("periods_per_year".into(), json!(run.periods_per_year));
    if let Some(sweep) = sweep {
        doc.insert("sweep".into(), Value::String(sweep.name));
    }
    if !run.tags.is_empty() {
        doc.insert("tags".into(), json!(run.tags));
    }
    doc.insert("status".into(), Value::String(run.status.as_str().into()));
    let inferred = run.supplied_metrics.is_none();
    let supplied: BTreeMap<&str, f64> = match &run.supplied_metrics {
        Some(names) => metrics
            .iter()
            .filter(|m| names.contains(&m.name))
            .map(|m| (m.name.as_str(), m.value))
            .collect(),
        None => {
            let computed = computed(run.periods_per_year, trades, equity);
            metrics
                .iter()
                .filter(|m| computed.get(m.name.as_str()) != Some(&m.value))
                .map(|m| (m.name.as_str(), m.value))
                .collect()
        }
    };
    if !supplied.is_empty() {
        doc.insert("metrics".into(), json!(supplied));
    }
    if !trades.is_empty() {
        let trades: Vec<Value> = trades
            .iter()
            .map(|t| {
                let mut trade = json!({
                    "symbol": t.symbol,
                    "side": t.side.as_str(),
                    "quantity": decimal(&t.quantity),
                    "entry_time": time(t.entry_time),
                    "entry_price": decimal(&t.entry_price),
                    "exit_time": time(t.exit_time),
                    "exit_price": decimal(&t.exit_price),
                    "fees": decimal(&t.fees),
                    "pnl": decimal(&t.pnl),
                });
                if let Some(tag) = &t.entry_tag {
                    trade["entry_tag"] = json!(tag);
                }
                if let Some(reason) = &t.exit_reason {
                    trade["exit_reason"] = json!(reason);
                }
                if let Some(leverage) = &t.leverage {
                    trade["leverage"] = json!(decimal(leverage));
                }
                trade
            })
            .collect();
        doc.insert("trades".into(), Value::Array(trades));
    }
    if !equity.is_empty() {
        let points: Vec<Value> = equity
            .iter()
            .map(|p| json!([time(p.ts), decimal(&p.equity)]))
            .collect();
        doc.insert("equity".into(), Value::Array(points));
    }
    if let Some(directions) = run.directions {
        doc.insert("directions".into(), directions);
    }
    if let Some(trial) = run.trial {
        doc.insert("trial".into(), json!(trial));
    }
    if let Some(started) = run.started_at {
        doc.insert("started_at".into(), time(started));
    }
    if let Some(finished) = run.finished_at {
        doc.insert("finished_at".into(), time(finished));
    }
    if let Some(space) = run.search_space {
        doc.insert("search_space".into(), space);
    }
    if !intermediate.is_empty() {
        let values: Vec<Value> = intermediate
            .iter()
            .map(|v| json!([v.step, v.value]))
            .collect();
        doc.insert("intermediate".into(), Value::Array(values));
    }
    (Value::Object(doc), inferred)
}

/// The metrics recording computed from a run's curve and trades, from the same f64 values: the
/// nearest to each decimal, as recording read them.
fn computed(
    periods_per_year: f64,
    trades: &[Trade],
    equity: &[EquityPoint],
) -> BTreeMap<&'static str, f64> {
    let curve: Vec<f64> = equity.iter().map(|p| metrics::to_f64(&p.equity)).collect();
    let pnl: Vec<&BigDecimal> = trades.iter().map(|t| &t.pnl).collect();
    metrics::computed(&curve, periods_per_year, &pnl)
        .into_iter()
        .collect()
}
