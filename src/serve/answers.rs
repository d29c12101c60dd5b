//! The answers the CLI has no command for: a page of a run's trades, and runs side by side.

use std::collections::HashMap;

use anyhow::{Result, bail};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::db::Reader;
use crate::db::explain::load;
use crate::models::{EquityPoint, RunId, Trade};
use crate::query::NotFound;
use crate::query::runs::RunList;
use crate::report::side_by_side::{MAX_RUNS, SideBySide};
use crate::schema::runs;

/// Most trades one page holds.
pub const MAX_TRADES: i64 = 1000;

/// A page of a run's trades in order (`/api/runs/{id}/trades`).
#[derive(Debug, Clone, Serialize)]
pub struct TradePage {
    pub run: RunId,
    pub trades: Vec<Trade>,
    /// `after` for the next page; `null` on the last.
    pub next: Option<i32>,
}

/// Up to `limit` trades of run `id` after trade `after`.
pub async fn trades(
    conn: &mut AsyncPgConnection,
    id: RunId,
    after: Option<i32>,
    limit: i64,
) -> Result<TradePage> {
    if !(1..=MAX_TRADES).contains(&limit) {
        bail!("limit is {limit}; a page holds 1 to {MAX_TRADES} trades");
    }
    let trades: Vec<Trade> = load(conn, || Trade::page(id, after, limit)).await?;
    if trades.is_empty() {
        let found: Vec<RunId> = load(conn, || {
            runs::table.filter(runs::id.eq(id)).select(runs::id)
        })
        .await?;
        if found.is_empty() {
            return Err(NotFound(format!("no run with id {id}")).into());
        }
    }
    let next = (trades.len() as i64 == limit)
        .then(|| trades.last().map(|t| t.seq))
        .flatten();
    Ok(TradePage {
        run: id,
        trades,
        next,
    })
}

/// The runs `ids` side by side, in the order given, with their equity curves when asked.
pub async fn side_by_side(
    conn: &mut Reader<'_>,
    ids: &[RunId],
    with_equity: bool,
) -> Result<(SideBySide, HashMap<RunId, Vec<EquityPoint>>)> {
    if !(2..=MAX_RUNS).contains(&ids.len()) {
        bail!(
            "{} runs given; compare 2 to {MAX_RUNS} (id=1&id=2…)",
            ids.len()
        );
    }
    let runs = RunList::by_ids(ids.to_vec()).fetch(conn).await?;
    if let Some(missing) = ids.iter().find(|id| !runs.iter().any(|r| r.id == **id)) {
        return Err(NotFound(format!("no run with id {missing}")).into());
    }
    let mut curves: HashMap<RunId, Vec<EquityPoint>> = HashMap::new();
    if with_equity {
        let points: Vec<EquityPoint> = load(conn, || EquityPoint::for_run_ids(ids)).await?;
        for point in points {
            curves.entry(point.run_id).or_default().push(point);
        }
    }
    Ok((SideBySide::new(runs), curves))
}

/// Run ids from `id` parameters.
pub fn ids(values: &[String]) -> Result<Vec<RunId>> {
    values
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| match v.trim().parse::<i64>() {
            Ok(id) => Ok(RunId(id)),
            Err(_) => bail!("`{v}` is not a run id (a number)"),
        })
        .collect()
}
