#!/usr/bin/env bash
# What every read command pays before its own queries: process start, connecting to the
# embedded cluster and the schema check. `btdb runs --limit 1` on an empty database (its two
# listing queries cost well under a millisecond there), against `psql -c 'SELECT 1'` on the
# same socket in the same rounds, alternating, 40 times each after 5 of warm-up.
#   bash benches/fixed_cost.sh          (BTDB_HOME defaults to target/bench-fixed)
# BASELINE=path/to/another/btdb adds that binary to the same rounds (an earlier commit's, built
# in a worktree of it: `git worktree add ../prev REV && cargo build --release` there).
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-fixed}
unset DATABASE_URL
cargo build --release --quiet
btdb=./target/release/btdb
$btdb db migrate >/dev/null
url=$($btdb db url)
us() { echo $(( ($(date +%s%N) - $1) / 1000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -a own base inside db other other_inside
for i in $(seq 45); do
    if [ -n "${BASELINE:-}" ]; then
        start=$(date +%s%N)
        t_other=$("$BASELINE" --timings runs --limit 1 2>&1 >/dev/null | tail -1)
        o=$(us "$start")
        if [ "$i" -gt 5 ]; then
            other+=("$o")
            other_inside+=("$(echo "$t_other" | awk '{print $9 * 1000}')")
        fi
    fi
    start=$(date +%s%N)
    timings=$($btdb --timings runs --limit 1 2>&1 >/dev/null | tail -1)
    t=$(us "$start")
    start=$(date +%s%N); psql "$url" -qAtc 'SELECT 1' >/dev/null; p=$(us "$start")
    if [ "$i" -gt 5 ]; then
        own+=("$t"); base+=("$p")
        # "timings: N queries, X ms in the database, Y ms in all"
        db+=("$(echo "$timings" | awk '{print $4 * 1000}')")
        inside+=("$(echo "$timings" | awk '{print $9 * 1000}')")
    fi
done
echo "$timings"
ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
b=$(median "${own[@]}"); p=$(median "${base[@]}")
echo "read command fixed cost (medians of 40): btdb runs $(ms "$b") ms as a process, $(ms "$(median "${inside[@]}")") ms inside it, $(ms "$(median "${db[@]}")") ms in the database; psql SELECT 1 $(ms "$p") ms; ratio of processes $(awk -v b="$b" -v p="$p" 'BEGIN {printf "%.2f", b / p}')"
if [ -n "${BASELINE:-}" ]; then
    echo "baseline $BASELINE in the same rounds: $(ms "$(median "${other[@]}")") ms as a process, $(ms "$(median "${other_inside[@]}")") ms inside it"
fi
