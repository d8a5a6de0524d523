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
# WARM=ROWS (default 0: none) first gives every process a small collection of its own (`warm`: ROWS rows in SHARDS
# shards, searched and written for SECONDS each, as the measured collection is) and reads its memory again
# (`rssWarmKiB`, `gcWarmMiB`): what a process grows by once it has served ingest, searches and writes at all (code paged
# in, JIT output, the collector's budgets), which does not depend on how many rows it holds, is then apart from what the
# measured collection adds (`rssKiB` - `rssWarmKiB`), the part that should fall as 1/N. Each point also gives the
# resident memory's anonymous and file-backed parts (`rss...AnonKiB`, `rss...FileKiB`, /proc/PID/status), its split
# by mapping (`rss...Kinds`, `kinds` below) and its thread count; `bench/cluster-memory.py RESULT.jsonl` tabulates them.
# Prints one JSON line per measurement, each with the load average (`load`) when it ended; at start and end too. The
# builds run under `nice -n 10`; the measured processes (servers, nodes, NATS and the load) at the caller's priority,
# so on a shared machine run the script itself at normal priority and in a session of its own (`setsid`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${1:-${ROWS:-20000}}; dim=${2:-${DIM:-128}}; batch=${3:-${BATCH:-1000}}; clients=${4:-${CLIENTS:-4}}
seconds=${5:-${SECONDS_EACH:-20}}; shards=${6:-${SHARDS:-3}}
sizes_measured=${NODES:-1 2 3}; indexed=${INDEXED:-0}; warm_rows=${WARM:-0}
work=$(mktemp -d /tmp/quiver-cluster-bench.XXXXXX)
load() { node "$root/bench/cluster-load.js" "$@"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
# The anonymous part of the resident memory (the managed heap, native buffers; not mapped files such as sealed segments).
anon() { awk '/RssAnon/ { print $2 }' "/proc/$1/status"; }
# The file-backed part (code and data of the runtime, the assemblies and native libraries paged in; mapped files).
file() { awk '/RssFile/ { print $2 }' "/proc/$1/status"; }
# A process's resident memory by what its mappings are (/proc/PID/smaps), MiB, as one JSON object: `dll` the managed
# assemblies' files, `so` native libraries (the runtime's own among them), `exec` the runtime's executable memory (JIT
# output and stubs: with W^X on, a shared memfd "doublemapper", counted as RssShmem), `anon` unnamed anonymous memory
# (the managed heap, native allocations, thread stacks), `other` the rest (named files such as mapped segments, [stack]).
kinds() {
  python3 - "/proc/$1/smaps" <<'PY'
import json, sys
kib = {"dll": 0, "so": 0, "exec": 0, "anon": 0, "other": 0}
kind = "other"
for line in open(sys.argv[1]):
    head = line.split()
    if not head:
        continue
    if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
        name = head[5] if len(head) > 5 else ""
        kind = ("dll" if name.endswith(".dll") else "so" if ".so" in name else "exec" if "doublemapper" in name
                else "anon" if name in ("", "[heap]") else "other")
    elif head[0] == "Rss:":
        kib[kind] += int(head[1])
print(json.dumps({k: round(v / 1024, 1) for k, v in kib.items()}))
PY
}
# VmRSS, RssAnon, RssFile, the kinds above and the thread count of each PID, as JSON arrays' bodies: `points PREFIX
# PID...` prints "PREFIXKiB":[..],"PREFIXAnonKiB":[..],"PREFIXFileKiB":[..],"PREFIXKinds":[..],"PREFIXThreads":[..].
points() {
  local prefix=$1 r="" a="" f="" pid; shift
  for pid in "$@"; do r="$r,$(rss "$pid")"; a="$a,$(anon "$pid")"; f="$f,$(file "$pid")"; done
  local k="" t=""; for pid in "$@"; do k="$k,$(kinds "$pid")"; t="$t,$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")"; done
  echo "\"${prefix}KiB\":[${r#,}],\"${prefix}AnonKiB\":[${a#,}],\"${prefix}FileKiB\":[${f#,}],\"${prefix}Kinds\":[${k#,}],\"${prefix}Threads\":[${t#,}]"
}
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
# The warm-up collection (WARM above) at ADDRESS with SHARDS shards; its figures are not printed.
warm() {
  [ "$warm_rows" -gt 0 ] || return 0
  load ingest "$1" warm "$warm_rows" "$dim" "$batch" "$2" 0 >/dev/null
  load search "$1" warm "$dim" "$clients" "$seconds" >/dev/null
  load write "$1" warm "$dim" "$clients" "$seconds" >/dev/null
}
echo "{\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"warm\":$warm_rows,\"rows\":$rows,\"dim\":$dim,\"batch\":$batch,\"clients\":$clients,\"seconds\":$seconds,\"shards\":$shards,\"nodes\":\"$sizes_measured\",\"indexed\":$indexed}"

