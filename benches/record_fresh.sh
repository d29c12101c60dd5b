#!/usr/bin/env bash
# A first `btdb record --jobs 2` into a database just migrated (what a new user, `btdb demo`
# and every importer start with): 40,000 runs without trades or equity, and 10,000 runs of 50
# trades and 500 equity points. With BASE_BIN=/path/to/btdb the build before is measured in the
# same rounds, the two builds in turn. Commits are not waited for (synchronous_commit off on
# the database), so that the disk's fsync times do not drown the figures.
#   BASE_BIN=/path/to/old/btdb ROUNDS=6 bash benches/record_fresh.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
WORK=target/bench
mkdir -p "$WORK"
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
unset DATABASE_URL
cargo build --release --quiet
BTDB="$PWD/target/release/btdb"
"$BTDB" db start >/dev/null
url=$("$BTDB" db url | sed 's#^postgres:///btdb?#postgres:///bench_fresh?#')
admin=$("$BTDB" db url | sed 's#^postgres:///btdb?#postgres:///postgres?#')
[ -s "$WORK/small40k.jsonl" ] || "$BTDB" gen --runs 40000 --trades 0 --equity 0 --seed 5 -o "$WORK/small40k.jsonl"
[ -s "$WORK/runs10k.jsonl" ] || "$BTDB" gen --runs 10000 --trades 50 --equity 500 --seed 3 -o "$WORK/runs10k.jsonl"

builds=("$BTDB")
[ -n "${BASE_BIN:-}" ] && builds=("$BASE_BIN" "$BTDB")
for round in $(seq "$ROUNDS"); do
    for bin in "${builds[@]}"; do
        for file in small40k runs10k; do
            psql -q "$admin" -c "DROP DATABASE IF EXISTS bench_fresh" -c "CREATE DATABASE bench_fresh" \
                -c "ALTER DATABASE bench_fresh SET synchronous_commit = off" 2>/dev/null
            DATABASE_URL=$url "$bin" db migrate >/dev/null
            psql -q "$admin" -c CHECKPOINT
            seconds=$( { DATABASE_URL=$url /usr/bin/time -f %e "$bin" record -q --jobs 2 \
                "$WORK/$file.jsonl" >/dev/null; } 2>&1 | tail -n 1)
            echo "round $round, $bin, $file: $seconds s"
        done
    done
done
psql -q "$admin" -c "DROP DATABASE bench_fresh"
