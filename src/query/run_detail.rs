//! One run with its strategy, parameters, sweep, metrics and, on request, trades and equity.

use std::collections::BTreeMap;

use anyhow::Result;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Text};
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::runs::{RunSummary, RunWithParents, summaries_of, with_parents};

use super::NotFound;
use crate::db::explain::load;
use crate::db::{Layout, Reader};
use crate::metrics::stats::SharpeConfidence;
use crate::models::run::Keyed;
use crate::models::{EquityPoint, IntermediateValue, Run, RunId, Trade};
use crate::schema::{equity_points, runs, trades};

/// How a user names a run: by id or by run_key, never guessed from the text, since a run_key
/// may be a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    Id(RunId),
    Key(String),
}

/// One run as `show` prints it: its summary as listings show it, and more.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// Exact, as a decimal string.
    pub initial_capital: Option<BigDecimal>,
    pub n_trades: i64,
    pub trade_summary: TradeSummary,
    pub n_equity_points: i64,
    /// The run's trial in its sweep's search, when an optimizer made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The directions the run's document declared, metric → `maximize` or `minimize`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directions: Option<serde_json::Value>,
    /// The search space its parameters were drawn from, parameter → range or choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_space: Option<serde_json::Value>,
    /// The values the run reported as it ran, (step, value) in step order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intermediate: Vec<(i64, f64)>,
    /// The probabilistic Sharpe ratio and minimum track record: set by `show` against the
    /// benchmark it is given.
    #[serde(flatten)]
    pub confidence: SharpeConfidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trades: Option<Vec<Trade>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equity: Option<Vec<(DateTime<Utc>, BigDecimal)>>,
    /// What an analyst wrote of the run (`btdb note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The trades grouped as asked (`show --by`), by grouping.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub trades_by: BTreeMap<TradeGroup, Vec<TradeGroupRow>>,
}

/// What a run's trades can be grouped by: per pair, per entry signal, per exit reason, as
/// Freqtrade's result tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TradeGroup {
    Symbol,
    EntryTag,
    ExitReason,
}

impl TradeGroup {
    /// The trades column grouped by.
    fn column(self) -> &'static str {
        match self {
            TradeGroup::Symbol => "symbol",
            TradeGroup::EntryTag => "entry_tag",
            TradeGroup::ExitReason => "exit_reason",
        }
    }

    /// How pages and text name it.
    pub fn label(self) -> &'static str {
        match self {
            TradeGroup::Symbol => "symbol",
            TradeGroup::EntryTag => "entry tag",
            TradeGroup::ExitReason => "exit reason",
        }
    }
}

/// One group of a run's trades; `name` is null for the trades without an entry tag or exit
/// reason. Sums are exact decimals.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct TradeGroupRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub trades: i64,
    #[diesel(sql_type = BigInt)]
    pub winners: i64,
    #[diesel(sql_type = BigInt)]
    pub losers: i64,
    #[diesel(sql_type = Numeric)]
    pub pnl: BigDecimal,
    #[diesel(sql_type = Numeric)]
    pub fees: BigDecimal,
}

impl TradeGroupRow {
    /// Run `id`'s trades grouped `by`, the most profitable group first; one scan of the run's
    /// trades partition.
    pub async fn of_run(
        conn: &mut AsyncPgConnection,
        id: RunId,
        by: TradeGroup,
    ) -> Result<Vec<Self>> {
        let column = by.column();
        let sql = format!(
            "SELECT {column} AS name, count(*) AS trades, \
             count(*) FILTER (WHERE pnl > 0) AS winners, \
             count(*) FILTER (WHERE pnl < 0) AS losers, sum(pnl) AS pnl, sum(fees) AS fees \
             FROM trades WHERE run_id = $1 GROUP BY {column} \
             ORDER BY sum(pnl) DESC, {column} NULLS LAST"
        );
        Ok(load(conn, || {
            diesel::sql_query(sql.clone())
                .into_boxed()
                .bind::<BigInt, _>(id.0)
        })
        .await?)
    }
}

/// The run's trades in aggregate; sums are exact decimals, `null` without trades.
#[derive(Debug, Clone, Default, Serialize, Queryable)]
pub struct TradeSummary {
    pub winners: i64,
    pub losers: i64,
    pub total_pnl: Option<BigDecimal>,
    pub total_fees: Option<BigDecimal>,
}

impl RunDetail {
    /// The same parameters' completed runs on the other data sets (newest first, one per data
    /// set): what this run's in-sample result is checked against. Two queries, the second by
    /// the index on `parameter_set_id`.
    pub async fn twins(conn: &mut AsyncPgConnection, id: RunId) -> Result<Vec<(RunId, String)>> {
        let this: Vec<(crate::models::ParameterSetId, String)> = load(conn, || {
            runs::table
                .filter(runs::id.eq(id))
                .select((runs::parameter_set_id, runs::dataset))
        })
        .await?;
        let Some((set, dataset)) = this.into_iter().next() else {
            return Ok(Vec::new());
        };
        let found: Vec<(RunId, String)> = load(conn, || {
            runs::table
                .filter(runs::parameter_set_id.eq(set))
                .filter(runs::dataset.ne(dataset.clone()))
                .filter(runs::status.eq(crate::models::RunStatus::Completed))
                .order(runs::id.desc())
                .select((runs::id, runs::dataset))
                .limit(100)
        })
        .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(found
            .into_iter()
            .filter(|(_, dataset)| seen.insert(dataset.clone()))
            .collect())
    }

