#!/usr/bin/env bash
# The web view's figures of BENCHMARKS.md: `btdb serve` on the 1,000,000-run data set (loaded
# once into target/bench-home), /api/rank and the strategy page at 32 connections and /api/rank
# at 500, 30 s each (BTDB_LOAD_SECONDS), with and without the answer cache, and the library's
# in-process time for the same answers.
#   bash benches/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
# 500 connections each way, and the server's own.
ulimit -n 4096 2>/dev/null || true
cargo bench --quiet --bench serve
