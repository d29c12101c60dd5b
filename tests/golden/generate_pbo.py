"""A sweep of equity curves and its probability of backtest overfitting, worked out
independently with numpy, scipy and itertools (docs/metrics.md gives the conventions).

Run: pip install numpy scipy && python3 tests/golden/generate_pbo.py
It rewrites tests/fixtures/pbo/sweep.jsonl (run documents: one strategy, eight parameter sets,
one data set, plus a second run of one set recorded later and a run on another data set) and
tests/golden/pbo.json (the answers), which tests/pbo.rs reads.
"""

import itertools
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(20261122)

SETS = 8
POINTS = 203  # 202 returns: with 8 partitions the oldest 2 are dropped, blocks of 25
START = datetime(2023, 1, 2, tzinfo=timezone.utc)


def stamp(i):
    return (START + timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def curve(drift, vol):
    steps = np.exp(drift + vol * rng.standard_normal(POINTS - 1))
    values = 100_000.0 * np.concatenate([[1.0], np.cumprod(steps)])
    return [f"{v:.2f}" for v in values]


curves = [curve(0.0002 * (k - 3), 0.01 + 0.001 * k) for k in range(SETS)]
docs = []
for k, c in enumerate(curves):
    docs.append({
        "run_key": f"pbo-{k}",
        "strategy": "pbo_sweep",
        "params": {"lookback": 10 + 5 * k},
        "dataset": "PBO-1d",
        "equity": [[stamp(i), v] for i, v in enumerate(c)],
    })
# Set aside: an older run of set 0 (the later one counts) and a run on another data set.
docs.insert(0, {
    "run_key": "pbo-0-first-try",
    "strategy": "pbo_sweep",
    "params": {"lookback": 10},
    "dataset": "PBO-1d",
    "equity": [[stamp(i), "100000.00"] for i in range(POINTS)],
})
docs.append({
    "run_key": "pbo-other-data",
    "strategy": "pbo_sweep",
    "params": {"lookback": 10},
    "dataset": "OTHER-1d",
    "equity": [[stamp(i), v] for i, v in enumerate(curve(0.0, 0.01))],
})
(ROOT / "tests/fixtures/pbo/sweep.jsonl").write_text(
    "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs))

# Columns in parameter-set id order, which is recording order here.
equity = np.array([[float(v) for v in c] for c in curves]).T  # (T + 1) x N
returns = equity[1:] / equity[:-1] - 1.0


def sharpe(r):
    sd = np.std(r, ddof=1)
    return float(np.mean(r) / sd) if sd > 0 else 0.0


def mean(r):
    return float(np.mean(r))


def cscv(m, s, metric):
    t, n = m.shape
    m = m[t % s:]
    blocks = np.split(m, s)
    logits, is_best, oos_best = [], [], []
    for chosen in itertools.combinations(range(s), s // 2):
        rest = [b for b in range(s) if b not in chosen]
        is_rows = np.concatenate([blocks[b] for b in chosen])
        oos_rows = np.concatenate([blocks[b] for b in rest])
        is_m = [metric(is_rows[:, j]) for j in range(n)]
        oos_m = [metric(oos_rows[:, j]) for j in range(n)]
        best = int(np.argmax(is_m))  # first on ties, as btdb
        rank = stats.rankdata(oos_m, method="average")[best]
        omega = rank / (n + 1)
        logits.append(math.log(omega / (1 - omega)))
        is_best.append(is_m[best])
        oos_best.append(oos_m[best])
    fit = stats.linregress(is_best, oos_best)
    return {
        "probability": sum(1 for l in logits if l <= 0) / len(logits),
        "partitions": s,
        "combinations": len(logits),
        "parameter_sets": n,
        "periods": len(m),
        "degradation": {"slope": fit.slope, "intercept": fit.intercept, "r2": fit.rvalue ** 2},
        "probability_of_loss": sum(1 for v in oos_best if v < 0) / len(logits),
        "logits": logits,
    }


answers = {
    f"{name}_{s}": cscv(returns, s, fn)
    for name, fn in [("sharpe", sharpe), ("mean", mean)]
    for s in [4, 8]
}
(ROOT / "tests/golden/pbo.json").write_text(json.dumps(answers, indent=1) + "\n")
print({k: v["probability"] for k, v in answers.items()})
