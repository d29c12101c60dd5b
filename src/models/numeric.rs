//! Decimals written to NUMERIC columns, fast.
//!
//! Diesel converts a `BigDecimal` to PostgreSQL's base-10000 digits with big-integer division,
//! which dominated the cost of COPYing millions of prices. Nearly every recorded decimal has at
//! most 18 significant digits, whose digits come from plain integer arithmetic; the rest take
//! Diesel's conversion.

use bigdecimal::BigDecimal;
use bigdecimal::num_traits::ToPrimitive;
use diesel::pg::Pg;
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
}
