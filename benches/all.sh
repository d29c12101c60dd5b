#!/usr/bin/env bash
# Every figure of BENCHMARKS.md, each beside the baseline measured in the same run:
#   recording against raw `psql \copy` (ingest.sh), a first batch into a fresh database
#   (record_fresh.sh; with BASE_BIN, against that build), what keys cost COPY (copy_costs.sh),
#   queries on 1,000,000 runs against the N+1 loader (queries.sh, which builds the data set
#   once in target/bench-home), the criterion benchmarks of record, rank, compare and show,
#   a team's load on one server (load.sh), deleting runs (delete.sh) and the probability of
#   backtest overfitting (pbo.sh), the fixed cost of a read command (fixed_cost.sh) and
#   `btdb serve` under load, with and without its answer cache (serve.sh), the web view's
#   pages (web.sh, web_load.sh at 500 users, web_pages.sh each page alone), and one server
#   against a local Citus cluster (citus.sh, where Citus is installed).
#   bash benches/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash benches/ingest.sh
bash benches/record_fresh.sh
bash benches/copy_costs.sh
bash benches/queries.sh
BTDB_HOME=${BTDB_HOME:-$PWD/target/bench-home} cargo bench --quiet --bench commands
bash benches/load.sh
bash benches/delete.sh
bash benches/pbo.sh
bash benches/fixed_cost.sh
bash benches/serve.sh
bash benches/web.sh
bash benches/web_load.sh
bash benches/web_pages.sh
bash benches/frames.sh
# One server against a local Citus cluster, where Citus is installed (docs/scale-out.md).
if [ -f "${BTDB_CITUS_PG_BIN:-/usr/lib/postgresql/15/bin}/../lib/citus.so" ]; then
    bash benches/citus.sh
else
    echo "skipped benches/citus.sh: Citus is not installed" >&2
fi
