//! The metrics agree with empyrical and scipy to 1e-9 relative, on the curves and trades of
//! tests/golden/metrics.json (made by tests/golden/generate_metrics.py), and leave out exactly the
//! metrics those libraries leave undefined.

use std::collections::BTreeMap;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use btdb::metrics::{from_equity, from_trades};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    equity: Vec<EquityCase>,
    trades: Vec<TradeCase>,
}

#[derive(Deserialize)]
struct EquityCase {
    name: String,
    periods_per_year: f64,
    equity: Vec<String>,
    expected: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct TradeCase {
    name: String,
    pnl: Vec<String>,
    expected: BTreeMap<String, f64>,
}

fn golden() -> Golden {
    serde_json::from_str(include_str!("golden/metrics.json")).expect("golden file")
}

/// 1e-9 relative; an expected exact zero (skew of two returns) allows float noise of 1e-15.
fn close(actual: f64, expected: f64) -> bool {
    if expected == 0.0 {
        return actual.abs() <= 1e-15;
    }
    (actual - expected).abs() <= 1e-9 * expected.abs()
}

fn check(case: &str, actual: Vec<(&'static str, f64)>, expected: &BTreeMap<String, f64>) {
    let actual: BTreeMap<String, f64> =
        actual.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{case}: metrics present differ"
    );
    for (name, want) in expected {
        let got = actual[name];
        assert!(
            close(got, *want),
            "{case}: {name} = {got:e}, empyrical/scipy say {want:e}"
        );
    }
}

#[test]
fn equity_metrics_match_empyrical_and_scipy() {
    let golden = golden();
    assert!(golden.equity.len() >= 10);
    for case in &golden.equity {
        let equity: Vec<f64> = case.equity.iter().map(|v| v.parse().unwrap()).collect();
        check(
            &case.name,
            from_equity(&equity, case.periods_per_year),
            &case.expected,
        );
    }
}

#[test]
fn trade_metrics_match_an_exact_decimal_computation() {
    for case in &golden().trades {
        let pnl: Vec<BigDecimal> = case
            .pnl
            .iter()
            .map(|p| BigDecimal::from_str(p).unwrap())
            .collect();
        let refs: Vec<&BigDecimal> = pnl.iter().collect();
        check(&case.name, from_trades(&refs), &case.expected);
    }
}
