//! The run document, version 1 (DESIGN §1), as written: serde types that accept exactly the
//! documented forms, refuse unknown fields, and keep decimals as written.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use serde_json::Value;

use crate::models::{RunStatus, TradeSide};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a run document (a JSON object)")]
pub struct RunDocument {
    pub run_key: Option<String>,
    pub strategy: StrategyRef,
    pub params: Option<serde_json::Map<String, Value>>,
    pub dataset: String,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    pub initial_capital: Option<Decimal>,
    pub periods_per_year: Option<f64>,
    pub sweep: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<RunStatus>,
    pub metrics: Option<BTreeMap<String, f64>>,
    pub trades: Option<Vec<TradeDocument>>,
    pub equity: Option<Vec<EquityPoint>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a trade (a JSON object)")]
pub struct TradeDocument {
    pub symbol: String,
    pub side: TradeSide,
    pub quantity: Decimal,
    pub entry_time: Timestamp,
    pub entry_price: Decimal,
    pub exit_time: Timestamp,
    pub exit_price: Decimal,
    pub fees: Option<Decimal>,
    pub pnl: Option<Decimal>,
}

/// `"name"` or `{"name": ..., "version": ...}`.
#[derive(Debug)]
pub struct StrategyRef {
    pub name: String,
    pub version: String,
}

/// `{"ts": ..., "equity": ...}` or `[ts, equity]`.
#[derive(Debug)]
pub struct EquityPoint {
    pub ts: Timestamp,
    pub equity: Decimal,
}

/// An RFC 3339 timestamp with its zone; a timestamp without one is refused, not guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

/// A decimal from a JSON number or string, exact as written, with the f64 nearest to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decimal {
    pub value: BigDecimal,
    pub approx: f64,
}

/// PostgreSQL NUMERIC's limits: digits before and after the decimal point.
const MAX_INTEGER_DIGITS: i64 = 131_072;
const MAX_FRACTION_DIGITS: i64 = 16_383;

impl FromStr for Decimal {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        // BigDecimal also reads forms JSON does not write (`+1`, `.5`); a decimal string must
        // look like a JSON number.
        let json_like = text
            .strip_prefix('-')
            .unwrap_or(text)
            .starts_with(|c: char| c.is_ascii_digit());
        let value = BigDecimal::from_str(text)
            .ok()
            .filter(|_| json_like && text.len() <= 1000)
            .ok_or_else(|| format!("`{}` is not a decimal number", clip(text)))?;
        let (digits, scale) = value.as_bigint_and_exponent();
        let integer_digits = digits.to_string().trim_start_matches('-').len() as i64 - scale;
        if integer_digits > MAX_INTEGER_DIGITS || scale > MAX_FRACTION_DIGITS {
            return Err(format!("`{}` is too large for NUMERIC", clip(text)));
        }
        let approx = text.parse().unwrap_or(f64::NAN);
        Ok(Self { value, approx })
    }
}

/// A user's value, shortened for an error message.
pub fn clip(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_str().parse().map_err(de::Error::custom),
            Value::String(s) => s.parse().map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "expected a decimal number or string, found {}",
                kind(&other)
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(|_| {
                de::Error::custom(format!(
                    "`{}` is not an RFC 3339 timestamp with a time zone, such as \
                     2024-01-02T14:30:00Z",
                    clip(&text)
                ))
            })
    }
}

impl<'de> Deserialize<'de> for StrategyRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrategyVisitor;
        impl<'de> Visitor<'de> for StrategyVisitor {
            type Value = StrategyRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a strategy name or {\"name\", \"version\"}")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<StrategyRef, E> {
                Ok(StrategyRef {
                    name: name.to_owned(),
                    version: String::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrategyRef, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Named {
                    name: String,
                    #[serde(default)]
                    version: String,
                }
                let named = Named::deserialize(MapAccessDeserializer::new(map))?;
                Ok(StrategyRef {
                    name: named.name,
                    version: named.version,
                })
            }
        }
        deserializer.deserialize_any(StrategyVisitor)
    }
}

impl<'de> Deserialize<'de> for EquityPoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PointVisitor;
        impl<'de> Visitor<'de> for PointVisitor {
            type Value = EquityPoint;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[timestamp, equity] or {\"ts\", \"equity\"}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EquityPoint, A::Error> {
                let ts = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let equity = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(EquityPoint { ts, equity })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EquityPoint, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Keyed {
                    ts: Timestamp,
                    equity: Decimal,
                }
                let keyed = Keyed::deserialize(MapAccessDeserializer::new(map))?;
                Ok(EquityPoint {
                    ts: keyed.ts,
                    equity: keyed.equity,
                })
            }
        }
        deserializer.deserialize_any(PointVisitor)
    }
}

/// What kind of JSON value this is, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses one document's JSON text; the error names the field path and the column.
pub fn parse(text: &str) -> Result<RunDocument, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ParseError {
            path: (path != ".").then_some(path),
            line: inner.line(),
            column: inner.column(),
            message: strip_position(&inner.to_string()),
        }
    })?;
    de.end().map_err(|e| ParseError {
        path: None,
        line: e.line(),
        column: e.column(),
        message: "more than one JSON value where one document was expected".into(),
    })?;
    Ok(doc)
}

/// serde_json appends " at line L column C"; the location is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Why a document's text did not parse, and where in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub path: Option<String>,
    /// 1-based, within the document's text.
    pub line: usize,
    pub column: usize,
    pub message: String,
}
