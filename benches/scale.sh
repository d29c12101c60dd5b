#!/usr/bin/env bash
# The scale curve of BENCHMARKS.md: the same commands on 100,000, 1,000,000 and 3,000,000 runs
# (benches/data_1m.sql with 100, 1,000 and 3,000 strategies of 1,000 runs, plus the
# 10,000-set sweep), each step in its own embedded cluster (the 1,000,000 step is
# target/bench-home, which benches/queries.sh also uses). Per step: `btdb record` of 2,000
# runs of 50 trades and 500 equity points into that database (runs/s, after deleting them
# from an earlier pass), VACUUM ANALYZE, then benches/scale.rs.
#   bash benches/scale.sh [STRATEGIES...]      (default: 100 1000 3000)
# The 3,000 step loads for about 20 minutes and takes about 12 GB; its cluster is removed
# afterwards unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL
cargo build --release --quiet
cargo bench --quiet --bench scale --no-run 2>/dev/null
BTDB=$PWD/target/release/btdb
WORK=$PWD/target/bench-scale
mkdir -p "$WORK"
[ -s "$WORK/record.jsonl" ] || "$BTDB" gen --runs 2000 --trades 50 --equity 500 --seed 7 -o "$WORK/record.jsonl"

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(100 1000 3000)
rows=()
for n in "${steps[@]}"; do
    if [ "$n" = 1000 ]; then home=$PWD/target/bench-home; else home=$WORK/home-$n; fi
    export BTDB_HOME=$home
    "$BTDB" db migrate >/dev/null
    url=$("$BTDB" db url)
    if [ "$(psql "$url" -tAc "SELECT count(*) FROM runs WHERE run_key LIKE 'bench:%'")" -lt $((n * 1000)) ]; then
        echo "loading $n strategies x 1,000 runs into $home ..." >&2
        psql "$url" -q -v strategies="$n" -f benches/data_1m.sql >/dev/null
    fi
    "$BTDB" delete -q --yes --sweep gen-7 >/dev/null 2>&1 || true
    start=$(date +%s.%N)
    "$BTDB" record -q --jobs 2 "$WORK/record.jsonl"
    rate=$(awk -v end="$(date +%s.%N)" -v start="$start" 'BEGIN { printf "%.0f", 2000 / (end - start) }')
    # Every step measured in the same state: statistics current, no autovacuum pending.
    psql "$url" -qc "VACUUM ANALYZE" >/dev/null
    cells=$(BTDB_SCALE_SHOW=gen:7:0 cargo bench --quiet --bench scale)
    # runs | record runs/s | the bench's cells
    rows+=("| $(echo "$cells" | cut -d'|' -f1 | tr -d ' ') | $rate | $(echo "$cells" | cut -d'|' -f2-) |")
    echo "${rows[-1]}" >&2
    # Leave the data set as loaded (benches/queries.sh and delete.sh count on it).
    "$BTDB" delete -q --yes --sweep gen-7 >/dev/null
    "$BTDB" db stop >/dev/null
    if [ "$n" = 3000 ] && [ "${KEEP:-0}" != 1 ]; then rm -rf "$home"; fi
done
echo "| runs | record runs/s (2,000 runs) | rank --by best p95 | rank --by median p95 | compare p95 (10,000-set sweep) | show p95 | database size |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
