//! The rules of docs/run-document.md that types alone do not express, the defaults, the
//! canonical form of a run (for its content hash and automatic key), and the metrics computed
//! from it.

use std::collections::BTreeMap;
use std::fmt;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::num_traits::ToPrimitive;
use bigdecimal::{BigDecimal, Signed, Zero};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use super::canonical::content_hash;
use super::fields::{Decimal, EquityPoint, RunDocument, Timestamp, TradeDocument, clip, kind};
use super::run::{ValidRun, ValidTrade};
use crate::models::{RunStatus, TradeSide};
use crate::{decimal, metrics};

const MAX_NAME_CHARS: usize = 200;
const DEFAULT_PERIODS_PER_YEAR: f64 = 252.0;

/// A broken rule: the field's path in the document and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A name-like string: 1 to 200 characters, none of them control characters. `field` names
/// the value only when a rule is broken, so valid documents format nothing.
fn check_name(field: impl Fn() -> String, text: &str) -> Result<(), Invalid> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(invalid(
            field(),
            format!("must be 1 to {MAX_NAME_CHARS} characters, not {chars}"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(field(), "must not contain control characters"));
    }
    Ok(())
}

fn check_positive(field: impl Fn() -> String, value: &Decimal) -> Result<(), Invalid> {
    if value.value.is_positive() {
        Ok(())
    } else {
        Err(invalid(
            field(),
            format!("must be > 0, not {}", value.value),
        ))
    }
}

/// Metric names as the run document allows them: `^[A-Za-z_][A-Za-z0-9_.]{0,63}$`.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Applies every rule and default to a parsed document. `default_sweep` is `--sweep`. The
/// steps run in the document's order, so that the first broken rule reported is the first in
/// the document.
pub fn validate(doc: RunDocument, default_sweep: Option<&str>) -> Result<ValidRun, Invalid> {
    let sweep = doc
        .sweep
        .clone()
        .or_else(|| default_sweep.map(str::to_owned));
    let tags = doc.tags.clone().unwrap_or_default();
    check_names(&doc, sweep.as_deref(), &tags)?;
    let periods_per_year = periods_per_year(doc.periods_per_year)?;
    let params = canonical_params(doc.params.unwrap_or_default())?;
    let (equity, equity_f64) = equity_curve(doc.equity.unwrap_or_default())?;
    let trades = trades(doc.trades.unwrap_or_default())?;
    let (period_start, period_end) = period(
        doc.period_start.map(|t| t.0),
        doc.period_end.map(|t| t.0),
        &equity,
    )?;
    let initial_capital = initial_capital(doc.initial_capital, &equity)?;
    let supplied = doc.metrics.unwrap_or_default();
    check_metrics(&supplied)?;
    let directions = doc.directions.unwrap_or_default();
    if let Some(name) = directions.keys().find(|name| !is_metric_name(name)) {
        return Err(invalid(
            format!("directions.{name}"),
            "is not a metric name (^[A-Za-z_][A-Za-z0-9_.]{0,63}$)",
        ));
    }
    let trial = trial(doc.trial, doc.started_at, doc.finished_at)?;
    let intermediate = intermediate(doc.intermediate.unwrap_or_default())?;
    let search_space = search_space(doc.search_space.unwrap_or_default())?;

    let pnl: Vec<&BigDecimal> = trades.iter().map(|t| &t.pnl).collect();
    let mut metrics: BTreeMap<String, f64> = metrics::computed(&equity_f64, periods_per_year, &pnl)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let supplied_metrics = supplied.keys().cloned().collect();
    metrics.extend(supplied);
    let params_hash: [u8; 32] = Sha256::digest(params.to_string().as_bytes()).into();
    let mut run = ValidRun {
        run_key: String::new(),
        content_hash: [0; 32],
        strategy_name: doc.strategy.name,
        strategy_version: doc.strategy.version,
        params,
        params_hash,
        dataset: doc.dataset,
        period_start,
        period_end,
        initial_capital,
        periods_per_year,
        sweep,
        tags,
        status: doc.status.unwrap_or(RunStatus::Completed),
        metrics,
        supplied_metrics,
        trades,
        equity,
        directions,
        trial,
        started_at: doc.started_at.map(|t| t.0),
        finished_at: doc.finished_at.map(|t| t.0),
        intermediate,
        search_space,
    };
    run.content_hash = content_hash(&run, doc.run_key.as_deref());
    run.run_key = doc
        .run_key
        .unwrap_or_else(|| derived_run_key(&run.content_hash));
    Ok(run)
}

