//! `show`'s text: one run as `key  value` lines, then its metrics, trades and equity.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::number;
use crate::query::run_detail::RunDetail;

fn trades_line(detail: &RunDetail) -> String {
    let s = &detail.trade_summary;
    match (&s.total_pnl, &s.total_fees) {
        (Some(pnl), Some(fees)) => format!(
            "{} ({} won, {} lost; pnl {pnl}, fees {fees})",
            detail.n_trades, s.winners, s.losers
        ),
        _ => detail.n_trades.to_string(),
    }
}

/// The run as aligned `key  value` lines.
pub fn text(detail: &RunDetail) -> String {
    let mut out = String::new();
    let version = if detail.run.strategy.version.is_empty() {
        String::new()
    } else {
        format!(" {}", detail.run.strategy.version)
    };
    let opt = |t: &Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
    let rows = [
        ("run", format!("{} ({})", detail.run.id, detail.run.run_key)),
        ("strategy", format!("{}{version}", detail.run.strategy.name)),
        ("params", detail.run.params.to_string()),
        ("dataset", detail.run.dataset.clone()),
        ("status", detail.run.status.to_string()),
        (
            "sweep",
            detail.run.sweep.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "tags",
            if detail.run.tags.is_empty() {
                "-".into()
            } else {
                detail.run.tags.join(", ")
            },
        ),
        (
            "period",
            format!(
                "{} .. {}",
                opt(&detail.period_start),
                opt(&detail.period_end)
            ),
        ),
        (
            "initial capital",
            detail
                .initial_capital
                .as_ref()
                .map_or("-".into(), ToString::to_string),
        ),
        ("periods/year", detail.run.periods_per_year.to_string()),
        ("recorded", detail.run.recorded_at.to_rfc3339()),
        ("trades", trades_line(detail)),
        ("equity points", detail.n_equity_points.to_string()),
        (
            "psr",
            detail.confidence.psr.map_or_else(|| "-".to_owned(), number),
        ),
        (
            "min track rec.",
            detail.confidence.min_track_record.map_or_else(
                || "-".to_owned(),
                |t| format!("{} periods ({} years)", number(t.periods), number(t.years)),
            ),
        ),
    ];
    for (key, value) in rows {
        let _ = writeln!(out, "{key:<16} {value}");
    }
    if let Some(trial) = detail.trial {
        let _ = writeln!(
            out,
            "{:<16} {trial} ({} .. {})",
            "trial",
            opt(&detail.started_at),
            opt(&detail.finished_at)
        );
    }
    if let Some(note) = &detail.note {
        // A note keeps its own lines, each indented under the first.
        let indented = note
            .lines()
            .collect::<Vec<_>>()
            .join(&format!("\n{:<17}", ""));
        let _ = writeln!(out, "{:<16} {indented}", "note");
    }
    if !detail.run.metrics.is_empty() {
        let _ = writeln!(out, "metrics");
        for (name, value) in detail.run.metrics.iter() {
            // A declared direction is said beside its metric: it decides how rankings order it.
            match detail
                .directions
                .as_ref()
                .and_then(|d| d.get(name)?.as_str())
            {
                Some(direction) => {
                    let _ = writeln!(out, "  {name:<20} {value}  ({direction})");
                }
                None => {
                    let _ = writeln!(out, "  {name:<20} {value}");
                }
            }
        }
    }
    if !detail.intermediate.is_empty() {
        let _ = writeln!(out, "intermediate values");
        for (step, value) in &detail.intermediate {
            let _ = writeln!(out, "  {step:<20} {value}");
        }
    }
    if let Some(trades) = &detail.trades {
        let _ = writeln!(out, "trades");
        for t in trades {
            let _ = write!(
                out,
                "  {} {} {} @ {} -> {} pnl {}",
                t.symbol, t.side, t.quantity, t.entry_price, t.exit_price, t.pnl
            );
            if let Some(leverage) = &t.leverage {
                let _ = write!(out, " leverage {leverage}");
            }
            if let Some(tag) = &t.entry_tag {
                let _ = write!(out, " entry {tag}");
            }
            if let Some(reason) = &t.exit_reason {
                let _ = write!(out, " exit {reason}");
            }
            out.push('\n');
        }
    }
    for (by, groups) in &detail.trades_by {
        let _ = writeln!(out, "trades by {}", by.label());
        for g in groups {
            let _ = writeln!(
                out,
                "  {:<20} {} trades ({} won, {} lost) pnl {} fees {}",
                g.name.as_deref().unwrap_or("(none)"),
                g.trades,
                g.winners,
                g.losers,
                g.pnl,
                g.fees
            );
        }
    }
    if let Some(equity) = &detail.equity {
        let _ = writeln!(out, "equity");
        for (ts, value) in equity {
            let _ = writeln!(out, "  {} {value}", ts.to_rfc3339());
        }
    }
    out
}

/// A run's trades, one row each, values exact as recorded (the page's CSV).
pub fn trades_table(trades: &[crate::models::Trade]) -> super::Table {
    let mut table = super::Table::new([
        "seq",
        "symbol",
        "side",
        "quantity",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "fees",
        "pnl",
        "entry_tag",
        "exit_reason",
        "leverage",
    ]);
    for t in trades {
        table.push(vec![
            t.seq.to_string(),
            t.symbol.clone(),
            t.side.to_string(),
            t.quantity.to_string(),
            t.entry_time.to_rfc3339(),
            t.entry_price.to_string(),
            t.exit_time.to_rfc3339(),
            t.exit_price.to_string(),
            t.fees.to_string(),
            t.pnl.to_string(),
            t.entry_tag.clone().unwrap_or_default(),
            t.exit_reason.clone().unwrap_or_default(),
            t.leverage
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ]);
    }
    table
}

/// A run's equity curve, one row per point, values exact as recorded (the page's CSV).
pub fn equity_table(points: &[(DateTime<Utc>, bigdecimal::BigDecimal)]) -> super::Table {
    let mut table = super::Table::new(["ts", "equity"]);
    for (ts, equity) in points {
        table.push(vec![ts.to_rfc3339(), equity.to_string()]);
    }
    table
}
