#!/usr/bin/env bash
# Runs the peers and smsdesk's dispatch benchmark in one session, so that the ratio is
# measured on the same (noisy) machine at the same time. Needs root for the peers' packages.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
PEERS=${PEERS:-../shared/peers}            # the peers' scripts (outside the project)
BENCH_DB=${BENCH_DB:-smsdesk_bench}        # dropped and created again: use your own name
mkdir -p bench/out
echo "=== Kannel ($PEERS/kannel.sh) ==="
bash "$PEERS/kannel.sh" | tee bench/out/kannel.txt
kannel=$(grep 'raw-socket' bench/out/kannel.txt | grep -oE 'end-to-end [0-9]+' | grep -oE '[0-9]+' | tail -1 || echo 0)
ref=$kannel  # the raw-socket generator's end-to-end median: the server's capacity (peers/README.md)
echo "=== smsdesk on SQLite ==="
.venv/bin/python bench/dispatch.py --messages "$N" --kannel "$ref" | tee bench/out/sqlite.txt
echo "=== smsdesk on PostgreSQL ==="
.venv/bin/python bench/dispatch.py --messages "$N" --kannel "$ref" \
  --database-url "postgresql://postgres@127.0.0.1:5432/$BENCH_DB" | tee bench/out/postgres.txt
