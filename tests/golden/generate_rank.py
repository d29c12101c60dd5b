"""A ranking fixture and its answers, worked out independently with numpy and scipy.

Run: pip install numpy scipy && python3 tests/golden/generate_rank.py
It rewrites tests/fixtures/rank/runs.jsonl (run documents with supplied metrics) and
tests/golden/rank.json (the answers), which tests/rank.rs reads. Strategy and run order in the
file is recording order, so "earliest recorded" (the tie-breaker) is "earliest in the file".
"""

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
rng = np.random.default_rng(20261122)


def r6(x):
    return float(f"{x:.6f}")


docs = []


def run(strategy, params, dataset, sharpe, ppy=252, status="completed", **extra):
    n = len(docs)
    metrics = {
        "sharpe": sharpe,
        "n_periods": float(extra.get("n_periods", 250 + n % 7)),
        "returns_skew": r6(rng.normal(0.0, 0.3)),
        "returns_kurtosis": r6(3.0 + abs(rng.normal(0.0, 1.0))),
        "volatility": r6(0.1 + abs(rng.normal(0.0, 0.05))),
    }
    docs.append({
        "run_key": f"rank:{n}",
        "strategy": strategy,
        "params": params,
        "dataset": dataset,
        "periods_per_year": ppy,
        "sweep": "grid-1",
        "tags": ["golden"] + (["odd"] if n % 2 else []),
        "status": status,
        "metrics": metrics,
    })


# alpha: a fast x slow grid on an in-sample and an out-of-sample data set.
for dataset in ["IS-2020", "OOS-2021"]:
    for fast in [5, 10, 20]:
        for slow in [50, 100]:
            base = 0.02 * fast - 0.004 * slow + (0.3 if dataset == "IS-2020" else 0.1)
            run("alpha", {"fast": fast, "slow": slow}, dataset, r6(base + rng.normal(0.0, 0.4)))
# A failed alpha run with the highest Sharpe of all: never ranked.
run("alpha", {"fast": 5, "slow": 50}, "IS-2020", 9.5, status="failed")
# beta: weekly data (periods_per_year 52), one parameter, both data sets.
for dataset in ["IS-2020", "OOS-2021"]:
    for lookback in [10, 20, 30, 40]:
        run("beta", {"lookback": lookback}, dataset, r6(rng.normal(0.6, 0.5)), ppy=52)
# gamma: two runs tie for its best Sharpe; the earlier one is the best run.
run("gamma", {"k": 1}, "IS-2020", 1.25)
run("gamma", {"k": 2}, "IS-2020", 1.25)
run("gamma", {"k": 3}, "IS-2020", -0.5)
# delta: one run, tied with gamma's best: gamma was recorded first and ranks first.
run("delta", {"k": 1}, "IS-2020", 1.25)

completed = [d for d in docs if d["status"] == "completed"]
strategies = list(dict.fromkeys(d["strategy"] for d in docs))  # recording order = id order


def of(strategy):
    return [d for d in completed if d["strategy"] == strategy]


def best_run(strategy, metric="sharpe", higher=True):
    runs = of(strategy)
    key = (lambda d: (-d["metrics"][metric], docs.index(d))) if higher else (
        lambda d: (d["metrics"][metric], docs.index(d)))
    return sorted(runs, key=key)[0]


def ranking(by):
    scores = {}
    for s in strategies:
        values = np.array([d["metrics"]["sharpe"] for d in of(s)])
        scores[s] = {
            "best": float(values.max()),
            "worst": float(values.min()),
            "mean": float(np.mean(values)),
            "median": float(np.median(values)),
            "count": float(len(values)),
        }[by]
    order = sorted(strategies, key=lambda s: (-scores[s], strategies.index(s)))
    return [{
        "strategy": s,
        "score": scores[s],
        "runs": len(of(s)),
        "best_run": best_run(s)["run_key"],
    } for s in order]