    /// The id of the run recorded under `key`, if any: on Citus from `run_keys`, distributed
    /// by the key (one shard), rather than from `runs`, where a key is on any shard.
    pub async fn id_of_key(conn: &mut Reader<'_>, key: &str) -> Result<Option<RunId>> {
        match conn.layout() {
            Layout::Single => key_owner(conn, key).await,
            Layout::Distributed => {
                let found: Vec<Keyed> = load(conn, || Run::keyed(&[key])).await?;
                Ok(found.first().map(|k| k.run_id))
            }
        }
    }

    /// The run `run` names, a key turned into its id first on Citus (see `id_of_key`).
    pub async fn load_on(
        conn: &mut Reader<'_>,
        run: &RunRef,
        with_trades: bool,
        with_equity: bool,
    ) -> Result<Self> {
        match (conn.layout(), run) {
            (Layout::Distributed, RunRef::Key(key)) => match Self::id_of_key(conn, key).await? {
                Some(id) => Self::load(conn, &RunRef::Id(id), with_trades, with_equity).await,
                None => Err(NotFound(format!("no run with run_key `{key}`")).into()),
            },
            _ => Self::load(conn, run, with_trades, with_equity).await,
        }
    }

    /// Loads the run in a fixed number of queries: the run with its parents (one join), its
    /// metrics, its row counts, and its trades and equity when asked for.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        run: &RunRef,
        with_trades: bool,
        with_equity: bool,
    ) -> Result<Self> {
        let query = || {
            let query = with_parents().into_boxed();
            match run {
                RunRef::Id(id) => query.filter(runs::id.eq(*id)),
                RunRef::Key(key) => query.filter(runs::run_key.eq(key.clone())),
            }
        };
        let found: Option<RunWithParents> = load(conn, query).await?.into_iter().next();
        let Some(found) = found else {
            let missing = match run {
                // An error's path: on Citus this asks every shard, which is fine here.
                RunRef::Id(id) => match key_owner(conn, &id.to_string()).await? {
                    Some(other) => format!(
                        "no run with id {id}; run {other} has the run_key `{id}`: btdb show --key {id}"
                    ),
                    None => format!("no run with id {id}"),
                },
                RunRef::Key(key) => format!("no run with run_key `{key}`"),
            };
            return Err(NotFound(missing).into());
        };
        let run_row = &found.0;
        let (id, period_start, period_end, initial_capital) = (
            run_row.id,
            run_row.period_start,
            run_row.period_end,
            run_row.initial_capital.clone(),
        );
        let note = run_row.note.clone();
        let (trial, started_at, finished_at, directions, search_space) = (
            run_row.trial,
            run_row.started_at,
            run_row.finished_at,
            run_row.directions.clone(),
            run_row.search_space.clone(),
        );
        let intermediate: Vec<IntermediateValue> =
            load(conn, || IntermediateValue::for_run(id)).await?;
        let summary = || {
            trades::table.filter(trades::run_id.eq(id)).select((
                diesel::dsl::count_star(),
                (
                    diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "count(*) FILTER (WHERE pnl > 0)",
                    ),
                    diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "count(*) FILTER (WHERE pnl < 0)",
                    ),
                    diesel::dsl::sum(trades::pnl),
                    diesel::dsl::sum(trades::fees),
                ),
            ))
        };
        let (n_trades, trade_summary): (i64, TradeSummary) = load(conn, summary)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let trades = if with_trades {
            Some(load(conn, || Trade::for_run(id)).await?)
        } else {
            None
        };
        let equity: Option<Vec<_>> = if with_equity {
            let rows: Vec<EquityPoint> = load(conn, || EquityPoint::for_run(id)).await?;
            Some(rows.into_iter().map(|p| (p.ts, p.equity)).collect())
        } else {
            None
        };
        // Counted only where the curve is not read anyway: the count cost a run's page more
        // than reading its points (1.2 ms against 0.5 at 1,000,000 runs).
        let n_equity_points: i64 = match &equity {
            Some(points) => i64::try_from(points.len()).unwrap_or(i64::MAX),
            None => {
                let points = || {
                    equity_points::table
                        .filter(equity_points::run_id.eq(id))
                        .count()
                };
                load::<_, i64>(conn, points).await?.into_iter().sum()
            }
        };
        Ok(Self {
            run: summaries_of(conn, vec![found]).await?.remove(0),
            period_start,
            period_end,
            initial_capital,
            n_trades,
            trade_summary,
            n_equity_points,
            trial,
            started_at,
            finished_at,
            directions,
            search_space,
            intermediate: intermediate
                .into_iter()
                .map(|v| (v.step, v.value))
                .collect(),
            confidence: SharpeConfidence::default(),
            trades,
            equity,
            note,
            trades_by: BTreeMap::new(),
        })
    }
}

/// The run recorded under `key`, read from `runs` by its key: on any layout (on Citus it asks
/// every shard, which only an error's path and one server's lookups do).
async fn key_owner(conn: &mut AsyncPgConnection, key: &str) -> Result<Option<RunId>> {
    let found: Vec<(RunId, Vec<u8>)> = load(conn, || Run::by_key(key)).await?;
    Ok(found.first().map(|(id, _)| *id))
}
