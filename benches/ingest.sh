#!/usr/bin/env bash
# Ingest figures of BENCHMARKS.md, each beside its baseline measured in the same run:
#   1. trades per second through `btdb record` against raw `psql \copy` of the same trade rows
#      into the same table;
#   2. 10,000 runs of 50 trades and 500 equity points with --jobs 2, against raw `psql \copy`
#      of the same trade and equity rows;
#   3. peak RSS while recording a JSON Lines file of about 1 GB, against the file's size.
# Each timing is the median of $REPEAT runs (default 3) on a fresh database of the embedded
# cluster (default settings, fsync on). Usage: bash benches/ingest.sh [scratch-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
WORK=${1:-target/bench}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
export BTDB_HOME="$WORK/home"
unset DATABASE_URL
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }

cargo build --release --quiet
BTDB="$PWD/target/release/btdb"
"$BTDB" db start >/dev/null
ADMIN=$("$BTDB" db url | sed 's#^postgres:///btdb?#postgres:///postgres?#')
url_of() { "$BTDB" db url | sed "s#^postgres:///btdb?#postgres:///$1?#"; }

fresh_db() { # name -> URL of an empty, migrated database
    psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null 2>&1
    DATABASE_URL=$(url_of "$1") "$BTDB" db migrate >/dev/null
    url_of "$1"
}
seconds() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -n 1; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "generating data in $WORK" >&2
[ -s "$WORK/trades.jsonl" ] || "$BTDB" gen --runs 2000 --trades 500 --equity 0 --seed 2 -o "$WORK/trades.jsonl"
[ -s "$WORK/runs10k.jsonl" ] || "$BTDB" gen --runs 10000 --trades 50 --equity 500 --seed 3 -o "$WORK/runs10k.jsonl"
[ -s "$WORK/big.jsonl" ] || "$BTDB" gen --runs 40000 --trades 50 --equity 500 --seed 4 -o "$WORK/big.jsonl"

# 1. Trades per second.
record_t=(); copy_t=()
for _ in $(seq "$REPEAT"); do
    url=$(fresh_db bench_trades)
    record_t+=("$(DATABASE_URL=$url seconds "$BTDB" record -q --jobs 2 "$WORK/trades.jsonl")")
    psql -q "$url" -c "\copy (SELECT * FROM trades) TO '$WORK/trades.csv' CSV"
    psql -q "$url" -c "TRUNCATE trades"
    copy_t+=("$(seconds psql -q "$url" -c "\copy trades FROM '$WORK/trades.csv' CSV")")
done
trades=$(wc -l < "$WORK/trades.csv")
rt=$(printf '%s\n' "${record_t[@]}" | median); ct=$(printf '%s\n' "${copy_t[@]}" | median)

# 2. 10,000 runs with --jobs 2.
runs_t=(); raw_t=()
for _ in $(seq "$REPEAT"); do
    url=$(fresh_db bench_runs)
    runs_t+=("$(DATABASE_URL=$url seconds "$BTDB" record -q --jobs 2 "$WORK/runs10k.jsonl")")
    psql -q "$url" -c "\copy (SELECT * FROM trades) TO '$WORK/r_trades.csv' CSV" \
                   -c "\copy (SELECT * FROM equity_points) TO '$WORK/r_equity.csv' CSV"
    psql -q "$url" -c "TRUNCATE trades, equity_points"
    raw_t+=("$(seconds psql -q "$url" -c "\copy trades FROM '$WORK/r_trades.csv' CSV" \
                                      -c "\copy equity_points FROM '$WORK/r_equity.csv' CSV")")
done
rr=$(printf '%s\n' "${runs_t[@]}" | median); rw=$(printf '%s\n' "${raw_t[@]}" | median)

# 3. Peak RSS on a 1 GB file.
url=$(fresh_db bench_big)
rss_kb=$(DATABASE_URL=$url /usr/bin/time -f %M "$BTDB" record -q --jobs 2 "$WORK/big.jsonl" 2>&1 >/dev/null | tail -n 1)
size=$(stat -c %s "$WORK/big.jsonl")
psql -q "$ADMIN" -c "DROP DATABASE bench_trades" -c "DROP DATABASE bench_runs" -c "DROP DATABASE bench_big" >/dev/null

awk -v rt="$rt" -v ct="$ct" -v n="$trades" -v rr="$rr" -v rw="$rw" -v rss="$rss_kb" -v size="$size" -v rep="$REPEAT" 'BEGIN {
    printf "| figure | btdb | baseline | ratio |\n|---|---|---|---|\n"
    printf "| trades/s, %d trades in 2,000 runs (median of %d) | %.0f | %.0f (psql \\copy) | %.2f |\n", n, rep, n/rt, n/ct, ct/rt
    printf "| 10,000 runs x (50 trades + 500 equity), --jobs 2 (median of %d) | %.1f s | %.1f s (psql \\copy of the same rows) | %.2f |\n", rep, rr, rw, rw/rr
    printf "| peak RSS recording %.2f GB of JSON Lines | %.0f MB | %.0f MB (file size) | %.3f |\n", size/1e9, rss/1024, size/1048576, rss*1024/size
}'
