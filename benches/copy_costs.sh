#!/usr/bin/env bash
# What the indexes and keys of equity_points cost COPY: the same 5,000,000 equity rows (those of
# benches/ingest.sh's 10,000 runs) loaded with binary COPY into equity_points as migrated (BRIN
# on run_id), with a (run_id, seq) primary key instead, and with that key plus a foreign key to
# runs. Run benches/ingest.sh first (it leaves the data in target/bench).
# Usage: bash benches/copy_costs.sh [scratch-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(cd "${1:-target/bench}" && pwd)
export BTDB_HOME="$WORK/home"
unset DATABASE_URL
BTDB="$PWD/target/release/btdb"
[ -s "$WORK/runs10k.jsonl" ] || { echo "run benches/ingest.sh first" >&2; exit 1; }
"$BTDB" db start >/dev/null
ADMIN=$("$BTDB" db url | sed 's#^postgres:///btdb?#postgres:///postgres?#')
URL=$("$BTDB" db url | sed 's#^postgres:///btdb?#postgres:///bench_copy?#')
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS bench_copy" -c "CREATE DATABASE bench_copy" >/dev/null 2>&1
DATABASE_URL=$URL "$BTDB" record -q --jobs 2 "$WORK/runs10k.jsonl" >/dev/null
psql -q "$URL" -c "\copy (SELECT * FROM equity_points) TO '$WORK/equity.bin' WITH (FORMAT binary)"
seconds() { /usr/bin/time -f %e psql -q "$URL" -c "TRUNCATE equity_points" -c "\copy equity_points FROM '$WORK/equity.bin' WITH (FORMAT binary)" 2>&1 | tail -n 1; }

brin=$(seconds)
psql -q "$URL" -c "DROP INDEX equity_points_run_id_brin" -c "ALTER TABLE equity_points ADD PRIMARY KEY (run_id, seq)"
pkey=$(seconds)
psql -q "$URL" -c "ALTER TABLE equity_points ADD FOREIGN KEY (run_id) REFERENCES runs (id)"
fkey=$(seconds)
psql -q "$ADMIN" -c "DROP DATABASE bench_copy" >/dev/null
rows=5000000
awk -v b="$brin" -v p="$pkey" -v f="$fkey" -v n="$rows" 'BEGIN {
    printf "| equity_points as loaded by binary COPY (%d rows) | seconds | time against BRIN |\n|---|---|---|\n", n
    printf "| BRIN on run_id (as migrated) | %.1f | 1.00 |\n", b
    printf "| primary key (run_id, seq) | %.1f | %.2f |\n", p, p/b
    printf "| primary key + foreign key to runs | %.1f | %.2f |\n", f, f/b
}'
