#!/usr/bin/env bash
# What the summaries' overflow-proof mean and median (migration 14) cost the fold against the
# avg and percentile_cont they replaced: the fold's aggregation (per data set and pooled, one
# pass) over 2,000,000 values of 200 strategies on 5 data sets, both forms taking turns,
# 7 rounds each, medians of the executor's time (EXPLAIN ANALYZE, no rows sent).
#   bash benches/aggregates.sh          (BTDB_HOME defaults to target/bench-aggregates)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-aggregates}
unset DATABASE_URL
cargo build --release --quiet
btdb=./target/release/btdb
$btdb db migrate >/dev/null
url=$($btdb db url)
psql "$url" -qAt <<'SQL' >/dev/null
DROP TABLE IF EXISTS bench_values;
CREATE TABLE bench_values AS
    SELECT 'sharpe'::text AS name, (i % 200)::bigint AS strategy_id, 'D' || (i / 200 % 5) AS dataset,
           (random() - 0.4) * 3 AS value
    FROM generate_series(1, 2000000) i;
VACUUM ANALYZE bench_values;
SQL
fold() {
    echo "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)
        SELECT name, dataset, strategy_id, count(*), $1, $2, min(value), max(value)
        FROM bench_values
        GROUP BY GROUPING SETS ((name, strategy_id, dataset), (name, strategy_id))"
}
old=$(fold "avg(value)" "percentile_cont(0.5) WITHIN GROUP (ORDER BY value)")
new=$(fold "btdb_mean(sum(btdb_mean_small(value)), sum(btdb_mean_big(value)), count(*), min(value), max(value))" \
           "btdb_median(percentile_disc(btdb_middle()) WITHIN GROUP (ORDER BY value))")
ms() { psql "$url" -qAt -c "$1" | grep -o '"Execution Time": [0-9.]*' | awk '{print $3}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -a a b
ms "$old" >/dev/null; ms "$new" >/dev/null
for i in $(seq 7); do
    if [ $((i % 2)) -eq 0 ]; then a+=("$(ms "$old")"); b+=("$(ms "$new")");
    else b+=("$(ms "$new")"); a+=("$(ms "$old")"); fi
done
psql "$url" -qAt -c "DROP TABLE bench_values"
ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
echo "fold aggregation of 2,000,000 values (medians of 7): btdb_mean/btdb_median ${mb} ms, avg/percentile_cont ${ma} ms, ratio $(awk -v b="$mb" -v a="$ma" 'BEGIN {printf "%.2f", b / a}')"
