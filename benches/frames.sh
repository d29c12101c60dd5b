#!/usr/bin/env bash
# BENCHMARKS.md's DataFrame figures (benches/frames.py): btdb.runs against /runs.csv, JSON and
# MLflow's search_runs on the same 10,000 runs, then 100,000 and 1,010,000 runs of the
# 1,000,000-run data set, and 1,000 equity curves of 2,520 points.
#   bash benches/frames.sh        (BTDB_HOME defaults to target/bench-home)
# The Python side runs in target/bench-venv: pinned pyarrow, pandas, polars and MLflow, with
# this checkout's package. The MLflow store is made once (several minutes), in target/.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/support/serve.sh
source benches/data_1m.sh
# BTDB_BIN=/path/to/btdb measures another build (the one before a change) in the same session.
export BTDB_BIN=${BTDB_BIN:-$PWD/target/release/btdb}
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check \
    mlflow==3.17.2 pandas==3.1.1 polars==2.1.0 ./python
export MLFLOW_URI="sqlite:///$PWD/target/bench-mlflow.db"
"$venv/bin/python" benches/frames_mlflow.py

# 1,000 curves of 2,520 points in a database of their own on the same server.
equity_url="${url/\/\/\/btdb?/\/\/\/btdb_frames?}"
if ! psql "$url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'btdb_frames'" | grep -q 1; then
    psql "$url" -qc "CREATE DATABASE btdb_frames"
    DATABASE_URL=$equity_url $BTDB_BIN db migrate >/dev/null
    DATABASE_URL=$equity_url $BTDB_BIN gen --runs 1000 --strategies 1 --params 1000 \
        --equity 2520 --trades 0 --record -q -j 2
fi
DATABASE_URL=$equity_url $BTDB_BIN db migrate >/dev/null
export EQUITY_URL=$equity_url
EQUITY_IDS=$(psql "$equity_url" -tAc "SELECT json_agg(id ORDER BY id) FROM runs")
export EQUITY_IDS

export SERVE_PORT=18231
start_server "$BTDB_BIN" "$SERVE_PORT"
trap 'kill $server 2>/dev/null || true' EXIT
"$venv/bin/python" benches/frames.py
# The binary's own peak memory streaming every run, beside the DataFrame figures.
for limit in 10000 all; do
    /usr/bin/time -f "btdb runs --limit $limit --format arrow: %e s, peak %M KB" \
        "$BTDB_BIN" runs --limit "$limit" --format arrow --decimals float -q >/dev/null
done
