//! Decimals written to and read from NUMERIC columns, fast.
//!
//! Diesel converts a `BigDecimal` to PostgreSQL's base-10000 digits with big-integer division,
//! which dominated the cost of COPYing millions of prices. Nearly every recorded decimal has at
//! most 18 significant digits, whose digits come from plain integer arithmetic; the rest take
//! Diesel's conversion. Read as doubles, NUMERIC values are decoded here rather than converted
//! by the server (`::float8` was a third of the server's work reading equity curves).

use std::fmt::Write as _;

use bigdecimal::BigDecimal;
use bigdecimal::num_traits::ToPrimitive;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::pg::PgValue;
use diesel::pg::data_types::PgNumeric;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types;

/// A borrowed decimal bound to a NUMERIC column.
#[derive(Debug, Clone, Copy, diesel::AsExpression)]
#[diesel(sql_type = sql_types::Numeric)]
pub struct Numeric<'a>(pub &'a BigDecimal);

impl ToSql<sql_types::Numeric, Pg> for Numeric<'_> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        match small_to_pg(self.0) {
            Some(numeric) => ToSql::<sql_types::Numeric, Pg>::to_sql(&numeric, &mut out.reborrow()),
            None => ToSql::<sql_types::Numeric, Pg>::to_sql(self.0, out),
        }
    }
}

/// PostgreSQL's digits for a decimal whose unscaled value fits an i64, keeping its scale
/// (`1.00` stays `1.00`); `None` for anything larger.
pub fn small_to_pg(value: &BigDecimal) -> Option<PgNumeric> {
    let (unscaled, scale) = value.as_bigint_and_scale();
    let unscaled = unscaled.to_i64()?;
    let negative = unscaled < 0;
    let mut magnitude = u128::from(unscaled.unsigned_abs());
    let fraction_digits = if scale >= 0 {
        u32::try_from(scale).ok()?
    } else {
        magnitude = magnitude.checked_mul(10u128.checked_pow(u32::try_from(-scale).ok()?)?)?;
        0
    };
    let display_scale = u16::try_from(fraction_digits).ok()?;
    // Align the decimal point on a base-10000 digit boundary.
    let pad = (4 - fraction_digits % 4) % 4;
    magnitude = magnitude.checked_mul(10u128.pow(pad))?;
    let fraction_groups = i32::try_from((fraction_digits + pad) / 4).ok()?;
    let mut digits = Vec::with_capacity(8);
    while magnitude > 0 {
        digits.push((magnitude % 10_000) as i16);
        magnitude /= 10_000;
    }
    let weight = i16::try_from(digits.len() as i32 - 1 - fraction_groups).ok()?;
    digits.reverse();
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let (weight, scale) = if digits.is_empty() {
        (0, display_scale)
    } else {
        (weight, display_scale)
    };
    Some(if negative {
        PgNumeric::Negative {
            weight,
            scale,
            digits,
        }
    } else {
        PgNumeric::Positive {
            weight,
            scale,
            digits,
        }
    })
}

/// A NUMERIC value read as the double nearest to it: the same double as the server's
/// `::float8` and as parsing the value's text, so that a number recorded from a double comes back
/// bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, diesel::FromSqlRow)]
pub struct NearestF64(pub f64);

impl FromSql<sql_types::Numeric, Pg> for NearestF64 {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        nearest_f64(value.as_bytes()).map(Self)
    }
}

