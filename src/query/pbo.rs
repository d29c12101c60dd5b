//! The equity curves of one strategy's sweep on one data set, aligned into the returns matrix
//! that the probability of backtest overfitting is computed from (docs/metrics.md).

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Float8, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::db::{Db, Layout};
use crate::models::{RunId, StrategyId};

/// One parameter set's curve: its latest completed run on the data set.
#[derive(Debug, Clone)]
pub struct Curve {
    pub run_id: RunId,
    /// Strictly increasing, as recording checks; empty for a run without a curve.
    pub ts: Vec<DateTime<Utc>>,
    pub equity: Vec<f64>,
}

/// The sweep's curves, in parameter-set id order, and how many runs were set aside because a
/// later run of the same parameter set counts.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub curves: Vec<Curve>,
    pub set_aside: i64,
}

#[derive(diesel::QueryableByName)]
struct Chosen {
    #[diesel(sql_type = BigInt)]
    run_id: RunId,
}

#[derive(diesel::QueryableByName)]
struct Points {
    #[diesel(sql_type = BigInt)]
    run_id: RunId,
    #[diesel(sql_type = Nullable<Array<Timestamptz>>)]
    ts: Option<Vec<DateTime<Utc>>>,
    #[diesel(sql_type = Nullable<Array<Float8>>)]
    equity: Option<Vec<f64>>,
}

/// Loads the latest completed run of every parameter set of `strategies` on `dataset`, then
/// their curves as arrays, each read by its run id (which prunes to one partition). The curves
/// come in two halves on two connections at once: turning millions of NUMERIC values into
/// float8 is the server's work, and two backends do it on two cores.
pub async fn load(db: &Db, strategies: &[StrategyId], dataset: &str) -> Result<Sweep> {
    let ids: Vec<i64> = strategies.iter().map(|s| s.0).collect();
    let chosen: Vec<Chosen> = diesel::sql_query(
        "SELECT id AS run_id FROM (
             SELECT DISTINCT ON (parameter_set_id) id, parameter_set_id
             FROM runs
             WHERE strategy_id = ANY($1) AND dataset = $2 AND status = 'completed'
             ORDER BY parameter_set_id, id DESC) c
         ORDER BY parameter_set_id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Text, _>(dataset)
    .load(&mut *db.reader().await?)
    .await?;
    let completed: i64 = {
        #[derive(diesel::QueryableByName)]
        struct Total {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let total: Total = diesel::sql_query(
            "SELECT count(*) AS n FROM runs
             WHERE strategy_id = ANY($1) AND dataset = $2 AND status = 'completed'",
        )
        .bind::<Array<BigInt>, _>(&ids)
        .bind::<Text, _>(dataset)
        .get_result(&mut *db.reader().await?)
        .await?;
        total.n
    };
    let runs: Vec<RunId> = chosen.iter().map(|c| c.run_id).collect();
    let half = runs.len().div_ceil(2).max(1);
    let mut halves = runs.chunks(half);
    let (first, second) = (
        halves.next().unwrap_or_default(),
        halves.next().unwrap_or_default(),
    );
    let (mut points, rest) = tokio::try_join!(curves(db, first), curves(db, second))?;
    points.extend(rest);
    let curves = points
        .into_iter()
        .map(|p| Curve {
            run_id: p.run_id,
            ts: p.ts.unwrap_or_default(),
            equity: p.equity.unwrap_or_default(),
        })
        .collect();
    Ok(Sweep {
        set_aside: completed - chosen.len() as i64,
        curves,
    })
}

/// The curves of `runs`, in that order (a run without points has an empty one).
async fn curves(db: &Db, runs: &[RunId]) -> Result<Vec<Points>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = runs.iter().map(|r| r.0).collect();
    let mut reader = db.reader().await?;
    let sql = match reader.layout() {
        // One BRIN-guided read per run: `= ANY` would scan the BRIN index once per id.
        Layout::Single => {
            "SELECT c.run_id, e.ts, e.equity
             FROM unnest($1::bigint[]) AS c(run_id)
             CROSS JOIN LATERAL (
                 SELECT array_agg(p.ts ORDER BY p.seq) AS ts,
                        array_agg(p.equity::float8 ORDER BY p.seq) AS equity
                 FROM equity_points p WHERE p.run_id = c.run_id) e"
        }
        Layout::Distributed => super::citus::EQUITY_CURVES,
    };
    let mut found: HashMap<RunId, Points> = diesel::sql_query(sql)
        .bind::<Array<BigInt>, _>(ids)
        .load::<Points>(&mut *reader)
        .await?
        .into_iter()
        .map(|p| (p.run_id, p))
        .collect();
    Ok(runs
        .iter()
        .map(|&run_id| {
            found.remove(&run_id).unwrap_or(Points {
                run_id,
                ts: None,
                equity: None,
            })
        })
        .collect())
}

/// The returns matrix: one column of simple returns per kept parameter set, on the timestamps
/// all kept curves share.
#[derive(Debug, Clone)]
pub struct Aligned {
    pub returns: Vec<Vec<f64>>,
    /// Runs left out by `--align intersect` for sharing too few timestamps.
    pub dropped: Vec<RunId>,
}

/// The timestamps of `a` that `b` has too; both strictly increasing, so one walk finds them.
fn shared(a: &[DateTime<Utc>], b: &[DateTime<Utc>]) -> Vec<DateTime<Utc>> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

impl Sweep {
    /// Aligns the curves on the timestamps they share. A curve sharing fewer than half of the
    /// longest curve's timestamps is an error naming its run, or with `intersect` is dropped.
    pub fn align(&self, intersect: bool) -> Result<Aligned> {
        let missing: Vec<String> = self
            .curves
            .iter()
            .filter(|c| c.ts.len() < 2)
            .map(|c| c.run_id.to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "runs without an equity curve (two points or more) cannot be cross-validated: \
                 run {} (record their curves, or delete them)",
                missing.join(", ")
            );
        }
        let longest: &[DateTime<Utc>] = self
            .curves
            .iter()
            .map(|c| c.ts.as_slice())
            .max_by_key(|ts| ts.len())
            .unwrap_or_default();
        let (mut kept, mut dropped) = (Vec::new(), Vec::new());
        for curve in &self.curves {
            if shared(longest, &curve.ts).len() * 2 < longest.len() {
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
        let common = kept
            .iter()
            .fold(longest.to_vec(), |common, curve| shared(&common, &curve.ts));
        let returns = kept
            .iter()
            .map(|curve| {
                // The curve's values at the common timestamps, by the same walk.
                let mut points = Vec::with_capacity(common.len());
                let mut j = 0;
                for (t, e) in curve.ts.iter().zip(&curve.equity) {
                    if j < common.len() && *t == common[j] {
                        points.push(*e);
                        j += 1;
                    }
                }
                points.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
            })
            .collect();
        Ok(Aligned { returns, dropped })
    }
}
