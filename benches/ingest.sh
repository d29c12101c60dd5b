#!/usr/bin/env bash
# Ingest figures of BENCHMARKS.md, each beside its baseline measured in the same run:
#   1. trades per second through `btdb record` against raw `psql \copy` of the same trade rows
#      into the same table;
#   2. 10,000 runs of 50 trades and 500 equity points with --jobs 2, against raw `psql \copy`
#      of the same trade and equity rows;
#   3. peak RSS while recording a JSON Lines file of about 1 GB, against the file's size;
#   4. the upkeep of the ranking summaries: figure 2 again, in the same rounds, on a database
#      whose metrics trigger is disabled (nothing noted, nothing to fold);
#   5. 8 recorders at once, 4,000 runs each, all of one strategy on one data set (so that every run
#      touches the same summaries), with and without that upkeep.
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

# A migrated database without the summaries' upkeep: no note taken, so nothing to fold.
bare_db() {
    local url
    url=$(fresh_db "$1")
    psql -q "$url" -c "ALTER TABLE metrics DISABLE TRIGGER metrics_note_inserts" >/dev/null
    echo "$url"
}

# 2. 10,000 runs with --jobs 2; and 4. the same without the summaries' upkeep, in the same
# rounds, which of the two goes first alternating (the second pays the checkpoint the first's
# WAL brings on).
runs_t=(); raw_t=(); bare_t=()
bare_run() {
    local url
    url=$(bare_db bench_bare)
    bare_t+=("$(DATABASE_URL=$url seconds "$BTDB" record -q --jobs 2 "$WORK/runs10k.jsonl")")
}
for round in $(seq "$REPEAT"); do
    [ $((round % 2)) = 1 ] && bare_run
    url=$(fresh_db bench_runs)
    runs_t+=("$(DATABASE_URL=$url seconds "$BTDB" record -q --jobs 2 "$WORK/runs10k.jsonl")")
    [ $((round % 2)) = 0 ] && bare_run
    psql -q "$url" -c "\copy (SELECT * FROM trades) TO '$WORK/r_trades.csv' CSV" \
                   -c "\copy (SELECT * FROM equity_points) TO '$WORK/r_equity.csv' CSV"
    psql -q "$url" -c "TRUNCATE trades, equity_points"
    raw_t+=("$(seconds psql -q "$url" -c "\copy trades FROM '$WORK/r_trades.csv' CSV" \
                                      -c "\copy equity_points FROM '$WORK/r_equity.csv' CSV")")
done
rr=$(printf '%s\n' "${runs_t[@]}" | median); rw=$(printf '%s\n' "${raw_t[@]}" | median)

rb=$(printf '%s\n' "${bare_t[@]}" | median)

# 5. 8 recorders of one strategy at once.
for k in 1 2 3 4 5 6 7 8; do
    [ -s "$WORK/shared$k.jsonl" ] || "$BTDB" gen --runs 4000 --strategies 1 --datasets 1 --params 1000 \
        --trades 10 --equity 100 --seed $((100 + k)) -o "$WORK/shared$k.jsonl"
done
eight() { # URL -> seconds for 8 concurrent `btdb record` of the shared files
    local start
    start=$(date +%s.%N)
    for k in 1 2 3 4 5 6 7 8; do
        DATABASE_URL=$1 "$BTDB" record -q --jobs 1 --pool-size 1 "$WORK/shared$k.jsonl" >/dev/null &
    done
    wait
    awk -v end="$(date +%s.%N)" -v start="$start" 'BEGIN { printf "%.2f\n", end - start }'
}
shared_t=(); shared_bare_t=()
for round in $(seq "$REPEAT"); do
    if [ $((round % 2)) = 1 ]; then
        url=$(bare_db bench_shared_bare); shared_bare_t+=("$(eight "$url")")
        url=$(fresh_db bench_shared); shared_t+=("$(eight "$url")")
    else
        url=$(fresh_db bench_shared); shared_t+=("$(eight "$url")")
        url=$(bare_db bench_shared_bare); shared_bare_t+=("$(eight "$url")")
    fi
done
rs=$(printf '%s\n' "${shared_t[@]}" | median); rsb=$(printf '%s\n' "${shared_bare_t[@]}" | median)

# 3. Peak RSS on a 1 GB file.
url=$(fresh_db bench_big)
rss_kb=$(DATABASE_URL=$url /usr/bin/time -f %M "$BTDB" record -q --jobs 2 "$WORK/big.jsonl" 2>&1 >/dev/null | tail -n 1)
size=$(stat -c %s "$WORK/big.jsonl")
for db in bench_trades bench_runs bench_big bench_bare bench_shared bench_shared_bare; do
    psql -q "$ADMIN" -c "DROP DATABASE $db" >/dev/null
done

awk -v rt="$rt" -v ct="$ct" -v n="$trades" -v rr="$rr" -v rw="$rw" -v rss="$rss_kb" -v size="$size" -v rep="$REPEAT" \
    -v rb="$rb" -v rs="$rs" -v rsb="$rsb" 'BEGIN {
    printf "| figure | btdb | baseline | ratio |\n|---|---|---|---|\n"
    printf "| trades/s, %d trades in 2,000 runs (median of %d) | %.0f | %.0f (psql \\copy) | %.2f |\n", n, rep, n/rt, n/ct, ct/rt
    printf "| 10,000 runs x (50 trades + 500 equity), --jobs 2 (median of %d) | %.1f s | %.1f s (psql \\copy of the same rows) | %.2f |\n", rep, rr, rw, rw/rr
    printf "| peak RSS recording %.2f GB of JSON Lines | %.0f MB | %.0f MB (file size) | %.3f |\n", size/1e9, rss/1024, size/1048576, rss*1024/size
    printf "| figure 2 with the summaries kept (median of %d) | %.1f s | %.1f s (metrics triggers disabled) | %.2f |\n", rep, rr, rb, rb/rr
    printf "| 8 recorders x 4,000 runs of one strategy at once (median of %d) | %.1f s | %.1f s (metrics triggers disabled) | %.2f |\n", rep, rs, rsb, rsb/rs
}'