/// The double nearest to a NUMERIC in PostgreSQL's binary form: digit count, weight (of the
/// first base-10000 digit), sign and display scale as 16-bit integers, then the digits.
fn nearest_f64(bytes: &[u8]) -> deserialize::Result<f64> {
    let word = |i: usize| {
        bytes
            .get(2 * i..2 * i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
    };
    let (Some(count), Some(weight), Some(sign)) = (word(0), word(1), word(2)) else {
        return Err("a NUMERIC value shorter than its header".into());
    };
    let count = usize::from(count);
    if bytes.len() != 8 + 2 * count {
        return Err("a NUMERIC value whose length is not its digits'".into());
    }
    let negative = match sign {
        0x0000 => false,
        0x4000 => true,
        0xC000 => return Ok(f64::NAN),
        0xD000 => return Ok(f64::INFINITY),
        0xF000 => return Ok(f64::NEG_INFINITY),
        _ => return Err(format!("a NUMERIC value with sign {sign:#x}").into()),
    };
    let digits = (0..count).map(|i| word(4 + i).unwrap_or(0));
    if let Some(d) = digits.clone().find(|&d| d > 9999) {
        return Err(format!("a NUMERIC digit {d} beyond base 10000").into());
    }
    // The power of ten of the last digit's unit.
    let exponent = 4 * (i32::from(weight as i16) + 1 - count as i32);
    let magnitude = if count <= 4 {
        let mantissa = digits.clone().fold(0u64, |m, d| m * 10_000 + u64::from(d));
        // Both the mantissa and the power of ten are exact doubles: one multiplication or
        // division rounds correctly (Clinger's fast path).
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        match POWERS.get(exponent.unsigned_abs() as usize) {
            Some(&power) if mantissa <= 1 << 53 && exponent < 0 => Some(mantissa as f64 / power),
            Some(&power) if mantissa <= 1 << 53 => Some(mantissa as f64 * power),
            _ => None,
        }
    } else {
        None
    };
    let magnitude = match magnitude {
        Some(m) => m,
        None => {
            let mut text = String::with_capacity(4 * count + 8);
            for d in digits {
                for unit in [1000, 100, 10, 1] {
                    text.push(char::from(b'0' + (d / unit % 10) as u8));
                }
            }
            // Written into the text itself: no string of its own.
            let _ = write!(text, "e{exponent}");
            text.parse::<f64>()?
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn agrees_with_diesels_conversion() {
        let cases = [
            "1",
            "185.64",
            "-447.00",
            "0.5",
            "0.0001",
            "0.00001",
            "12345.6789",
            "-0.062",
            "100000",
            "99890.5",
            "1e5",
            "-2.5e-3",
            "123456789012345678",
            "0.000000000000000001",
            "9999.9999",
            "10000",
            "1e-20",
            "-987654321.123456789",
        ];
        for text in cases {
            let value = BigDecimal::from_str(text).unwrap();
            let ours = small_to_pg(&value).unwrap_or_else(|| panic!("{text} took the slow path"));
            assert_eq!(ours, PgNumeric::from(&value), "{text}");
        }
    }

    #[test]
    fn zero_keeps_its_scale_and_large_values_fall_back() {
        let zero = small_to_pg(&BigDecimal::from_str("0.00").unwrap()).unwrap();
        assert_eq!(
            zero,
            PgNumeric::Positive {
                weight: 0,
                scale: 2,
                digits: vec![]
            }
        );
        assert!(small_to_pg(&BigDecimal::from_str("123456789012345678901234").unwrap()).is_none());
    }

    /// `value` in PostgreSQL's binary form, from Diesel's own conversion to base-10000 digits.
    fn wire(value: &BigDecimal) -> Vec<u8> {
        let (sign, weight, scale, digits) = match PgNumeric::from(value) {
            PgNumeric::Positive {
                weight,
                scale,
                digits,
            } => (0u16, weight, scale, digits),
            PgNumeric::Negative {
                weight,
                scale,
                digits,
            } => (0x4000, weight, scale, digits),
            PgNumeric::NaN => (0xC000, 0, 0, vec![]),
        };
        let mut bytes = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, scale] {
            bytes.extend(word.to_be_bytes());
        }
        for d in digits {
            bytes.extend(d.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn numerics_read_as_the_double_their_text_parses_to() {
        let mut texts: Vec<String> = [
            "0",
            "1",
            "-1",
            "0.1",
            "100000",
            "9007199254740993",
            "9007199254740992.5",
            "123456789012345678901234567890",
            "1e-30",
            "-2.5e-3",
            "1e22",
            "1e23",
            "0.30000000000000004",
            "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "1e400",
            "4.9e-324",
            "1e-400",
        ]
        .map(String::from)
        .to_vec();
        // Doubles written out as their shortest text, as records carry them, over many scales.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let scale = 10f64.powi((state % 40) as i32 - 20);
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * scale;
            texts.push(format!("{value}"));
            texts.push(format!("{:.2}", value * 1e4));
        }
        for text in texts {
            let value = BigDecimal::from_str(&text).unwrap();
            let expected: f64 = text.parse().unwrap();
            let read = nearest_f64(&wire(&value)).unwrap();
            assert_eq!(read.to_bits(), expected.to_bits(), "{text}");
        }
    }

    #[test]
    fn special_and_malformed_numerics() {
        let header = |sign: u16| [0u16, 0, sign, 0].map(u16::to_be_bytes).concat();
        assert!(nearest_f64(&header(0xC000)).unwrap().is_nan());
        assert_eq!(nearest_f64(&header(0xD000)).unwrap(), f64::INFINITY);
        assert_eq!(nearest_f64(&header(0xF000)).unwrap(), f64::NEG_INFINITY);
        assert!(nearest_f64(&header(0x1234)).is_err());
        assert!(nearest_f64(&[0, 1]).is_err());
        assert!(nearest_f64(&[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        // One digit of 10,000: past base 10000, short enough for the fast path.
        assert!(nearest_f64(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]).is_err());
    }
}
