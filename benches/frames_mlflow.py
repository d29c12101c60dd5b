"""The MLflow side of benches/frames.sh: the 10,000 runs of btdb's `sweep_10k` strategy logged
into an MLflow tracking store (SQLite), each with its 2 parameters, 16 metrics and 2 tags, as
an MLflow user's sweep would be. Made once; later runs of the benchmark find it."""

import os
import sys
import time

import btdb
import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

uri = os.environ["MLFLOW_URI"]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
if client.get_experiment_by_name("sweep_10k") is not None:
    sys.exit(0)
experiment = client.create_experiment("sweep_10k")
runs = btdb.runs(strategy="sweep_10k")
now = int(time.time() * 1000)
start = time.perf_counter()
for i, (run_id, row) in enumerate(runs.iterrows()):
    run = client.create_run(experiment, run_name=str(run_id))
    params = [Param(c.removeprefix("params."), str(row[c])) for c in runs if c.startswith("params.")]
    metrics = [
        Metric(c.removeprefix("metrics."), float(row[c]), now, 0)
        for c in runs
        if c.startswith("metrics.") and row[c] is not None and row[c] == row[c]
    ]
    tags = [RunTag("dataset", row["dataset"]), RunTag("status", row["status"])]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id)
    if i % 1000 == 999:
        print(f"{i + 1} runs logged in {time.perf_counter() - start:.0f} s", file=sys.stderr)
