#!/usr/bin/env bash
# Cluster figures (issue 17), every process on loopback, started and stopped here by PID:
#  1. a standalone `quiver serve` and clusters of 1, 2 and 3 nodes (scripts/cluster-up.sh, 3 nats-server each time) get
#     the same load through the Milvus Node.js SDK (bench/cluster-load.js): ingest ROWS x DIM in batches of BATCH into a
#     collection of SHARDS shards, HNSW declared (served only by sealed segments: at the default size every search is
#     exact over growing rows, see cluster-load.js), load, then top-10 searches from CLIENTS callers for SECONDS, then 1-row inserts
#     from CLIENTS callers for SECONDS; then the resident memory (VmRSS) of the server or of each node, before the
#     collection was created (`rssBeforeKiB`) and after the load (`rssKiB`): their difference is what the collection
#     and its load cost each process;
#     the standalone server is searched and written a second time after the clusters (`standalone-after`);
#  2. on the 3-node cluster, the node that holds shard 0 is killed with SIGKILL and the first answered search and the
#     first acknowledged insert (of a key routed to shard 0) through another node are timed from the kill.
# Usage: bench/cluster.sh [ROWS=20000] [DIM=128] [BATCH=1000] [CLIENTS=4] [SECONDS=20] [SHARDS=3], or as environment
# variables ROWS, DIM, BATCH, CLIENTS, SECONDS_EACH, SHARDS (e.g. `SHARDS=1 bench/cluster.sh`); NODES, the cluster sizes
# measured (default "1 2 3"; failover only with 3); INDEXED=1 flushes every row into sealed segments and waits until
# the HNSW index covers them before the searches (on every target), so an index serves every search at any size.
# After the load each process's own account of its memory is read from its `GET /metrics` (`gcMiB`: the managed heap
# after the last collection, its generations 0, 1, 2, large and pinned object heaps, the free space inside it, the memory
# the collector holds from the OS, and the generation the last collection collected).
# Prints one JSON line per measurement, each with the load average (`load`) when it ended; at start and end too. The
# builds run under `nice -n 10`; the measured processes (servers, nodes, NATS and the load) at the caller's priority,
# so on a shared machine run the script itself at normal priority and in a session of its own (`setsid`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${1:-${ROWS:-20000}}; dim=${2:-${DIM:-128}}; batch=${3:-${BATCH:-1000}}; clients=${4:-${CLIENTS:-4}}
seconds=${5:-${SECONDS_EACH:-20}}; shards=${6:-${SHARDS:-3}}
sizes_measured=${NODES:-1 2 3}; indexed=${INDEXED:-0}
work=$(mktemp -d /tmp/quiver-cluster-bench.XXXXXX)
load() { node "$root/bench/cluster-load.js" "$@"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
# The anonymous part of the resident memory (the managed heap, native buffers; not mapped files such as sealed segments).
anon() { awk '/RssAnon/ { print $2 }' "/proc/$1/status"; }
# One JSON line for TARGET from a JSON object (its braces dropped), with the load average now.
# What a process's /metrics says holds its memory (ProcessMetrics), MiB, as one JSON object.
gc() {
  curl -sf "http://$1/metrics" | python3 -c '
import json, sys
m = {}
for line in sys.stdin:
    if line.startswith("quiver_gc_") or line.startswith("quiver_process_working_set"):
        name, value = line.rsplit(" ", 1)
        m[name] = float(value)
mib = lambda v: round(v / 1048576, 1)
g = lambda n: mib(m.get("quiver_gc_generation_bytes{generation=\"%s\"}" % n, 0))
print(json.dumps({"heap": mib(m["quiver_gc_heap_bytes"]), "gen0": g("0"), "gen1": g("1"), "gen2": g("2"), "loh": g("loh"), "poh": g("poh"),
  "fragmented": mib(m["quiver_gc_fragmented_bytes"]), "committed": mib(m["quiver_gc_committed_bytes"]),
  "lastGen": int(m["quiver_gc_last_collection_generation"]), "conserve": int(m["quiver_gc_settings{setting=\"conserve_memory\"}"])}))'
}
line() { echo "{\"target\":\"$1\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",${2#\{}"; }
# Runs one load step for TARGET and prints its line; a failed step stops the script (set -e).
measure() { local target=$1 answer; shift; answer=$(load "$@"); line "$target" "$answer"; }
echo "{\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"rows\":$rows,\"dim\":$dim,\"batch\":$batch,\"clients\":$clients,\"seconds\":$seconds,\"shards\":$shards,\"nodes\":\"$sizes_measured\",\"indexed\":$indexed}"

# Standalone: the CLI's server over a fresh folder (bench/standalone.sh builds the CLI and the node, starts it, sets
# port and server).
# (down only while the folder is there: cluster-up.sh makes its state folder, which would leave $work behind after a run)
trap 'kill ${server:-} 2>/dev/null || true; [ ! -d "$work/cluster" ] || QUIVER_NODES=3 "$root/scripts/cluster-up.sh" down "$work/cluster" >/dev/null 2>&1 || true' EXIT
source "$root/bench/standalone.sh"
before=$(rss $server)
measure standalone ingest "127.0.0.1:$port" bench "$rows" "$dim" "$batch" 1 "$indexed"
measure standalone search "127.0.0.1:$port" bench "$dim" "$clients" "$seconds"
measure standalone write "127.0.0.1:$port" bench "$dim" "$clients" "$seconds"
line standalone "{\"rssBeforeKiB\":[$before],\"rssKiB\":[$(rss $server)],\"rssAnonKiB\":[$(anon $server)],\"gcMiB\":[$(gc "127.0.0.1:$port")]}"
# The server stays up, idle, for a second round after the clusters' (the machine's load drifts over a run).

for nodes in $sizes_measured; do
  state="$work/cluster"
  rm -rf "$state"
  QUIVER_NODES=$nodes "$root/scripts/cluster-up.sh" up "$state" >"$work/up$nodes.log"
  address=$(grep -o 'milvus [0-9.:]*' "$state/node0.log" | head -1 | cut -d' ' -f2)
  target="cluster-$nodes"
  before=""
  for ((i = 0; i < nodes; i++)); do before="$before,$(rss "$(cat "$state/node$i.pid")")"; done
  measure "$target" ingest "$address" bench "$rows" "$dim" "$batch" "$shards" "$indexed"
  measure "$target" search "$address" bench "$dim" "$clients" "$seconds"
  measure "$target" write "$address" bench "$dim" "$clients" "$seconds"
  sizes=""
  anons=""
  gcs=""
  for ((i = 0; i < nodes; i++)); do
    sizes="$sizes,$(rss "$(cat "$state/node$i.pid")")"; anons="$anons,$(anon "$(cat "$state/node$i.pid")")"
    gcs="$gcs,$(gc "$(grep -o 'milvus [0-9.:]*' "$state/node$i.log" | head -1 | cut -d' ' -f2)")"
  done
  # Which node activated which shard (node i's log names the shard grains active there).
  held=""
  for ((i = 0; i < nodes; i++)); do
    held="$held,[$( (grep -o 'shard default/bench[/0-9]* active here' "$state/node$i.log" || true) | awk '{ n = split($2, p, "/"); printf "%s%s", (NR > 1 ? "," : ""), (n == 3 ? p[3] : 0) }')]"
  done
  line "$target" "{\"rssBeforeKiB\":[${before#,}],\"rssKiB\":[${sizes#,}],\"rssAnonKiB\":[${anons#,}],\"gcMiB\":[${gcs#,}],\"shardsByNode\":[${held#,}]}"
  if [ "$nodes" = 3 ]; then
    # Failover: the node whose log says it activated shard 0 last dies; the others are asked until they answer.
    holder=$(grep -l "shard default/bench active here" "$state"/node*.log | head -1 | sed 's/.*node\([0-9]\).log/\1/')
    other=$(( (holder + 1) % 3 ))
    other_address=$(grep -o 'milvus [0-9.:]*' "$state/node$other.log" | head -1 | cut -d' ' -f2)
    # Both callers are started and connected before the kill and asked at once after it (SIGUSR2): a write asked only
    # after the first search answered would be timed from the kill plus that wait, and a caller started after the kill
    # plus its own start (seconds of loading the SDK under load).
    rm -f "$work/search.ready" "$work/write.ready"
    node "$root/bench/cluster-load.js" until "$other_address" bench "$dim" search 1 "$work/search.ready" >"$work/searched.json" & searching=$!
    node "$root/bench/cluster-load.js" until "$other_address" bench "$dim" write "$shards" "$work/write.ready" >"$work/written.json" & writing=$!
    until [ -f "$work/search.ready" ] && [ -f "$work/write.ready" ]; do kill -0 $searching; kill -0 $writing; sleep 0.1; done
    killed=$(($(date +%s%N) / 1000000))
    kill -9 "$(cat "$state/node$holder.pid")"
    kill -USR2 $searching $writing
    rm -f "$state/node$holder.pid"
    wait $searching $writing
    s=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["answeredAtMs"])' "$work/searched.json")
    w=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["answeredAtMs"])' "$work/written.json")
    line "$target" "{\"failover\":{\"killedNode\":$holder,\"firstSearchMs\":$((s - killed)),\"firstWriteMs\":$((w - killed)),\"search\":$(cat "$work/searched.json"),\"write\":$(cat "$work/written.json")}}"
  fi
  QUIVER_NODES=$nodes "$root/scripts/cluster-up.sh" down "$state" >/dev/null
done
# The standalone server again, searched and written as before (its collection now also holds the first round's 1-row
# inserts, unindexed), so each cluster's figures sit between two standalone rounds.
measure standalone-after search "127.0.0.1:$port" bench "$dim" "$clients" "$seconds"
measure standalone-after write "127.0.0.1:$port" bench "$dim" "$clients" "$seconds" 30000000
kill $server; wait $server 2>/dev/null || true
echo "{\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
rm -rf "$work"
