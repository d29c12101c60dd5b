"""BENCHMARKS.md's DataFrame figures: runs into pandas from btdb (Arrow), from btdb's older
ways (`/runs.csv` read by pyarrow, `btdb runs --format json`) and from MLflow (`search_runs`),
all in one run on the same 10,000 runs; then 100,000 and 1,010,000 runs, and 1,000 equity
curves of 2,520 points. Run through benches/frames.sh, which prepares the data."""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import pyarrow.csv
import btdb

BIN = os.environ["BTDB_BIN"]
REPEAT = int(os.environ.get("REPEAT", "5"))


def timed(what, work, repeat=REPEAT):
    """The median of `repeat` warm runs of `work` (after one to warm), in seconds."""
    work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"{what}: median {median * 1e3:.0f} ms of {repeat} (min {min(times) * 1e3:.0f})")
    return median, result


def btdb_json(strategy):
    out = subprocess.run(
        [BIN, "runs", "--strategy", strategy, "--limit", "10000", "--format", "json"],
        capture_output=True, check=True,
    )
    import pandas as pd

    return pd.json_normalize(json.loads(out.stdout)["runs"])


def runs_csv(port, strategy):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/runs.csv?strategy={strategy}") as r:
        return pyarrow.csv.read_csv(r).to_pandas()


def mlflow_frame(uri, experiment):
    import mlflow

    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    return mlflow.search_runs([found.experiment_id], max_results=100_000)


def main():
    figures = {}
    port = int(os.environ["SERVE_PORT"])
    mlflow_uri = os.environ["MLFLOW_URI"]
    n = len(btdb.runs(strategy="sweep_10k"))
    assert n == 10_000, n
    figures["btdb.runs 10k"], frame = timed(
        "btdb.runs(10,000 runs)", lambda: btdb.runs(strategy="sweep_10k")
    )
    print(f"  {frame.shape[1]} columns; DataFrame {frame.memory_usage(deep=True).sum() / 2**20:.1f} MiB")
    figures["btdb.runs 10k polars"], _ = timed(
        "btdb.runs(10,000 runs, polars)", lambda: btdb.runs(strategy="sweep_10k", backend="polars")
    )
    figures["/runs.csv 10k"], _ = timed("/runs.csv + pyarrow (10,000 runs)", lambda: runs_csv(port, "sweep_10k"))
    figures["json 10k"], _ = timed("btdb runs --format json (10,000 runs)", lambda: btdb_json("sweep_10k"))
    figures["mlflow 10k"], mlflow = timed(
        "mlflow.search_runs (10,000 runs)", lambda: mlflow_frame(mlflow_uri, "sweep_10k"), repeat=3
    )
    print(f"  {mlflow.shape[1]} columns")
    print(
        f"ratios at 10,000 runs: MLflow / btdb.runs = {figures['mlflow 10k'] / figures['btdb.runs 10k']:.0f}x, "
        f"/runs.csv / btdb.runs = {figures['/runs.csv 10k'] / figures['btdb.runs 10k']:.1f}x, "
        f"JSON / btdb.runs = {figures['json 10k'] / figures['btdb.runs 10k']:.1f}x"
    )
    figures["btdb.runs 100k"], frame = timed(
        "btdb.runs(100,000 runs)", lambda: btdb.runs(limit=100_000), repeat=3
    )
    figures["btdb.runs 1M"], _ = timed("btdb.runs(1,010,000 runs)", lambda: len(btdb.runs()), repeat=3)
    # Memory in a process of its own: its peak against the DataFrame it holds. The peak is the
    # process's VmHWM: its ru_maxrss would start at this process's peak, which Linux carries
    # over into a child's at exec.
    probe = (
        "import btdb, re; f = btdb.runs(); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1); "
        "print(len(f), f.shape[1], f.memory_usage(deep=True).sum() / 2**20, int(hwm) / 1024)"
    )
    rows, columns, size, peak = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    print(
        f"  {int(rows):,} x {columns}; DataFrame {float(size):.0f} MiB; the Python process's "
        f"peak {float(peak):.0f} MiB ({float(peak) / float(size):.2f}x)"
    )
    ids = json.loads(os.environ["EQUITY_IDS"])
    url = os.environ["EQUITY_URL"]
    figures["equity 1000x2520"], curves = timed(
        "btdb.equity(1,000 runs x 2,520 points)", lambda: btdb.equity(ids, database_url=url), repeat=3
    )
    print(f"  {len(curves):,} rows")


if __name__ == "__main__":
    main()
