//! Decimals as btdb writes them: one text per value, whatever form it was recorded in.

use bigdecimal::BigDecimal;

/// One text per numeric value: no trailing zeros, no exponent for ordinary magnitudes.
pub fn canonical(value: &BigDecimal) -> String {
    let normalized = value.normalized();
    let (digits, scale) = normalized.as_bigint_and_exponent();
    let text = digits.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    if digits == "0" {
        return "0".to_owned();
    }
    let len = digits.len() as i64;
    if scale <= 0 {
        if -scale <= 20 {
            format!("{sign}{digits}{}", "0".repeat((-scale) as usize))
        } else {
            format!("{sign}{digits}e{}", -scale)
        }
    } else if scale < len {
        let point = (len - scale) as usize;
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    } else if scale - len <= 20 {
        format!("{sign}0.{}{digits}", "0".repeat((scale - len) as usize))
    } else {
        format!("{sign}{digits}e-{scale}")
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn canonical_decimals_are_one_text_per_value() {
        for (a, b) in [
            ("10", "10.0"),
            ("0.50", ".5e0"),
            ("1e3", "1000"),
            ("-0.0", "0"),
        ] {
            let a = BigDecimal::from_str(a).unwrap();
            let b = BigDecimal::from_str(b).unwrap();
            assert_eq!(canonical(&a), canonical(&b));
        }
        let cases = [
            ("185.64", "185.64"),
            ("100000", "100000"),
            ("-0.0012", "-0.0012"),
            ("1e30", "1e30"),
            ("1.5e-30", "15e-31"),
        ];
        for (input, want) in cases {
            assert_eq!(canonical(&BigDecimal::from_str(input).unwrap()), want);
        }
    }
}