/// The names: a run key, strategy, version, data set, sweep and tags of the allowed lengths
/// and characters.
fn check_names(doc: &RunDocument, sweep: Option<&str>, tags: &[String]) -> Result<(), Invalid> {
    if let Some(key) = &doc.run_key {
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(invalid(
                "run_key",
                format!("must be 1 to 200 characters, not {chars}"),
            ));
        }
    }
    check_name(|| "strategy.name".into(), &doc.strategy.name)?;
    if doc.strategy.version.chars().count() > MAX_NAME_CHARS
        || doc.strategy.version.chars().any(char::is_control)
    {
        return Err(invalid(
            "strategy.version",
            "must be at most 200 characters, none of them control characters",
        ));
    }
    check_name(|| "dataset".into(), &doc.dataset)?;
    if let Some(sweep) = sweep {
        check_name(|| "sweep".into(), sweep)?;
    }
    for (i, tag) in tags.iter().enumerate() {
        check_name(|| format!("tags[{i}]"), tag)?;
    }
    Ok(())
}

/// The trial number (it must fit a bigint) and its times, the start not after the finish.
fn trial(
    number: Option<u64>,
    started: Option<Timestamp>,
    finished: Option<Timestamp>,
) -> Result<Option<i64>, Invalid> {
    if let (Some(started), Some(finished)) = (started, finished)
        && finished < started
    {
        return Err(invalid(
            "finished_at",
            format!(
                "{} is before started_at {}",
                rfc3339(finished.0),
                rfc3339(started.0)
            ),
        ));
    }
    number
        .map(|n| {
            i64::try_from(n)
                .map_err(|_| invalid("trial", format!("{n} is beyond 9223372036854775807")))
        })
        .transpose()
}

/// Intermediate values: steps strictly increasing, each within a bigint, values finite.
fn intermediate(values: Vec<(u64, f64)>) -> Result<Vec<(i64, f64)>, Invalid> {
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(values.len());
    for (i, (step, value)) in values.into_iter().enumerate() {
        let Ok(step) = i64::try_from(step) else {
            return Err(invalid(
                format!("intermediate[{i}]"),
                format!("step {step} is beyond 9223372036854775807"),
            ));
        };
        if let Some((previous, _)) = out.last()
            && step <= *previous
        {
            return Err(invalid(
                format!("intermediate[{i}]"),
                format!("step {step} is not after the previous step {previous}"),
            ));
        }
        out.push((step, value));
    }
    Ok(out)
}

/// A search space: each parameter's `{"low", "high"}` (with `step`, `log` and `type` where
/// given) or `{"choices": […]}`, numbers normalised to their shortest float text (integers
/// stay integers) so that the same space hashes alike however its numbers were spelled.
/// `None` when empty.
fn search_space(space: Map<String, Value>) -> Result<Option<Value>, Invalid> {
    fn normalised(value: &Value) -> Value {
        match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            Value::Number(n) => n.as_f64().map_or_else(|| value.clone(), Value::from),
            Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), normalised(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    if space.is_empty() {
        return Ok(None);
    }
    for (name, axis) in &space {
        let field = || format!("search_space.{name}");
        let Value::Object(axis) = axis else {
            return Err(invalid(
                field(),
                "must be an object: {\"low\", \"high\"} or {\"choices\"}",
            ));
        };
        if let Some(choices) = axis.get("choices") {
            if !choices.is_array() {
                return Err(invalid(format!("{}.choices", field()), "must be an array"));
            }
        } else {
            let bound = |key: &str| axis.get(key).and_then(Value::as_f64);
            match (bound("low"), bound("high")) {
                (Some(low), Some(high)) if low <= high => {}
                (Some(low), Some(high)) => {
                    return Err(invalid(field(), format!("low {low} is above high {high}")));
                }
                _ => {
                    return Err(invalid(
                        field(),
                        "needs numbers low and high, or an array of choices",
                    ));
                }
            }
        }
    }
    Ok(Some(normalised(&Value::Object(space))))
}

/// The annualisation factor, 252 unless given: a number > 0.
fn periods_per_year(given: Option<f64>) -> Result<f64, Invalid> {
    let value = given.unwrap_or(DEFAULT_PERIODS_PER_YEAR);
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(invalid(
            "periods_per_year",
            format!("must be a number > 0, not {value}"),
        ))
    }
}

