//! Runs, their trades or their equity curves as typed tables (Arrow, Parquet), read a page of
//! runs at a time: the schema is decided first, from the whole selection, so that every page
//! fits it.

use std::collections::HashSet;

use anyhow::Result;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};

use crate::db::Reader;
use crate::db::explain::load;
use crate::models::numeric::NearestF64;
use crate::models::{EquityPoint, RunId, Trade};
use crate::query::columns::{self, DecimalRange, MetricColumns};
use crate::query::filter::Resolved;
use crate::query::runs::RunList;
use crate::report::arrow::{Decimals, NumericType};
use crate::report::rows::{EquityFrame, TradeFrame};
use crate::report::runs::RunFrame;
use crate::report::sink::Behind;

/// The columns of the listing `list` (its first `limit` runs) with the metric columns
/// `metrics`: its initial capitals at their largest scale when `decimals` are exact.
pub async fn run_frame(
    list: &RunList,
    limit: Option<i64>,
    conn: &mut Reader<'_>,
    metrics: &MetricColumns,
    decimals: Decimals,
) -> Result<RunFrame> {
    let columns = list.columns(conn, metrics).await?;
    let capital = match decimals {
        Decimals::Exact => list.capital_range(conn, limit).await?,
        Decimals::Float | Decimals::Text => DecimalRange::default(),
    };
    Ok(RunFrame::new(columns, NumericType::new(decimals, capital)))
}

/// Which rows a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// One row per run: its fields, `params.KEY` and `metrics.NAME`.
    Runs,
    /// One row per trade, by run and entry time.
    Trades,
    /// One row per equity point, by run and time.
    Equity,
}

impl Rows {
    pub const ALL: [Rows; 3] = [Rows::Runs, Rows::Trades, Rows::Equity];

    pub fn name(self) -> &'static str {
        match self {
            Rows::Runs => "runs",
            Rows::Trades => "trades",
            Rows::Equity => "equity",
        }
    }

    /// Runs read per page: a run's trades and curve are many rows, so fewer runs at a time.
    pub fn page(self) -> usize {
        match self {
            Rows::Runs => 5_000,
            Rows::Trades | Rows::Equity => 100,
        }
    }
}

/// The columns of one table and how to fill them.
#[derive(Debug, Clone)]
pub enum Frame {
    Runs(RunFrame),
    Trades(TradeFrame),
    Equity(EquityFrame),
}

impl Frame {
    /// The frame of `rows` for the runs `ids`, which `filter` selected.
    pub async fn new(
        rows: Rows,
        conn: &mut Reader<'_>,
        filter: &Resolved,
        ids: &[RunId],
        decimals: Decimals,
    ) -> Result<Self> {
        let exact = decimals == Decimals::Exact;
        Ok(match rows {
            Rows::Runs => {
                let list = RunList {
                    filter: filter.clone(),
                    ids: Some(ids.to_vec()),
                    ..RunList::default()
                };
                Frame::Runs(run_frame(&list, None, conn, &MetricColumns::All, decimals).await?)
            }
            Rows::Trades => {
                let ranges = match exact {
                    true => columns::trade_ranges(conn, ids).await?,
                    false => Default::default(),
                };
                Frame::Trades(TradeFrame::new(
                    ranges.map(|r| NumericType::new(decimals, r)),
                ))
            }
            Rows::Equity => {
                let range = match exact {
                    true => columns::equity_range(conn, ids).await?,
                    false => DecimalRange::default(),
                };
                Frame::Equity(EquityFrame::new(NumericType::new(decimals, range)))
            }
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        match self {
            Frame::Runs(f) => f.schema(),
            Frame::Trades(f) => f.schema(),
            Frame::Equity(f) => f.schema(),
        }
    }

    /// Which rows the frame holds.
    pub fn rows(&self) -> Rows {
        match self {
            Frame::Runs(_) => Rows::Runs,
            Frame::Trades(_) => Rows::Trades,
            Frame::Equity(_) => Rows::Equity,
        }
    }

    /// Calls `write` with `state`, the batch of each page of the runs `ids`, in order, and how
    /// many runs the page holds; `state` back at the end. Memory holds a few pages, whatever
    /// the number of runs: batches are made and written on a thread of their own while the
    /// server produces the next page.
    pub async fn each_page<S: Send + 'static>(
        &self,
        conn: &mut Reader<'_>,
        ids: &[RunId],
        state: S,
        mut write: impl FnMut(&mut S, &RecordBatch, usize) -> Result<()> + Send + 'static,
    ) -> Result<S> {
        let frame = self.clone();
        let writer = Behind::spawn(state, move |state, (rows, runs): (PageRows, usize)| {
            write(state, &frame.batch_of(rows)?, runs)
        });
        let read = async {
            for page in ids.chunks(self.rows().page()) {
                writer.send((self.read(conn, page).await?, page.len()))?;
            }
            Ok(())
        }
        .await;
        writer.finish(read)
    }

    /// The rows of the runs `ids` (one page), in order.
    pub async fn batch(&self, conn: &mut Reader<'_>, ids: &[RunId]) -> Result<RecordBatch> {
        self.batch_of(self.read(conn, ids).await?)
    }

    /// The rows of the runs `ids` as the server gives them.
    async fn read(&self, conn: &mut Reader<'_>, ids: &[RunId]) -> Result<PageRows> {
        Ok(match self {
            Frame::Runs(_) => PageRows::Runs(RunList::by_ids(ids.to_vec()).fetch(conn).await?),
            Frame::Trades(_) => PageRows::Trades(load(conn, || Trade::for_run_ids(ids)).await?),
            Frame::Equity(f) if f.floats() => {
                // Points of runs between the ids come too (see `floats_for`): left out here,
                // and the rest put in order on the writer's thread.
                let wanted: HashSet<RunId> = ids.iter().copied().collect();
                let mut points: Vec<FloatPoint> =
                    load(conn, || EquityPoint::floats_for(ids)).await?;
                points.retain(|p| wanted.contains(&p.0));
                PageRows::EquityFloats(points)
            }
            Frame::Equity(_) => {
                PageRows::Equity(load(conn, || EquityPoint::for_run_ids(ids)).await?)
            }
        })
    }

    /// `rows`, read by [`Frame::read`], as a batch.
    fn batch_of(&self, rows: PageRows) -> Result<RecordBatch> {
        match (self, rows) {
            (Frame::Runs(f), PageRows::Runs(runs)) => f.batch(&runs),
            (Frame::Trades(f), PageRows::Trades(trades)) => f.batch(&trades),
            (Frame::Equity(f), PageRows::EquityFloats(mut points)) => {
                points.sort_unstable_by_key(|p| (p.0, p.1));
                f.batch_of_floats(&points)
            }
            (Frame::Equity(f), PageRows::Equity(points)) => f.batch(&points),
            // `read` gives each frame its own kind of rows.
            _ => anyhow::bail!("a page of one table's rows was given to another table"),
        }
    }
}

/// An equity point read as a double: run, position in its curve, time, equity.
type FloatPoint = (RunId, i32, DateTime<Utc>, NearestF64);

/// The rows of one page, as read and before they become a batch.
enum PageRows {
    Runs(Vec<crate::query::runs::RunSummary>),
    Trades(Vec<Trade>),
    EquityFloats(Vec<FloatPoint>),
    Equity(Vec<EquityPoint>),
}
