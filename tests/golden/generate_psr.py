"""Probabilistic Sharpe ratios and minimum track record lengths (Bailey and López de Prado,
"The Sharpe Ratio Efficient Frontier", 2012), worked out independently with scipy.

Run: pip install scipy && python3 tests/golden/generate_psr.py
It rewrites tests/fixtures/psr/runs.jsonl (runs whose documents supply the moments) and
tests/golden/psr.json (the answers), which tests/psr.rs reads. Sharpe ratios and the benchmark
are given annualised and converted with the run's periods per year; kurtosis is plain (3 for
normal returns).
"""

import json
import math
from pathlib import Path

from scipy.stats import norm

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    # key, annual Sharpe, periods per year, returns, skew, kurtosis, annual benchmark
    ("paper-dsr-inputs", 2.5, 250, 1250, -3.0, 10.0, 0.0),
    ("daily-above-benchmark", 1.0, 252, 756, -0.5, 4.0, 0.5),
    ("monthly-below-benchmark", 0.3, 12, 60, 0.2, 3.2, 0.5),
    ("hourly-fat-tails", 3.0, 8760, 2000, 0.1, 6.0, 1.0),
    ("weekly-normal", 0.8, 52, 104, 0.0, 3.0, 0.0),
]

docs, answers = [], {}
for key, sharpe, ppy, n, skew, kurt, bench in CASES:
    docs.append({
        "run_key": key,
        "strategy": "psr_cases",
        "dataset": "PSR",
        "params": {"case": key},
        "periods_per_year": ppy,
        "metrics": {"sharpe": sharpe, "n_periods": n, "returns_skew": skew,
                    "returns_kurtosis": kurt},
    })
    sr, sr_star = sharpe / math.sqrt(ppy), bench / math.sqrt(ppy)
    spread = 1 - skew * sr + (kurt - 1) / 4 * sr ** 2
    psr = norm.cdf((sr - sr_star) * math.sqrt(n - 1) / math.sqrt(spread))
    if sr > sr_star:
        periods = 1 + spread * (norm.ppf(0.95) / (sr - sr_star)) ** 2
        track = {"periods": periods, "years": periods / ppy}
    else:
        track = None
    answers[key] = {"benchmark": bench, "psr": psr, "min_track_record": track}

(ROOT / "tests/fixtures/psr/runs.jsonl").write_text(
    "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs))
(ROOT / "tests/golden/psr.json").write_text(json.dumps(answers, indent=1) + "\n")
print(answers)