def deflated(strategy):
    runs = of(strategy)
    best = best_run(strategy)
    ppy = best["periods_per_year"]
    sr = best["metrics"]["sharpe"] / math.sqrt(ppy)
    per_period = np.array([d["metrics"]["sharpe"] / math.sqrt(d["periods_per_year"]) for d in runs])
    trials = len({json.dumps(d["params"], sort_keys=True) for d in runs})
    variance = float(np.var(per_period, ddof=1)) if len(runs) > 1 else 0.0
    gamma = np.euler_gamma
    if trials > 1:
        sr0 = math.sqrt(variance) * ((1 - gamma) * stats.norm.ppf(1 - 1 / trials)
                                     + gamma * stats.norm.ppf(1 - 1 / (trials * math.e)))
    else:
        sr0 = 0.0
    t = best["metrics"]["n_periods"]
    skew = best["metrics"]["returns_skew"]
    kurt = best["metrics"]["returns_kurtosis"]
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr * sr)
    return {
        "strategy": strategy,
        "trials": trials,
        "probability": float(stats.norm.cdf(z)),
        "expected_max_sharpe": sr0 * math.sqrt(ppy),
    }


def cell(values):
    values = np.array(values)
    return {"mean": float(np.mean(values)), "min": float(values.min()),
            "max": float(values.max()), "runs": int(len(values))}


def pivot(strategy, x, y=None):
    runs = of(strategy)
    xs = sorted({d["params"][x] for d in runs})
    ys = sorted({d["params"][y] for d in runs}) if y else [None]
    cells = [[cell([d["metrics"]["sharpe"] for d in runs
                    if d["params"][x] == xv and (y is None or d["params"][y] == yv)])
              for xv in xs] for yv in ys]
    return {"x_values": xs, "y_values": ys if y else [], "cells": cells}


def out_of_sample(strategy, is_ds, oos_ds):
    sets = {}
    for d in of(strategy):
        key = json.dumps(d["params"], sort_keys=True)
        sets.setdefault(key, {"is": [], "oos": []})
        if d["dataset"] == is_ds:
            sets[key]["is"].append(d["metrics"]["sharpe"])
        if d["dataset"] == oos_ds:
            sets[key]["oos"].append(d["metrics"]["sharpe"])
    keys = [k for k, v in sets.items() if v["is"] and v["oos"]]
    a = np.array([np.mean(sets[k]["is"]) for k in keys])
    b = np.array([np.mean(sets[k]["oos"]) for k in keys])
    rho = stats.spearmanr(a, b).statistic
    oos_rank = stats.rankdata(-b, method="average")
    winner = int(np.argmax(a))
    return {"parameter_sets": len(keys), "spearman": float(rho),
            "winner_params": json.loads(keys[winner]),
            "winner_out_of_sample_rank": float(oos_rank[winner])}


where_matches = sorted(
    (d["run_key"] for d in completed
     if d["metrics"]["sharpe"] > 0 and d["params"].get("fast") == 10),
    key=lambda k: -int(k.split(":")[1]))
where_or = sorted(
    (d["run_key"] for d in completed
     if (d["params"].get("lookback", 0) >= 30 or d["metrics"]["sharpe"] < 0)
     and "odd" in d["tags"]),
    key=lambda k: -int(k.split(":")[1]))

top_runs = sorted(completed, key=lambda d: (-d["metrics"]["sharpe"], docs.index(d)))[:5]
lowest_volatility = sorted(completed, key=lambda d: (d["metrics"]["volatility"], docs.index(d)))[:3]

golden = {
    "ranking": {by: ranking(by) for by in ["best", "worst", "mean", "median", "count"]},
    "min_runs_3": [r["strategy"] for r in ranking("best") if r["runs"] >= 3],
    "deflated": [deflated(s) for s in strategies],
    "top_runs": [d["run_key"] for d in top_runs],
    "lowest_volatility_runs": [d["run_key"] for d in lowest_volatility],
    "pivot_alpha_fast": pivot("alpha", "fast"),
    "pivot_alpha_fast_slow": pivot("alpha", "fast", "slow"),
    "sensitivity_alpha": {p: pivot("alpha", p) for p in ["fast", "slow"]},
    "oos_alpha": out_of_sample("alpha", "IS-2020", "OOS-2021"),
    "oos_beta": out_of_sample("beta", "IS-2020", "OOS-2021"),
    "where_sharpe_and_fast": where_matches,
    "where_or_tagged_odd": where_or,
}

fixture = ROOT / "tests/fixtures/rank/runs.jsonl"
fixture.parent.mkdir(parents=True, exist_ok=True)
fixture.write_text("".join(json.dumps(d, sort_keys=True) + "\n" for d in docs))
(ROOT / "tests/golden/rank.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
print(f"{len(docs)} runs written")
