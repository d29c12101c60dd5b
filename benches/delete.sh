#!/usr/bin/env bash
# BENCHMARKS.md's delete figure: `btdb delete` of the 106,000 of the 1,010,000 runs of
# benches/data_1m.sql (the parameter sets with slow <= 60), against the same deletion written
# by hand in psql (a temporary table of the ids, then one DELETE per table, one transaction),
# each on a fresh copy of the database, alternating, REPS times each (default 3).
#   bash benches/delete.sh          (BTDB_HOME defaults to target/bench-home)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
btdb=./target/release/btdb
url=$($btdb db url)
admin=${url/\/btdb\?//postgres?}
copy=${url/\/btdb\?//bench_delete?}
reps=${REPS:-3}

fresh_copy() {
    psql "$admin" -q -c "DROP DATABASE IF EXISTS bench_delete"
    # FILE_COPY: a 3.7 GB copy through the WAL would take minutes.
    psql "$admin" -q -c "CREATE DATABASE bench_delete TEMPLATE btdb STRATEGY = FILE_COPY"
    psql "$copy" -q -c "VACUUM ANALYZE" >/dev/null
}

by_hand() {
    psql "$copy" -q -v ON_ERROR_STOP=1 <<'SQL'
BEGIN;
CREATE TEMP TABLE doomed ON COMMIT DROP AS
    SELECT r.id FROM runs r JOIN parameter_sets p ON p.id = r.parameter_set_id
    WHERE (p.params->>'slow')::numeric <= 60;
DELETE FROM metrics t USING doomed d WHERE t.run_id = d.id;
DELETE FROM trades t USING doomed d WHERE t.run_id = d.id;
DELETE FROM equity_points t USING doomed d WHERE t.run_id = d.id;
DELETE FROM runs t USING doomed d WHERE t.id = d.id;
COMMIT;
SQL
}

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

declare -a btdb_ms psql_ms
for rep in $(seq "$reps"); do
    fresh_copy
    start=$(date +%s%N)
    DATABASE_URL=$copy $btdb --slow-ms 600000 delete --where 'params.slow <= 60' --yes --format json > target/delete.json
    btdb_ms+=("$(ms "$start")")
    fresh_copy
    start=$(date +%s%N)
    by_hand
    psql_ms+=("$(ms "$start")")
    echo "rep $rep: btdb ${btdb_ms[-1]} ms, psql ${psql_ms[-1]} ms; btdb deleted: $(tr -d ' \n' < target/delete.json)" >&2
done
psql "$admin" -q -c "DROP DATABASE IF EXISTS bench_delete"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
b=$(median "${btdb_ms[@]}")
p=$(median "${psql_ms[@]}")
echo "delete 106,000 of 1,010,000 runs: btdb median ${b} ms, psql by hand median ${p} ms, ratio $(awk -v b="$b" -v p="$p" 'BEGIN {printf "%.2f", b / p}')"
