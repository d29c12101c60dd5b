#!/usr/bin/env bash
# BENCHMARKS.md's PBO figure: `btdb compare --pbo` on one strategy's sweep of 1,000 parameter
# sets with 2,521-point daily curves (T = 2,520 returns, 2,521,000 equity points) and S = 16
# (12,870 splits), by Sharpe ratio and by mean, five whole processes each; beside it, in the
# same run, psql reading the same points (COPY to /dev/null), the floor any command pays.
#   bash benches/pbo.sh          (BTDB_HOME defaults to target/bench-pbo)
set -euo pipefail
cd "$(dirname "$0")/.."
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-pbo}
unset DATABASE_URL
cargo build --release --quiet
btdb=./target/release/btdb
$btdb db migrate >/dev/null
url=$($btdb db url)
if [ "$(psql "$url" -tAc "SELECT count(*) FROM runs")" -lt 1000 ]; then
    echo "generating 1,000 curves of 2,521 points..." >&2
    psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT setseed(0.2026);
INSERT INTO strategies (name) VALUES ('pbo_bench');
INSERT INTO parameter_sets (strategy_id, params, params_hash)
    SELECT s.id, jsonb_build_object('k', k), sha256(convert_to('pbo:' || k, 'UTF8'))
    FROM strategies s, generate_series(1, 1000) k ORDER BY k;
INSERT INTO runs (run_key, content_hash, strategy_id, parameter_set_id, dataset, status)
    SELECT 'pbo-' || p.id, sha256(convert_to('pbo-run:' || p.id, 'UTF8')), p.strategy_id, p.id,
           'BENCH-1d', 'completed'
    FROM parameter_sets p ORDER BY p.id;
INSERT INTO equity_points (run_id, seq, ts, equity)
    SELECT r.id, g.s, timestamptz '2015-01-01 00:00:00+00' + g.s * interval '1 day',
           round((100000 * exp(sum(0.0002 + 0.02 * (random() - 0.5))
                 OVER (PARTITION BY r.id ORDER BY g.s)))::numeric, 2)
    FROM runs r CROSS JOIN generate_series(0, 2520) g(s)
    ORDER BY r.id, g.s;
VACUUM ANALYZE;
SQL
fi

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -a sharpe mean raw
for i in 1 2 3 4 5 6; do
    start=$(date +%s%N)
    $btdb compare --strategy pbo_bench --dataset BENCH-1d --pbo --format json > target/pbo-sharpe.json
    t_sharpe=$(ms "$start")
    start=$(date +%s%N)
    $btdb compare --strategy pbo_bench --dataset BENCH-1d --pbo --pbo-metric mean --format json > /dev/null
    t_mean=$(ms "$start")
    start=$(date +%s%N)
    psql "$url" -q -c "\\copy (SELECT p.run_id, p.ts, p.equity FROM equity_points p JOIN runs r ON r.id = p.run_id WHERE r.dataset = 'BENCH-1d' ORDER BY p.run_id, p.seq) TO '/dev/null'"
    t_raw=$(ms "$start")
    # The first round warms the cache and is not counted.
    if [ "$i" -gt 1 ]; then sharpe+=("$t_sharpe"); mean+=("$t_mean"); raw+=("$t_raw"); fi
    echo "round $i: sharpe $t_sharpe ms, mean $t_mean ms, psql read $t_raw ms" >&2
done
s=$(median "${sharpe[@]}"); m=$(median "${mean[@]}"); r=$(median "${raw[@]}")
echo "PBO, N=1000 T=2520 S=16: sharpe median ${s} ms, mean median ${m} ms; psql reading the points median ${r} ms; ratios $(awk -v a="$s" -v b="$m" -v c="$r" 'BEGIN {printf "%.2f, %.2f", a / c, b / c}')"
grep -o '"probability": [0-9.e-]*' target/pbo-sharpe.json | head -1 >&2
