#!/usr/bin/env bash
# Stops the PostgreSQL clusters the tests started and left running for the next run (the test
# cluster, and the Citus nodes where Citus is installed); with --remove, removes their files
# too. The tests name where they keep them in target/tmp/test-root.
set -euo pipefail
cd "$(dirname "$0")/.."

root_file=target/tmp/test-root
[ -f "$root_file" ] || exit 0
root=$(cat "$root_file")
[ -d "$root" ] || exit 0
btdb=target/debug/btdb
[ -x "$btdb" ] || cargo build --quiet --locked --bin btdb

for home in "$root"/cluster "$root"/citus/*; do
    if [ -d "$home/pg/data" ]; then
        BTDB_HOME="$home" "$btdb" db stop >/dev/null || echo "could not stop the cluster in $home" >&2
    fi
done
if [ "${1:-}" = --remove ]; then
    rm -rf "$root" "$root_file"
fi
