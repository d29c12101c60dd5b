//! One run with its strategy, parameters, sweep, metrics and, on request, trades and equity.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::runs::{RunSummary, RunWithParents, with_parents};

use crate::db::explain::load;
use crate::models::{EquityPoint, Metric, MetricValue, Trade};
use crate::schema::{equity_points, runs, trades};

/// How a user names a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRef {
    Id(i64),
    Key(String),
}

impl RunRef {
    /// A number is an id; anything else a run_key.
    pub fn parse(text: &str) -> Self {
        match text.parse() {
            Ok(id) => RunRef::Id(id),
            Err(_) => RunRef::Key(text.to_owned()),
        }
    }
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trades: Option<Vec<Trade>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equity: Option<Vec<(DateTime<Utc>, BigDecimal)>>,
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
            match run {
                RunRef::Id(id) => bail!("no run with id {id}"),
                RunRef::Key(key) => bail!("no run with run_key `{key}`"),
            }
        };
        let metrics: Vec<MetricValue> =
            load(conn, || Metric::for_runs(std::slice::from_ref(&found.0))).await?;
        let run_row = &found.0;
        let (id, period_start, period_end, initial_capital) = (
            run_row.id,
            run_row.period_start,
            run_row.period_end,
            run_row.initial_capital.clone(),
        );
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
        let points = || {
            equity_points::table
                .filter(equity_points::run_id.eq(id))
                .count()
        };
        let n_equity_points: i64 = load::<_, i64>(conn, points).await?.into_iter().sum();
        let trades = if with_trades {
            Some(load(conn, || Trade::for_run(id)).await?)
        } else {
            None
        };
        let equity = if with_equity {
            let rows: Vec<EquityPoint> = load(conn, || EquityPoint::for_run(id)).await?;
            Some(rows.into_iter().map(|p| (p.ts, p.equity)).collect())
        } else {
            None
        };
        Ok(Self {
            run: RunSummary::new(found, metrics),
            period_start,
            period_end,
            initial_capital,
            n_trades,
            trade_summary,
            n_equity_points,
            trades,
            equity,
        })
    }

    fn trades_line(&self) -> String {
        let s = &self.trade_summary;
        match (&s.total_pnl, &s.total_fees) {
            (Some(pnl), Some(fees)) => format!(
                "{} ({} won, {} lost; pnl {pnl}, fees {fees})",
                self.n_trades, s.winners, s.losers
            ),
            _ => self.n_trades.to_string(),
        }
    }

    /// The run as aligned `key  value` lines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let version = if self.run.strategy.version.is_empty() {
            String::new()
        } else {
            format!(" {}", self.run.strategy.version)
        };
        let opt = |t: &Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
        let rows = [
            ("run", format!("{} ({})", self.run.id, self.run.run_key)),
            ("strategy", format!("{}{version}", self.run.strategy.name)),
            ("params", self.run.params.to_string()),
            ("dataset", self.run.dataset.clone()),
            ("status", self.run.status.to_string()),
            (
                "sweep",
                self.run.sweep.clone().unwrap_or_else(|| "-".into()),
            ),
            (
                "tags",
                if self.run.tags.is_empty() {
                    "-".into()
                } else {
                    self.run.tags.join(", ")
                },
            ),
            (
                "period",
                format!("{} .. {}", opt(&self.period_start), opt(&self.period_end)),
            ),
            (
                "initial capital",
                self.initial_capital
                    .as_ref()
                    .map_or("-".into(), ToString::to_string),
            ),
            ("periods/year", self.run.periods_per_year.to_string()),
            ("recorded", self.run.recorded_at.to_rfc3339()),
            ("trades", self.trades_line()),
            ("equity points", self.n_equity_points.to_string()),
        ];
        for (key, value) in rows {
            let _ = writeln!(out, "{key:<16} {value}");
        }
        if !self.run.metrics.is_empty() {
            let _ = writeln!(out, "metrics");
            for (name, value) in &self.run.metrics {
                let _ = writeln!(out, "  {name:<20} {value}");
            }
        }
        if let Some(trades) = &self.trades {
            let _ = writeln!(out, "trades");
            for t in trades {
                let _ = writeln!(
                    out,
                    "  {} {} {} @ {} -> {} pnl {}",
                    t.symbol, t.side, t.quantity, t.entry_price, t.exit_price, t.pnl
                );
            }
        }
        if let Some(equity) = &self.equity {
            let _ = writeln!(out, "equity");
            for (ts, value) in equity {
                let _ = writeln!(out, "  {} {value}", ts.to_rfc3339());
            }
        }
        out
    }
}
