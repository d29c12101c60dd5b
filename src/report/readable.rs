//! Numbers as a person reads them on a page: returns and drawdowns as percent, ratios to a
//! few significant digits, amounts and counts with thousands separators, prices of a column
//! to the same decimals, and never `-0`. JSON and CSV keep the values as stored.

use bigdecimal::BigDecimal;

/// How a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fraction, shown as percent: 0.1234 is 12.34%.
    Percent,
    /// A ratio of like quantities (Sharpe, profit factor): significant digits.
    Ratio,
    /// A number of things: a whole number.
    Count,
    /// Money: two decimals.
    Amount,
    /// Anything else: significant digits.
    Plain,
}

/// The unit of a metric btdb computes or imports (docs/metrics.md, docs/importing.md); a
/// metric it does not know reads as a plain number.
pub fn unit(metric: &str) -> Unit {
    match metric {
        "total_return"
        | "cagr"
        | "max_drawdown"
        | "volatility"
        | "win_rate"
        | "freqtrade.profit_total"
        | "freqtrade.profit_mean"
        | "freqtrade.profit_median"
        | "freqtrade.max_drawdown_account"
        | "freqtrade.max_relative_drawdown"
        | "freqtrade.cagr"
        | "freqtrade.winrate"
        | "freqtrade.market_change" => Unit::Percent,
        "n_trades"
        | "n_periods"
        | "freqtrade.total_trades"
        | "freqtrade.wins"
        | "freqtrade.draws"
        | "freqtrade.losses" => Unit::Count,
        "avg_trade_pnl"
        | "best_trade"
        | "worst_trade"
        | "freqtrade.profit_total_abs"
        | "freqtrade.max_drawdown_abs"
        | "freqtrade.starting_balance"
        | "freqtrade.final_balance"
        | "freqtrade.expectancy" => Unit::Amount,
        "sharpe"
        | "sortino"
        | "calmar"
        | "profit_factor"
        | "returns_skew"
        | "returns_kurtosis"
        | "freqtrade.sharpe"
        | "freqtrade.sortino"
        | "freqtrade.calmar"
        | "freqtrade.profit_factor"
        | "freqtrade.sqn"
        | "freqtrade.expectancy_ratio" => Unit::Ratio,
        _ => Unit::Plain,
    }
}

/// Significant digits of ratios and plain numbers.
const DIGITS: i32 = 4;

/// `value` of metric `metric`, as its unit reads.
pub fn metric(metric: &str, value: f64) -> String {
    match unit(metric) {
        Unit::Percent => percent(value),
        Unit::Count if value.fract() == 0.0 => fixed(value, 0),
        Unit::Amount => fixed(value, 2),
        _ => significant(value, DIGITS),
    }
}

/// A fraction as percent with two decimals: `12.34%`, `-0.5%` is `-0.50%`, and a value that
/// rounds to nothing is `0.00%`, never `-0.00%`.
pub fn percent(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    format!("{}%", fixed(value * 100.0, 2))
}

/// `value` to `decimals` places with thousands separators, without a sign on zero.
pub fn fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{value:.decimals$}");
    grouped(unsigned_zero(&text))
}

/// `value` to `digits` significant digits (its whole digits all kept), with thousands
/// separators; magnitudes from 10^15
/// and below 10^-6 in scientific notation.
pub fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-6..15).contains(&magnitude) {
        return format!("{value:.prec$e}", prec = (digits - 1) as usize);
    }
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    let trimmed = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    grouped(unsigned_zero(trimmed))
}

/// The decimals of one column (prices, quantities) to the same number of places, the most any
/// of them has, each with thousands separators.
pub fn decimals_alike<'a>(values: impl IntoIterator<Item = &'a BigDecimal> + Clone) -> Vec<String> {
    let scale = values
        .clone()
        .into_iter()
        .map(|v| v.normalized().fractional_digit_count().max(0))
        .max()
        .unwrap_or(0);
    values
        .into_iter()
        .map(|v| grouped(unsigned_zero(&v.with_scale(scale).to_plain_string())))
        .collect()
}

/// `-0`, `-0.00`: zero, which has no sign.
fn unsigned_zero(text: &str) -> &str {
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest,
        _ => text,
    }
}

/// A plain decimal's integer digits in groups of three: `-1234567.5` is `-1,234,567.5`.
pub fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (integer, fraction) = match rest.find('.') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if !integer.bytes().all(|b| b.is_ascii_digit()) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + integer.len() / 3);
    out.push_str(sign);
    for (i, digit) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out.push_str(fraction);
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn fractions_read_as_percent_and_zero_has_no_sign() {
        assert_eq!(percent(0.123456), "12.35%");
        assert_eq!(percent(-0.244), "-24.40%");
        assert_eq!(percent(-0.00001), "0.00%");
        assert_eq!(percent(-0.0), "0.00%");
        assert_eq!(percent(12.5), "1,250.00%");
        assert_eq!(metric("max_drawdown", -0.3006180090458191), "-30.06%");
        assert_eq!(metric("freqtrade.winrate", 0.5), "50.00%");
    }

    #[test]
    fn ratios_keep_four_significant_digits() {
        assert_eq!(significant(1.161399, 4), "1.161");
        assert_eq!(significant(0.000123456, 4), "0.0001235");
        assert_eq!(significant(-2.0, 4), "-2");
        // Whole digits are kept: rounding them away would only hide the number.
        assert_eq!(significant(123456.7, 4), "123,457");
        assert_eq!(significant(-0.0000000001, 4), "-1.000e-10");
        assert_eq!(metric("sharpe", 0.23617868950872942), "0.2362");
    }

    #[test]
    fn amounts_and_counts_have_thousands_separators() {
        assert_eq!(metric("avg_trade_pnl", 3425.786666666667), "3,425.79");
        assert_eq!(metric("worst_trade", -8723.66), "-8,723.66");
        assert_eq!(metric("n_trades", 1007.0), "1,007");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(grouped("100000.00"), "100,000.00");
        assert_eq!(grouped("-999"), "-999");
        assert_eq!(grouped("1e5"), "1e5");
    }

    #[test]
    fn a_column_of_prices_reads_to_the_same_decimals() {
        let prices: Vec<BigDecimal> = ["1989.95", "1973.8", "2000", "0.5"]
            .iter()
            .map(|p| BigDecimal::from_str(p).expect("decimal"))
            .collect();
        assert_eq!(
            decimals_alike(&prices),
            ["1,989.95", "1,973.80", "2,000.00", "0.50"]
        );
    }
}
