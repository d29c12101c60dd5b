#!/usr/bin/env bash
# The query figures of BENCHMARKS.md: loads the 1,000,000-run data set (benches/data_1m.sql)
# into a private embedded cluster once, then runs benches/queries.rs against it.
#   bash benches/queries.sh          (BTDB_HOME defaults to target/bench-home)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
cargo bench --quiet --bench queries
