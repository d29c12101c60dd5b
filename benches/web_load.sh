#!/usr/bin/env bash
# The web view under load: `btdb serve` on the 1,000,000-run data set, distinct
# URLs drawn at random (rankings by a metric and a minimum of runs, one strategy's top 50 by
# a metric on a data set, strategy pages, runs), offered at a fixed rate by oha with latency
# corrected for coordinated omission, first without the answer cache, then with it.
#   bash benches/web_load.sh            (RATE=500 SECONDS_EACH=30 by default; BTDB_BIN=path
#                                         serves with another build, to compare in one run)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/support/serve.sh
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
command -v oha >/dev/null || cargo install oha --locked --quiet
bin=${BTDB_BIN:-./target/release/btdb}
rate=${RATE:-500}
seconds=${SECONDS_EACH:-30}
port=18600
urls="http://127.0.0.1:$port/(runs\?strategy=bench_[1-9][0-9]{0,2}&dataset=(IS-2020|OOS-2021)&sort=(sharpe|cagr|sortino|calmar|total_return)|runs/[1-9][0-9]{5}|strategies/bench_[1-9][0-9]{0,2}|\?metric=(sharpe|cagr|sortino|calmar)&min-runs=[1-9][0-9]?)"
ulimit -n 8192 2>/dev/null || true
for cache in --no-cache ""; do
    # shellcheck disable=SC2086
    start_server "$bin" "$port" $cache
    echo "== ${cache:-with the cache}, $rate requests/s offered, 500 connections, ${seconds}s"
    oha -z "${seconds}s" -c 500 -q "$rate" --latency-correction --no-tui \
        --rand-regex-url "$urls" |
        grep -E "Success rate|Requests/sec|50.00%|95.00%|99.00%|^\s+\[[0-9]{3}\]"
    kill "$server"
    wait "$server" 2>/dev/null || true
done
