#!/usr/bin/env bash
# Loads the 1,000,000-run data set (benches/data_1m.sql) into the embedded cluster under
# BTDB_HOME once (a few minutes); later calls find it there. The benchmark scripts source this.
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
unset DATABASE_URL
cargo build --release --quiet
./target/release/btdb db migrate >/dev/null
url=$(./target/release/btdb db url)
runs=$(psql "$url" -tAc "SELECT count(*) FROM runs")
if [ "$runs" -lt 1000000 ]; then
    echo "loading 1,000,000 runs and 16,000,000 metrics (a few minutes)..." >&2
    psql "$url" -q -f benches/data_1m.sql
fi