/// The equity curve, exact and as the floats the metrics are computed from: values > 0 within
/// a float64's range, timestamps strictly increasing.
#[allow(clippy::type_complexity)]
fn equity_curve(
    points: Vec<EquityPoint>,
) -> Result<(Vec<(DateTime<Utc>, BigDecimal)>, Vec<f64>), Invalid> {
    let mut equity: Vec<(DateTime<Utc>, BigDecimal)> = Vec::with_capacity(points.len());
    let mut equity_f64 = Vec::with_capacity(points.len());
    for (i, point) in points.into_iter().enumerate() {
        check_positive(|| format!("equity[{i}].equity"), &point.equity)?;
        if !point.equity.approx.is_finite() {
            return Err(invalid(
                format!("equity[{i}].equity"),
                format!(
                    "{} is beyond the range of a float64",
                    decimal::canonical(&point.equity.value)
                ),
            ));
        }
        if let Some((previous, _)) = equity.last()
            && point.ts.0 <= *previous
        {
            return Err(invalid(
                format!("equity[{i}].ts"),
                format!(
                    "{} is not after the previous timestamp {}",
                    rfc3339(point.ts.0),
                    rfc3339(*previous)
                ),
            ));
        }
        equity_f64.push(point.equity.approx);
        equity.push((point.ts.0, point.equity.value));
    }
    Ok((equity, equity_f64))
}

/// The trades: quantities and prices > 0, exits not before entries, fees >= 0 (0 unless
/// given), and pnl computed exactly where not given.
fn trades(documents: Vec<TradeDocument>) -> Result<Vec<ValidTrade>, Invalid> {
    let mut trades = Vec::with_capacity(documents.len());
    for (i, t) in documents.into_iter().enumerate() {
        check_name(|| format!("trades[{i}].symbol"), &t.symbol)?;
        check_positive(|| format!("trades[{i}].quantity"), &t.quantity)?;
        check_positive(|| format!("trades[{i}].entry_price"), &t.entry_price)?;
        check_positive(|| format!("trades[{i}].exit_price"), &t.exit_price)?;
        if let Some(tag) = &t.entry_tag {
            check_name(|| format!("trades[{i}].entry_tag"), tag)?;
        }
        if let Some(reason) = &t.exit_reason {
            check_name(|| format!("trades[{i}].exit_reason"), reason)?;
        }
        if let Some(leverage) = &t.leverage {
            check_positive(|| format!("trades[{i}].leverage"), leverage)?;
        }
        if t.exit_time < t.entry_time {
            return Err(invalid(
                format!("trades[{i}].exit_time"),
                format!(
                    "{} is before entry_time {}",
                    rfc3339(t.exit_time.0),
                    rfc3339(t.entry_time.0)
                ),
            ));
        }
        let fees = t.fees.map(|f| f.value).unwrap_or_else(BigDecimal::zero);
        if fees.is_negative() {
            return Err(invalid(
                format!("trades[{i}].fees"),
                format!("must be >= 0, not {fees}"),
            ));
        }
        let pnl = match t.pnl {
            Some(pnl) => pnl.value,
            None => small_pnl(
                t.side,
                &t.quantity.value,
                &t.entry_price.value,
                &t.exit_price.value,
                &fees,
            )
            .unwrap_or_else(|| {
                let gross = (&t.exit_price.value - &t.entry_price.value) * &t.quantity.value;
                let signed = match t.side {
                    TradeSide::Long => gross,
                    TradeSide::Short => -gross,
                };
                signed - &fees
            }),
        };
        trades.push(ValidTrade {
            symbol: t.symbol,
            side: t.side,
            quantity: t.quantity.value,
            entry_time: t.entry_time.0,
            entry_price: t.entry_price.value,
            exit_time: t.exit_time.0,
            exit_price: t.exit_price.value,
            fees,
            pnl,
            entry_tag: t.entry_tag,
            exit_reason: t.exit_reason,
            leverage: t.leverage.map(|l| l.value),
        });
    }
    Ok(trades)
}

/// The period, the curve's first and last timestamps unless given (one point is no period),
/// its end after its start.
#[allow(clippy::type_complexity)]
fn period(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    equity: &[(DateTime<Utc>, BigDecimal)],
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), Invalid> {
    let (first, last) = match (equity.first(), equity.last()) {
        (Some(first), Some(last)) if equity.len() >= 2 => (Some(first.0), Some(last.0)),
        _ => (None, None),
    };
    let (start, end) = (start.or(first), end.or(last));
    if let (Some(start), Some(end)) = (start, end)
        && start >= end
    {
        return Err(invalid(
            "period_end",
            format!(
                "{} is not after period_start {}",
                rfc3339(end),
                rfc3339(start)
            ),
        ));
    }
    Ok((start, end))
}

/// The initial capital, > 0 when given, else the curve's first value.
fn initial_capital(
    given: Option<Decimal>,
    equity: &[(DateTime<Utc>, BigDecimal)],
) -> Result<Option<BigDecimal>, Invalid> {
    match given {
        Some(capital) => {
            check_positive(|| "initial_capital".into(), &capital)?;
            Ok(Some(capital.value))
        }
        None => Ok(equity.first().map(|(_, e)| e.clone())),
    }
}

