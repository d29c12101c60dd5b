#!/usr/bin/env bash
# The load figure of BENCHMARKS.md: 16 readers (rank, compare, runs, show) alone for 20 s, then
# for 60 s beside 4 recorders of 2,500 runs each, on one server through the library.
#   bash benches/load.sh     (a private embedded cluster under target/bench-load; DATABASE_URL
#                             to use another server, which must be on this machine)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-load}
cargo build --release --quiet
./target/release/btdb db migrate >/dev/null
runs=$(./target/release/btdb runs --format json --limit 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')
if [ "$runs" -lt 1000 ]; then
    echo "recording the 20,000 runs the readers read..." >&2
    ./target/release/btdb -q gen --record --runs 20000 --trades 20 --equity 250 --seed 7 --jobs 2 >/dev/null
fi
cargo bench --quiet --bench load
