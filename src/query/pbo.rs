//! The equity curves of one strategy's sweep on one data set, aligned into the returns matrix
//! that the probability of backtest overfitting is computed from (docs/metrics.md).

use std::collections::HashSet;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Float8, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::models::{RunId, StrategyId};

/// One parameter set's curve: its latest completed run on the data set.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Curve {
    #[diesel(sql_type = BigInt)]
    pub parameter_set_id: i64,
    #[diesel(sql_type = BigInt)]
    pub run_id: RunId,
    #[diesel(sql_type = Nullable<Array<Timestamptz>>)]
    pub ts: Option<Vec<DateTime<Utc>>>,
    #[diesel(sql_type = Nullable<Array<Float8>>)]
    pub equity: Option<Vec<f64>>,
}

/// The sweep's curves, in parameter-set id order, and how many runs were set aside because a
/// later run of the same parameter set counts.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub curves: Vec<Curve>,
    pub set_aside: i64,
}

#[derive(diesel::QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Loads the latest completed run of every parameter set of `strategies` on `dataset`, with
/// its curve as two arrays: one query for the curves, one for the count set aside. Each curve
/// is read by its run id, which prunes to one partition.
pub async fn load(
    conn: &mut AsyncPgConnection,
    strategies: &[StrategyId],
    dataset: &str,
) -> Result<Sweep> {
    let ids: Vec<i64> = strategies.iter().map(|s| s.0).collect();
    let curves: Vec<Curve> = diesel::sql_query(
        "SELECT c.parameter_set_id, c.id AS run_id, e.ts, e.equity
         FROM (SELECT DISTINCT ON (parameter_set_id) id, parameter_set_id
               FROM runs
               WHERE strategy_id = ANY($1) AND dataset = $2 AND status = 'completed'
               ORDER BY parameter_set_id, id DESC) c
         CROSS JOIN LATERAL (
             SELECT array_agg(p.ts ORDER BY p.seq) AS ts,
                    array_agg(p.equity::float8 ORDER BY p.seq) AS equity
             FROM equity_points p WHERE p.run_id = c.id) e
         ORDER BY c.parameter_set_id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Text, _>(dataset)
    .load(conn)
    .await?;
    let total: Total = diesel::sql_query(
        "SELECT count(*) AS n FROM runs
         WHERE strategy_id = ANY($1) AND dataset = $2 AND status = 'completed'",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Text, _>(dataset)
    .get_result(conn)
    .await?;
    Ok(Sweep {
        set_aside: total.n - curves.len() as i64,
        curves,
    })
}

/// The returns matrix: one column of simple returns per kept parameter set, on the timestamps
/// all kept curves share.
#[derive(Debug, Clone)]
pub struct Aligned {
    pub returns: Vec<Vec<f64>>,
    /// Runs left out by `--align intersect` for sharing too few timestamps.
    pub dropped: Vec<RunId>,
}

impl Sweep {
    /// Aligns the curves on the timestamps they share. A curve sharing fewer than half of the
    /// longest curve's timestamps is an error naming its run, or with `intersect` is dropped.
    pub fn align(&self, intersect: bool) -> Result<Aligned> {
        let missing: Vec<String> = self
            .curves
            .iter()
            .filter(|c| c.ts.as_ref().is_none_or(|ts| ts.len() < 2))
            .map(|c| c.run_id.to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "runs without an equity curve (two points or more) cannot be cross-validated: \
                 run {} (record their curves, or delete them)",
                missing.join(", ")
            );
        }
        let longest = self
            .curves
            .iter()
            .filter_map(|c| c.ts.as_ref())
            .max_by_key(|ts| ts.len())
            .map(|ts| ts.iter().copied().collect::<HashSet<_>>())
            .unwrap_or_default();
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        for curve in &self.curves {
            let ts = curve.ts.as_deref().unwrap_or_default();
            let shared = ts.iter().filter(|t| longest.contains(t)).count();
            if shared * 2 < longest.len() {
                dropped.push(curve.run_id);
            } else {
                kept.push(curve);
            }
        }
        if !dropped.is_empty() && !intersect {
            let names: Vec<String> = dropped.iter().take(10).map(|r| r.to_string()).collect();
            bail!(
                "{} runs share fewer than half of the longest curve's timestamps (run {}); \
                 --align intersect leaves them out",
                dropped.len(),
                names.join(", ")
            );
        }
        let mut common: HashSet<DateTime<Utc>> = longest;
        for curve in &kept {
            let ts: HashSet<_> = curve.ts.iter().flatten().copied().collect();
            common.retain(|t| ts.contains(t));
        }
        let returns = kept
            .iter()
            .map(|curve| {
                let points: Vec<f64> = curve
                    .ts
                    .iter()
                    .flatten()
                    .zip(curve.equity.iter().flatten())
                    .filter(|(t, _)| common.contains(t))
                    .map(|(_, e)| *e)
                    .collect();
                points.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
            })
            .collect();
        Ok(Aligned { returns, dropped })
    }
}
