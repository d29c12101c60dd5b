//! A run as a valid document makes it: what is written, compared and hashed.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::fields::Objective;
use crate::models::{RunStatus, TradeSide};

/// A run that passed every rule, with defaults applied and metrics computed.
#[derive(Debug, Clone)]
pub struct ValidRun {
    pub run_key: String,
    /// SHA-256 of the canonical document: the same key with another hash is a conflict.
    pub content_hash: [u8; 32],
    pub strategy_name: String,
    pub strategy_version: String,
    /// The parameters in canonical form, and the SHA-256 of its JSON text.
    pub params: Value,
    pub params_hash: [u8; 32],
    pub dataset: String,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub initial_capital: Option<BigDecimal>,
    pub periods_per_year: f64,
    pub sweep: Option<String>,
    pub tags: Vec<String>,
    pub status: RunStatus,
    /// Computed metrics, overridden by supplied ones of the same name.
    pub metrics: BTreeMap<String, f64>,
    /// The names of the metrics the document supplied, sorted.
    pub supplied_metrics: Vec<String>,
    pub trades: Vec<ValidTrade>,
    pub equity: Vec<(DateTime<Utc>, BigDecimal)>,
    /// Metrics whose direction the document declared.
    pub directions: BTreeMap<String, Objective>,
    pub trial: Option<i64>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// (step, value), steps increasing.
    pub intermediate: Vec<(i64, f64)>,
    /// Parameter → its range or choices, numbers normalised (`validate::search_space`).
    pub search_space: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidTrade {
    pub symbol: String,
    pub side: TradeSide,
    pub quantity: BigDecimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: BigDecimal,
    pub exit_time: DateTime<Utc>,
    pub exit_price: BigDecimal,
    pub fees: BigDecimal,
    pub pnl: BigDecimal,
    /// What opened the trade, why it closed, and its leverage, where the document says.
    pub entry_tag: Option<String>,
    pub exit_reason: Option<String>,
    pub leverage: Option<BigDecimal>,
}

/// The first field of the run document, in the document's order, in which `b` differs from
/// `a`; the index too for a trade or an equity point. `None` when the contents are equal.
pub fn first_difference(a: &ValidRun, b: &ValidRun) -> Option<String> {
    let fields = [
        ("strategy", a.strategy_name != b.strategy_name),
        ("strategy.version", a.strategy_version != b.strategy_version),
        ("params", a.params != b.params),
        ("dataset", a.dataset != b.dataset),
        ("period_start", a.period_start != b.period_start),
        ("period_end", a.period_end != b.period_end),
        ("initial_capital", a.initial_capital != b.initial_capital),
        ("periods_per_year", a.periods_per_year != b.periods_per_year),
        ("sweep", a.sweep != b.sweep),
        ("tags", a.tags != b.tags),
        ("status", a.status != b.status),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, differs)| *differs) {
        return Some((*name).to_owned());
    }
    let supplied = |run: &ValidRun| -> Vec<(String, f64)> {
        run.supplied_metrics
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    run.metrics.get(name).copied().unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    let (ma, mb) = (supplied(a), supplied(b));
    if ma.len() != mb.len() || ma.iter().zip(&mb).any(|(x, y)| x.0 != y.0) {
        return Some("metrics".to_owned());
    }
    if let Some((name, _)) = ma
        .iter()
        .zip(&mb)
        .find(|(x, y)| x.1.to_bits() != y.1.to_bits())
    {
        return Some(format!("metrics.{}", name.0));
    }
    let element = |name: &str, len_a: usize, len_b: usize, first: Option<usize>| match first {
        Some(i) => Some(format!("{name}[{i}]")),
        None if len_a != len_b => Some(format!("{name} ({len_a} stored, {len_b} given)")),
        None => None,
    };
    let trade = a.trades.iter().zip(&b.trades).position(|(x, y)| x != y);
    if let Some(field) = element("trades", a.trades.len(), b.trades.len(), trade) {
        return Some(field);
    }
    let point = a.equity.iter().zip(&b.equity).position(|(x, y)| x != y);
    if let Some(field) = element("equity", a.equity.len(), b.equity.len(), point) {
        return Some(field);
    }
    let later = [
        ("directions", a.directions != b.directions),
        ("trial", a.trial != b.trial),
        ("started_at", a.started_at != b.started_at),
        ("finished_at", a.finished_at != b.finished_at),
        ("search_space", a.search_space != b.search_space),
    ];
    if let Some((name, _)) = later.iter().find(|(_, differs)| *differs) {
        return Some((*name).to_owned());
    }
    let bits = |v: &[(i64, f64)]| -> Vec<(i64, u64)> {
        v.iter().map(|(s, x)| (*s, x.to_bits())).collect()
    };
    let (ia, ib) = (bits(&a.intermediate), bits(&b.intermediate));
    let value = ia.iter().zip(&ib).position(|(x, y)| x != y);
    element("intermediate", ia.len(), ib.len(), value)
}

/// Whether `given` is `stored` but for floats one unit in the last place apart: the same
/// document, recorded by a btdb whose JSON parser read some floats (17 significant digits)
/// that far off. Recording it again is then recording the same run, not a conflict.
pub fn same_but_for_last_bits(stored: &ValidRun, given: &ValidRun) -> bool {
    let close = |a: f64, b: f64| a.to_bits().abs_diff(b.to_bits()) <= 1;
    if stored.supplied_metrics != given.supplied_metrics
        || !close(stored.periods_per_year, given.periods_per_year)
    {
        return false;
    }
    let mut aligned = given.clone();
    aligned.periods_per_year = stored.periods_per_year;
    for name in &given.supplied_metrics {
        let (Some(a), Some(b)) = (stored.metrics.get(name), given.metrics.get(name)) else {
            return false;
        };
        if !close(*a, *b) {
            return false;
        }
        aligned.metrics.insert(name.clone(), *a);
    }
    first_difference(stored, &aligned).is_none()
}
