//! The run document, version 1 (docs/run-document.md), as written: serde types that accept
//! exactly the documented forms, refuse unknown fields, and keep decimals as written.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use serde_json::Value;

use crate::models::{RunStatus, TradeSide};

/// The document's JSON Schema (`btdb schema`): its shape, for validators and editors.
pub const JSON_SCHEMA: &str = include_str!("../../docs/run-document.schema.json");

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
    pub directions: Option<BTreeMap<String, Objective>>,
    pub trial: Option<u64>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub intermediate: Option<Vec<(u64, f64)>>,
    pub search_space: Option<serde_json::Map<String, Value>>,
}

/// Which way a metric is better, as an optimizer says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    Maximize,
    Minimize,
}

impl Objective {
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Maximize => "maximize",
            Objective::Minimize => "minimize",
        }
    }
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
    pub entry_tag: Option<String>,
    pub exit_reason: Option<String>,
    pub leverage: Option<Decimal>,
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

    /// A decimal string must look like a JSON number (`-12.5e3`, leading zeros allowed);
    /// BigDecimal's own parser also takes `+1` and `.5`, which are refused here.
    fn from_str(text: &str) -> Result<Self, String> {
        let not_a_number = || format!("`{}` is not a decimal number", clip(text));
        let bytes = text.as_bytes();
        let mut i = usize::from(bytes.first() == Some(&b'-'));
        let negative = i == 1;
        let mut mantissa: u64 = 0;
        let mut significant = 0usize;
        let mut fraction_digits = 0i64;
        let mut int_digits = 0usize;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                b'0'..=b'9' => {
                    let digit = u64::from(bytes[i] - b'0');
                    if seen_point {
                        fraction_digits += 1;
                    } else {
                        int_digits += 1;
                    }
                    if mantissa != 0 || digit != 0 {
                        significant += 1;
                    }
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(digit);
                }
                b'.' if !seen_point && int_digits > 0 => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if int_digits == 0 || (seen_point && fraction_digits == 0) {
            return Err(not_a_number());
        }
        let mut exponent = 0i64;
        if i < bytes.len() {
            if !matches!(bytes[i], b'e' | b'E') {
                return Err(not_a_number());
            }
            let rest = &text[i + 1..];
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_number());
            }
            exponent = rest
                .trim_start_matches('+')
                .parse()
                .map_err(|_| not_a_number())?;
        }
        let scale = fraction_digits
            .checked_sub(exponent)
            .ok_or_else(not_a_number)?;
        // Up to 18 significant digits fit a u64 exactly; longer ones take the general parser.
        let value = if significant <= 18 {
            let signed = if negative {
                -(mantissa as i128)
            } else {
                mantissa as i128
            };
            BigDecimal::new(BigInt::from(signed), scale)
        } else {
            BigDecimal::from_str(text).map_err(|_| not_a_number())?
        };
        let integer_digits = significant as i64 - scale;
        if (significant > 0 && integer_digits > MAX_INTEGER_DIGITS) || scale > MAX_FRACTION_DIGITS {
            return Err(format!("`{}` is too large for NUMERIC", clip(text)));
        }
        let approx = text.parse().map_err(|_| not_a_number())?;
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
        struct DecimalVisitor;
        impl<'de> Visitor<'de> for DecimalVisitor {
            type Value = Decimal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal number or string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
                text.parse().map_err(E::custom)
            }
            // Integers that fit 64 bits arrive as such; other numbers, with arbitrary_precision,
            // as a one-entry map holding their text.
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Decimal, E> {
                Ok(Decimal {
                    value: BigDecimal::from(n),
                    approx: n as f64,
                })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Decimal, E> {
                Ok(Decimal {
                    value: BigDecimal::from(n),
                    approx: n as f64,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Decimal, A::Error> {
                let number = serde_json::Number::deserialize(MapAccessDeserializer::new(map))?;
                number.as_str().parse().map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(DecimalVisitor)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl<'de> Visitor<'de> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                DateTime::parse_from_rfc3339(text)
                    .map(|t| Timestamp(t.with_timezone(&Utc)))
                    .map_err(|_| {
                        E::custom(format!(
                            "`{}` is not an RFC 3339 timestamp with a time zone, such as \
                             2024-01-02T14:30:00Z",
                            clip(text)
                        ))
                    })
            }
        }
        deserializer.deserialize_str(TimestampVisitor)
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
    // Tracking the path costs on every value; documents are nearly always valid, so the path
    // is worked out only for one that failed, by parsing it again.
    let mut de = serde_json::Deserializer::from_str(text);
    match RunDocument::deserialize(&mut de).and_then(|doc| de.end().map(|()| doc)) {
        Ok(doc) => Ok(doc),
        Err(_) => Err(explain(text)),
    }
}

fn explain(text: &str) -> ParseError {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, RunDocument>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ParseError {
                path: (path != ".").then_some(path),
                line: inner.line(),
                column: inner.column(),
                message: strip_position(&inner.to_string()),
            }
        }
        Ok(_) => {
            let e = de.end().err();
            ParseError {
                path: None,
                line: e.as_ref().map_or(1, serde_json::Error::line),
                column: e.as_ref().map_or(0, serde_json::Error::column),
                message: "more than one JSON value where one document was expected".into(),
            }
        }
    }
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
