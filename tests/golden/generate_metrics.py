"""Golden values for btdb's metrics (docs/metrics.md), computed independently with empyrical and scipy.

Run: pip install empyrical-reloaded scipy && python3 tests/golden/generate_metrics.py
It rewrites tests/golden/metrics.json, which tests/metrics_golden.rs reads. A metric that
empyrical or scipy leaves undefined (NaN or infinite) is absent from `expected`.
"""

import json
import math
from decimal import Decimal
from pathlib import Path

import empyrical
import numpy as np
from scipy import stats


def gbm(seed, n, start, drift, vol):
    rng = np.random.default_rng(seed)
    steps = np.exp((drift - 0.5 * vol * vol) + vol * rng.standard_normal(n))
    values = start * np.concatenate([[1.0], np.cumprod(steps)])
    # Round to cents, as equity is reported, and keep the exact text.
    return [f"{v:.2f}" for v in values]


CURVES = [
    ("gbm_daily_500", 252, gbm(7, 500, 100_000.0, 0.0004, 0.012)),
    ("gbm_daily_volatile", 252, gbm(11, 300, 50_000.0, -0.0002, 0.03)),
    ("gbm_hourly_200", 8760, gbm(3, 200, 10_000.0, 0.00002, 0.004)),
    ("sma_cross_example", 252,
     ["100000.0", "99512.0", "99310.0", "99553.0", "99553.0", "99890.5", "100044.0"]),
    ("momentum_example", 8760, ["10000", "10021.5", "9987.2", "10043.9"]),
    ("two_points", 252, ["100", "110"]),
    ("three_points_rising", 252, ["100", "101", "103"]),
    ("three_points_falling", 12, ["100", "95", "90"]),
    ("flat", 252, ["100", "100", "100", "100"]),
    ("doubling", 52, ["1", "2", "4", "8", "16"]),
    ("crash_and_recovery", 252,
     ["1000", "1100", "1210", "605", "650", "900", "1300", "1250", "1400"]),
    ("large_and_close", 252,
     ["1234567890.12", "1234567890.13", "1234567890.11", "1234567890.16", "1234567890.14"]),
]

TRADES = [
    ("mixed", ["1.00", "-2.50", "3.25", "0", "-0.75", "10"]),
    ("all_winners", ["5", "7.5", "0.01"]),
    ("all_losers", ["-1", "-2"]),
    ("single_flat", ["0"]),
    ("sma_cross_example", ["-447.00", "491.00"]),
]


def finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def equity_metrics(equity, periods_per_year):
    e = np.array([float(v) for v in equity])
    r = e[1:] / e[:-1] - 1.0
    kw = dict(period="daily", annualization=periods_per_year)
    out = {
        "total_return": empyrical.cum_returns_final(r),
        "cagr": empyrical.cagr(r, **kw),
        "volatility": empyrical.annual_volatility(r, **kw),
        "sharpe": empyrical.sharpe_ratio(r, **kw),
        "sortino": empyrical.sortino_ratio(r, **kw),
        "max_drawdown": empyrical.max_drawdown(r),
        "calmar": empyrical.calmar_ratio(r, **kw),
        "n_periods": len(r),
    }
    if len(r) >= 2:
        with np.errstate(all="ignore"):
            out["returns_skew"] = stats.skew(r)
            out["returns_kurtosis"] = stats.kurtosis(r, fisher=False)
    return {k: finite(v) for k, v in out.items() if finite(v) is not None}


def trade_metrics(pnls):
    pnl = [Decimal(p) for p in pnls]
    wins = sum(p for p in pnl if p > 0)
    losses = sum(p for p in pnl if p < 0)
    out = {
        "n_trades": float(len(pnl)),
        "win_rate": sum(1 for p in pnl if p > 0) / len(pnl),
        "avg_trade_pnl": float(sum(pnl) / len(pnl)),
        "best_trade": float(max(pnl)),
        "worst_trade": float(min(pnl)),
    }
    if losses != 0:
        out["profit_factor"] = float(wins / abs(losses))
    return out


def main():
    golden = {
        "equity": [
            {"name": name, "periods_per_year": ppy, "equity": equity,
             "expected": equity_metrics(equity, ppy)}
            for name, ppy, equity in CURVES
        ],
        "trades": [
            {"name": name, "pnl": pnl, "expected": trade_metrics(pnl)} for name, pnl in TRADES
        ],
    }
    path = Path(__file__).with_name("metrics.json")
    path.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
