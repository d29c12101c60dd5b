//! One run with its strategy, parameters, sweep, metrics and, on request, trades and equity.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::StrategyRef;

use crate::db::explain::load;
use crate::models::{
    EquityPoint, Metric, MetricValue, ParameterSet, Run, RunStatus, Strategy, Sweep, Trade,
};
use crate::schema::{equity_points, parameter_sets, runs, strategies, sweeps, trades};

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

#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    pub id: i64,
    pub run_key: String,
    pub strategy: StrategyRef,
    pub params: serde_json::Value,
    pub dataset: String,
    pub status: RunStatus,
    pub sweep: Option<String>,
    pub tags: Vec<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// Exact, as a decimal string.
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub recorded_at: DateTime<Utc>,
    pub metrics: BTreeMap<String, f64>,
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
            let query = runs::table
                .inner_join(strategies::table)
                .inner_join(parameter_sets::table)
                .left_join(sweeps::table)
                .select((
                    Run::as_select(),
                    Strategy::as_select(),
                    ParameterSet::as_select(),
                    Option::<Sweep>::as_select(),
                ))
                .into_boxed();
            match run {
                RunRef::Id(id) => query.filter(runs::id.eq(*id)),
                RunRef::Key(key) => query.filter(runs::run_key.eq(key.clone())),
            }
        };
        let found: Option<(Run, Strategy, ParameterSet, Option<Sweep>)> =
            load(conn, query).await?.into_iter().next();
        let Some((run_row, strategy, parameter_set, sweep)) = found else {
            match run {
                RunRef::Id(id) => bail!("no run with id {id}"),
                RunRef::Key(key) => bail!("no run with run_key `{key}`"),
            }
        };
        let metrics: Vec<MetricValue> =
            load(conn, || Metric::for_runs(std::slice::from_ref(&run_row))).await?;
        let summary = || {
            trades::table.filter(trades::run_id.eq(run_row.id)).select((
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
                .filter(equity_points::run_id.eq(run_row.id))
                .count()
        };
        let n_equity_points: i64 = load::<_, i64>(conn, points).await?.into_iter().sum();
        let trades = if with_trades {
            Some(load(conn, || Trade::for_run(run_row.id)).await?)
        } else {
            None
        };
        let equity = if with_equity {
            let rows: Vec<EquityPoint> = load(conn, || EquityPoint::for_run(run_row.id)).await?;
            Some(rows.into_iter().map(|p| (p.ts, p.equity)).collect())
        } else {
            None
        };
        Ok(Self {
            id: run_row.id,
            run_key: run_row.run_key,
            strategy: strategy.into(),
            params: parameter_set.params,
            dataset: run_row.dataset,
            status: run_row.status,
            sweep: sweep.map(|s| s.name),
            tags: run_row.tags,
            period_start: run_row.period_start,
            period_end: run_row.period_end,
            initial_capital: run_row.initial_capital,
            periods_per_year: run_row.periods_per_year,
            recorded_at: run_row.recorded_at,
            metrics: metrics.into_iter().map(|m| (m.name, m.value)).collect(),
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
        let version = if self.strategy.version.is_empty() {
            String::new()
        } else {
            format!(" {}", self.strategy.version)
        };
        let opt = |t: &Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
        let rows = [
            ("run", format!("{} ({})", self.id, self.run_key)),
            ("strategy", format!("{}{version}", self.strategy.name)),
            ("params", self.params.to_string()),
            ("dataset", self.dataset.clone()),
            ("status", self.status.to_string()),
            ("sweep", self.sweep.clone().unwrap_or_else(|| "-".into())),
            (
                "tags",
                if self.tags.is_empty() {
                    "-".into()
                } else {
                    self.tags.join(", ")
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
            ("periods/year", self.periods_per_year.to_string()),
            ("recorded", self.recorded_at.to_rfc3339()),
            ("trades", self.trades_line()),
            ("equity points", self.n_equity_points.to_string()),
        ];
        for (key, value) in rows {
            let _ = writeln!(out, "{key:<16} {value}");
        }
        if !self.metrics.is_empty() {
            let _ = writeln!(out, "metrics");
            for (name, value) in &self.metrics {
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
