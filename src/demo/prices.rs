//! Synthetic daily prices: geometric Brownian motion whose drift and volatility change with
//! market regimes, seeded so that every demo sees the same markets.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};

use crate::synth::Rng;

/// One daily close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub time: DateTime<Utc>,
    /// In cents, so that trades and equity are exact decimals.
    pub cents: i64,
}

impl Bar {
    pub fn price(&self) -> f64 {
        self.cents as f64 / 100.0
    }
}

/// A market regime: annual drift and volatility, and how long it tends to last.
#[derive(Debug, Clone, Copy)]
struct Regime {
    drift: f64,
    volatility: f64,
    mean_days: f64,
}

const REGIMES: [Regime; 3] = [
    // Trending up, calm.
    Regime {
        drift: 0.18,
        volatility: 0.14,
        mean_days: 260.0,
    },
    // Falling, volatile.
    Regime {
        drift: -0.25,
        volatility: 0.32,
        mean_days: 90.0,
    },
    // Sideways and choppy: what mean reversion likes.
    Regime {
        drift: 0.0,
        volatility: 0.20,
        mean_days: 150.0,
    },
];

/// `days` weekday closes from 2015-01-02, starting at `start` dollars.
pub fn series(seed: u64, days: usize, start: f64) -> Vec<Bar> {
    let mut rng = Rng::new(seed);
    let mut time = Utc
        .with_ymd_and_hms(2015, 1, 2, 21, 0, 0)
        .single()
        .unwrap_or_default();
    let mut price = start;
    let mut regime = 0;
    let mut bars = Vec::with_capacity(days);
    let dt: f64 = 1.0 / 252.0;
    while bars.len() < days {
        if !matches!(time.weekday(), Weekday::Sat | Weekday::Sun) {
            let r = REGIMES[regime];
            let shock = rng.normal();
            price *= ((r.drift - 0.5 * r.volatility * r.volatility) * dt
                + r.volatility * dt.sqrt() * shock)
                .exp();
            // Cents, never below one.
            let cents = ((price * 100.0).round() as i64).max(1);
            bars.push(Bar { time, cents });
            if rng.uniform() < 1.0 / r.mean_days {
                regime = (regime + 1 + (rng.next_u64() % 2) as usize) % REGIMES.len();
            }
        }
        time += Duration::days(1);
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_market() {
        let a = series(7, 300, 100.0);
        assert_eq!(a, series(7, 300, 100.0));
        assert_ne!(a, series(8, 300, 100.0));
        assert_eq!(a.len(), 300);
        assert!(a.iter().all(|b| b.cents >= 1));
        assert!(a.windows(2).all(|w| w[0].time < w[1].time));
        assert!(
            a.iter()
                .all(|b| !matches!(b.time.weekday(), Weekday::Sat | Weekday::Sun))
        );
    }
}
