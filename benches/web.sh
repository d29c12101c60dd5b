#!/usr/bin/env bash
# The web view's figures of BENCHMARKS.md: the 1,000,000-run data set (benches/data_1m.sh)
# with 50-point equity curves (benches/data_equity.sql, loaded once), then benches/web.rs.
#   bash benches/web.sh          (BTDB_HOME defaults to target/bench-home)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
url=$(./target/release/btdb db url)
if [ "$(psql "$url" -tAc "SELECT count(*) > 0 FROM equity_points")" != t ]; then
    echo "loading 50,500,000 equity points (a few minutes)..." >&2
    psql "$url" -q -f benches/data_equity.sql
fi
DATABASE_URL=$url cargo bench --quiet --bench web
