#!/usr/bin/env bash
# One server against a local Citus cluster (a coordinator and two workers on this machine),
# same data, same run of this script (docs/scale-out.md, BENCHMARKS.md): benches/data_1m.sql
# with STRATEGIES strategies of 1,000 runs plus the 10,000-set sweep, loaded into a fresh
# database of each; on Citus it is loaded before the tables are distributed, and
# `btdb db migrate --citus` then moves it to the workers, as a team moving its data would.
# Per layout: `btdb record` of 2,000 runs of 50 trades and 500 equity points (runs/s), VACUUM
# ANALYZE and the data's size on every node; then benches/scale.rs on both layouts at once,
# taking turns call by call (every ranking order, pooled and on one data set, compare on the
# sweep and show, p95 of 100 calls' database time); last, the ratio of each Citus figure to
# one server's of the same run.
#   bash benches/citus.sh            (STRATEGIES=190: 200,000 runs; Citus must be installed)
#   CITUS_SHARDS=32 bash benches/citus.sh      (another shard count)
#   CITUS_FLAT=1 bash benches/citus.sh         (trades and equity points unpartitioned in shards)
# As root, the Citus nodes run as the `postgres` account, like the embedded cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
STRATEGIES=${STRATEGIES:-190}
BIN=${BTDB_CITUS_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -f "$BIN/../lib/citus.so" ] || { echo "no citus.so beside $BIN (docs/scale-out.md)" >&2; exit 1; }
cargo build --release --quiet
cargo bench --quiet --bench scale --no-run 2>/dev/null
BTDB=$PWD/target/release/btdb
WORK=$PWD/target/bench-citus
mkdir -p "$WORK"
[ -s "$WORK/record.jsonl" ] || "$BTDB" gen --runs 2000 --trades 50 --equity 500 --seed 7 -o "$WORK/record.jsonl"
as_owner() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

# The Citus nodes: fresh clusters on loopback ports.
ports=(27001 27002 27003)
for i in 0 1 2; do
    dir=$WORK/node-$i
    as_owner "$BIN/pg_ctl -D $dir/data stop -m fast" >/dev/null 2>&1 || true
    rm -rf "$dir"; mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$BIN/initdb -D $dir/data -U btdb --auth=trust" >/dev/null
    cat >> "$dir/data/postgresql.conf" <<EOF
