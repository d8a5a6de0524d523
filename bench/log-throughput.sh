#!/usr/bin/env bash
# The log's append throughput through the Milvus API (issue 17): a standalone `quiver serve` (its local log, fsync per
# group) and a cluster of one node over 3 nats-server (scripts/cluster-up.sh; every write acknowledged once JetStream
# stored it on 2 of 3 servers, appends pipelined by the shard's log) get the same inserts through the Milvus Node SDK
# (bench/cluster-load.js `write`): for each CLIENTS:BATCH of SHAPES (default "1:1 16:1 4:100 4:1000": one caller of
# single rows, 16 callers of single rows, 4 callers of 100-row and of 1000-row batches), SECONDS of inserts on the
# standalone server, then on the node, then on the standalone server again (the load drifts: each node figure sits
# between two standalone ones). One JSON line each: calls/s, rows/s, MB/s of row data (8 + 4·DIM bytes a row),
# P50/P99 latency of a call, and the load average.
# Usage: [SHAPES="1:1 16:1 4:100 4:1000"] [SECONDS_EACH=15] [DIM=128] bench/log-throughput.sh (at normal priority, `setsid`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shapes=${SHAPES:-1:1 16:1 4:100 4:1000}; seconds=${SECONDS_EACH:-15}; dim=${DIM:-128}
work=$(mktemp -d /tmp/quiver-log-throughput.XXXXXX)
load() { node "$root/bench/cluster-load.js" "$@"; }
line() { echo "{\"target\":\"$1\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",${2#\{}"; }
# (down only while the folder is there: cluster-up.sh makes its state folder)
trap 'kill ${server:-} 2>/dev/null || true; [ ! -d "$work/cluster" ] || QUIVER_NODES=1 "$root/scripts/cluster-up.sh" down "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
source "$root/bench/standalone.sh"
QUIVER_NODES=1 "$root/scripts/cluster-up.sh" up "$work/cluster" >"$work/up.log"
node_address=$(grep -o 'milvus [0-9.:]*' "$work/cluster/node0.log" | head -1 | cut -d' ' -f2)
echo "{\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"shapes\":\"$shapes\",\"seconds\":$seconds,\"dim\":$dim}"
# One collection per target, created empty (0 rows) by the `ingest` step's create, so each target's inserts go to one shard.
load ingest "127.0.0.1:$port" log 0 "$dim" 1 1 >/dev/null
load ingest "$node_address" log 0 "$dim" 1 1 >/dev/null
key=10000000
for shape in $shapes; do
  clients=${shape%%:*}; batch=${shape##*:}
  for target in standalone node standalone-again; do
    address="127.0.0.1:$port"; [ "$target" != node ] || address=$node_address
    line "$target" "$(load write "$address" log "$dim" "$clients" "$seconds" "$key" "$batch")"
    # Keys never repeat: each step starts far past what the last could have written.
    key=$((key + 100000000))
  done
done
echo "{\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