/// The supplied metrics: names of the grammar, finite values.
fn check_metrics(supplied: &BTreeMap<String, f64>) -> Result<(), Invalid> {
    for (name, value) in supplied {
        if !is_metric_name(name) {
            return Err(invalid(
                format!("metrics.{}", clip(name)),
                "metric names match ^[A-Za-z_][A-Za-z0-9_.]{0,63}$",
            ));
        }
        if !value.is_finite() {
            return Err(invalid(
                format!("metrics.{name}"),
                "must be a finite number",
            ));
        }
    }
    Ok(())
}

/// `sign·(exit − entry)·quantity − fees` in 128-bit integers, exactly as the decimal arithmetic
/// (same value, same scale), for the usual decimals whose digits fit; `None` for the rest.
fn small_pnl(
    side: TradeSide,
    quantity: &BigDecimal,
    entry: &BigDecimal,
    exit: &BigDecimal,
    fees: &BigDecimal,
) -> Option<BigDecimal> {
    fn parts(d: &BigDecimal) -> Option<(i128, u32)> {
        let (unscaled, scale) = d.as_bigint_and_scale();
        Some((i128::from(unscaled.to_i64()?), u32::try_from(scale).ok()?))
    }
    fn rescale(value: i128, from: u32, to: u32) -> Option<i128> {
        value.checked_mul(10i128.checked_pow(to - from)?)
    }
    let (q, sq) = parts(quantity)?;
    let (e, se) = parts(entry)?;
    let (x, sx) = parts(exit)?;
    let (f, sf) = parts(fees)?;
    let s = se.max(sx);
    let diff = rescale(x, sx, s)?.checked_sub(rescale(e, se, s)?)?;
    let gross = diff.checked_mul(q)?;
    let sg = s + sq;
    let signed = match side {
        TradeSide::Long => gross,
        TradeSide::Short => gross.checked_neg()?,
    };
    let scale = sg.max(sf);
    let pnl = rescale(signed, sg, scale)?.checked_sub(rescale(f, sf, scale)?)?;
    Some(BigDecimal::new(BigInt::from(pnl), i64::from(scale)))
}

/// Parameters with keys sorted and numbers in canonical form, so that `{"fast": 10}` and
/// `{"fast": 10.0}` are one parameter set.
fn canonical_params(params: Map<String, Value>) -> Result<Value, Invalid> {
    let mut out = Map::new();
    for (key, value) in params {
        let field = || format!("params.{}", clip(&key));
        let value = match value {
            Value::Number(n) => {
                let decimal: Decimal = n
                    .as_str()
                    .parse()
                    .map_err(|e: String| invalid(field(), e))?;
                let text = decimal::canonical(&decimal.value);
                Value::Number(
                    text.parse::<Number>()
                        .map_err(|e| invalid(field(), e.to_string()))?,
                )
            }
            Value::String(_) | Value::Bool(_) => value,
            other => {
                return Err(invalid(
                    field(),
                    format!(
                        "parameter values are numbers, strings or booleans, not {}",
                        kind(&other)
                    ),
                ));
            }
        };
        out.insert(key, value);
    }
    Ok(Value::Object(out))
}

/// A timestamp as btdb writes it: RFC 3339 in UTC, with as many fraction digits as it has.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The run key of a document that gives none: its content hash.
pub fn derived_run_key(content_hash: &[u8]) -> String {
    let hex: String = content_hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn small_pnl_equals_decimal_arithmetic() {
        let d = |t: &str| BigDecimal::from_str(t).unwrap();
        let cases = [
            (TradeSide::Long, "100", "185.64", "181.18", "1.00"),
            (TradeSide::Short, "2.5", "10", "9.125", "0"),
            (TradeSide::Long, "0.001", "60000.5", "61000.25", "0.0001"),
            (TradeSide::Short, "7", "1.1", "1.3", "0.35"),
        ];
        for (side, q, e, x, f) in cases {
            let gross = (d(x) - d(e)) * d(q);
            let signed = if side == TradeSide::Long {
                gross
            } else {
                -gross
            };
            let exact = signed - d(f);
            let fast = small_pnl(side, &d(q), &d(e), &d(x), &d(f)).unwrap();
            assert_eq!(fast, exact);
            assert_eq!(fast.to_string(), exact.to_string(), "scale differs");
        }
        assert!(small_pnl(TradeSide::Long, &d("1e3"), &d("1"), &d("2"), &d("0")).is_none());
    }

    #[test]
    fn metric_names_follow_the_contract() {
        for ok in ["sharpe", "_x", "custom.exposure", "a1_b.c"] {
            assert!(is_metric_name(ok), "{ok}");
        }
        for bad in ["", "1x", "x-y", "é", "a b", &"a".repeat(65)] {
            assert!(!is_metric_name(bad), "{bad}");
        }
        assert!(is_metric_name(&"a".repeat(64)));
    }
}
