#!/usr/bin/env bash
# What each kind of page of the web view costs: `btdb serve --no-cache` on the 1,000,000-run
# data set, one kind of page at a time (the URL patterns of benches/web_load.sh), as many as 50
# connections get answered in 10 s: answers a second at saturation, on the same 2 cores.
#   bash benches/web_pages.sh            (BTDB_BIN=path serves with another build)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/support/serve.sh
export BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home}
bash benches/data_1m.sh
command -v oha >/dev/null || cargo install oha --locked --quiet
bin=${BTDB_BIN:-./target/release/btdb}
port=18601
start_server "$bin" "$port" --no-cache
trap 'kill $server 2>/dev/null || true' EXIT
for page in \
    "runs\?strategy=bench_[1-9][0-9]{0,2}&dataset=(IS-2020|OOS-2021)&sort=(sharpe|cagr|sortino|calmar|total_return)" \
    "runs/[1-9][0-9]{5}" \
    "strategies/bench_[1-9][0-9]{0,2}" \
    "\?metric=(sharpe|cagr|sortino|calmar)&min-runs=[1-9][0-9]?"; do
    echo "== /$page"
    oha -z 10s -c 50 --no-tui --rand-regex-url "http://127.0.0.1:$port/($page)" |
        grep -E "Requests/sec|50.00%|95.00%|^\s+\[[0-9]{3}\]"
done