port = ${ports[$i]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus'
max_prepared_transactions = 100
citus.node_conninfo = 'sslmode=disable'
EOF
    as_owner "$BIN/pg_ctl -D $dir/data -l $dir/log -w start" >/dev/null
    psql -h 127.0.0.1 -p "${ports[$i]}" -U btdb -d postgres -qc "CREATE DATABASE btdb"
done
coordinator="postgres://btdb@127.0.0.1:${ports[0]}/btdb"

# One server: an embedded cluster of its own.
export BTDB_HOME=$WORK/single
"$BTDB" db stop >/dev/null 2>&1 || true
rm -rf "$BTDB_HOME"
"$BTDB" db migrate >/dev/null
single=$("$BTDB" db url)
unset BTDB_HOME

echo "loading $STRATEGIES strategies x 1,000 runs twice ..." >&2
"$BTDB" db migrate --database-url "$coordinator" >/dev/null
for url in "$single" "$coordinator"; do
    psql "$url" -q -v strategies="$STRATEGIES" -f benches/data_1m.sql >/dev/null
done
for i in 0 1 2; do
    psql -h 127.0.0.1 -p "${ports[$i]}" -U btdb -d btdb -qc "CREATE EXTENSION citus"
done
psql "$coordinator" -qAt -c "SELECT citus_set_coordinator_host('127.0.0.1', ${ports[0]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" \
    -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
# CITUS_SHARDS=N distributes over N shards instead of btdb's four per worker.
if [ -n "${CITUS_SHARDS:-}" ]; then
    psql "$coordinator" -qc "ALTER DATABASE btdb SET citus.shard_count = $CITUS_SHARDS"
fi
# CITUS_FLAT=1 replaces the hash-partitioned trades and equity_points by plain tables of the
# same columns, constraints and indexes before they are distributed: each shard is then one
# table rather than 16 partitions (BENCHMARKS.md, "Partitions inside shards").
if [ -n "${CITUS_FLAT:-}" ]; then
    for table in trades equity_points; do
        psql "$coordinator" -q -v ON_ERROR_STOP=1 -1 \
            -c "CREATE TABLE ${table}_flat (LIKE $table INCLUDING ALL)" \
            -c "INSERT INTO ${table}_flat SELECT * FROM $table" \
            -c "DROP TABLE $table" \
            -c "ALTER TABLE ${table}_flat RENAME TO $table"
    done
fi
start=$(date +%s.%N)
"$BTDB" db migrate --citus --database-url "$coordinator" >&2
echo "distributed in $(awk -v e="$(date +%s.%N)" -v s="$start" 'BEGIN { printf "%.1f", e - s }') s" >&2

declare -A rate size
for layout in single citus; do
    if [ $layout = single ]; then url=$single; else url=$coordinator; fi
    start=$(date +%s.%N)
    DATABASE_URL=$url "$BTDB" record -q --jobs 2 "$WORK/record.jsonl"
    rate[$layout]=$(awk -v end="$(date +%s.%N)" -v start="$start" 'BEGIN { printf "%.0f", 2000 / (end - start) }')
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
    if [ $layout = citus ]; then
        bytes=0
        for port in "${ports[@]}"; do
            b=$(psql -h 127.0.0.1 -p "$port" -U btdb -d btdb -tAc "SELECT pg_database_size('btdb')")
            bytes=$((bytes + b))
        done
    else
        bytes=$(psql "$url" -tAc "SELECT pg_database_size(current_database())")
    fi
    size[$layout]=$(awk -v b="$bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }')
done
# Both layouts in one process, call by call in turn (benches/scale.rs), so that the machine's
# noisy moments fall on both alike. Per layout: runs | best | median | compare | show | size |
# mean | worst | count | min-runs | best, median on IS-2020.
both=$(DATABASE_URL=$single BTDB_SCALE_ALSO=$coordinator BTDB_SCALE_SHOW=gen:7:0 \
       BTDB_SCALE_ORDERS=1 cargo bench --quiet --bench scale)
rows=()
declare -A figures
for layout in single citus; do
    if [ $layout = single ]; then cells=$(echo "$both" | sed -n 1p); else cells=$(echo "$both" | sed -n 2p); fi
    cell() { echo "$cells" | cut -d'|' -f"$1" | tr -d ' '; }
    # In the table's order: record, best, mean, median, worst, count, min-runs, the two on
    # one data set, compare, show.
    values=("${rate[$layout]}" "$(cell 2)" "$(cell 7)" "$(cell 3)" "$(cell 8)" "$(cell 9)" \
            "$(cell 10)" "$(cell 11)" "$(cell 12)" "$(cell 4)" "$(cell 5)")
    figures[$layout]="${values[*]}"
    row="| $layout | $(cell 1) |"
    for v in "${values[@]}"; do row+=" ${v/ms/ ms} |"; done
    row+=" ${size[$layout]} |"
    rows+=("$row")
    echo "$row" >&2
done
# Citus over one server, each figure of this run (record: Citus's share of one server's rate).
read -ra one <<< "${figures[single]}"
read -ra many <<< "${figures[citus]}"
ratio="| ratio, Citus / one server | |"
for i in "${!one[@]}"; do
    ratio+=" $(awk -v a="${many[$i]%ms}" -v b="${one[$i]%ms}" 'BEGIN { printf "%.2f×", a / b }') |"
done
ratio+=" |"
echo "| layout | runs | record runs/s (2,000 runs) | rank best p95 | mean | median | worst | count | best --min-runs 900 | best, one data set | median, one data set | compare p95 (10,000-set sweep) | show p95 | size, all nodes |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}" "$ratio"
for i in 0 1 2; do as_owner "$BIN/pg_ctl -D $WORK/node-$i/data stop -m fast" >/dev/null; done
BTDB_HOME=$WORK/single "$BTDB" db stop >/dev/null