# Standalone: the CLI's server over a fresh folder (bench/standalone.sh builds the CLI and the node, starts it, sets
# port and server).
# (down only while the folder is there: cluster-up.sh makes its state folder, which would leave $work behind after a run)
trap 'kill ${server:-} 2>/dev/null || true; [ ! -d "$work/cluster" ] || QUIVER_NODES=3 "$root/scripts/cluster-up.sh" down "$work/cluster" >/dev/null 2>&1 || true' EXIT
source "$root/bench/standalone.sh"
before=$(points rssBefore $server)
idle_gc=$(gc "127.0.0.1:$port")
warm "127.0.0.1:$port" 1
warmed=$(points rssWarm $server)
warm_gc=$(gc "127.0.0.1:$port")
measure standalone ingest "127.0.0.1:$port" bench "$rows" "$dim" "$batch" 1 "$indexed"
measure standalone search "127.0.0.1:$port" bench "$dim" "$clients" "$seconds"
measure standalone write "127.0.0.1:$port" bench "$dim" "$clients" "$seconds"
line standalone "{$before,$warmed,$(points rss $server),\"gcBeforeMiB\":[$idle_gc],\"gcWarmMiB\":[$warm_gc],\"gcMiB\":[$(gc "127.0.0.1:$port")]}"
# The server stays up, idle, for a second round after the clusters' (the machine's load drifts over a run).

for nodes in $sizes_measured; do
  state="$work/cluster"
  rm -rf "$state"
  QUIVER_NODES=$nodes "$root/scripts/cluster-up.sh" up "$state" >"$work/up$nodes.log"
  address=$(grep -o 'milvus [0-9.:]*' "$state/node0.log" | head -1 | cut -d' ' -f2)
  target="cluster-$nodes"
  pids=(); grpc=()
  for ((i = 0; i < nodes; i++)); do
    pids+=("$(cat "$state/node$i.pid")"); grpc+=("$(grep -o 'milvus [0-9.:]*' "$state/node$i.log" | head -1 | cut -d' ' -f2)")
  done
  before=$(points rssBefore "${pids[@]}")
  idle_gcs=""
  for ((i = 0; i < nodes; i++)); do idle_gcs="$idle_gcs,$(gc "${grpc[i]}")"; done
  warm "$address" "$shards"
  warmed=$(points rssWarm "${pids[@]}")
  warm_gcs=""
  for ((i = 0; i < nodes; i++)); do warm_gcs="$warm_gcs,$(gc "${grpc[i]}")"; done
  measure "$target" ingest "$address" bench "$rows" "$dim" "$batch" "$shards" "$indexed"
  measure "$target" search "$address" bench "$dim" "$clients" "$seconds"
  measure "$target" write "$address" bench "$dim" "$clients" "$seconds"
  loaded=$(points rss "${pids[@]}")
  gcs=""
  for ((i = 0; i < nodes; i++)); do gcs="$gcs,$(gc "${grpc[i]}")"; done
  # Which node activated which shard (node i's log names the shard grains active there).
  held=""
  for ((i = 0; i < nodes; i++)); do
    held="$held,[$( (grep -o 'shard default/bench[/0-9]* active here' "$state/node$i.log" || true) | awk '{ n = split($2, p, "/"); printf "%s%s", (NR > 1 ? "," : ""), (n == 3 ? p[3] : 0) }')]"
  done
  line "$target" "{$before,$warmed,$loaded,\"gcBeforeMiB\":[${idle_gcs#,}],\"gcWarmMiB\":[${warm_gcs#,}],\"gcMiB\":[${gcs#,}],\"shardsByNode\":[${held#,}]}"
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
