#!/usr/bin/env bash
# What a cluster node pays per shard it serves (issue 17, memory per node): one node (scripts/cluster-up.sh, 3
# nats-server), its resident memory (VmRSS, RssAnon) idle, then after each collection of STEPS (default "1 2 3": collections
# of 1, 2 and 3 shards, so 1, 3 and 6 collection shards, plus the catalog's own shard from the first create) is created,
# loaded and counted (bench/cluster-load.js `empty`), each with ROWS rows (default 0: empty shards; e.g. ROWS=120000
# STEPS=3 for one collection of 3 shards). Each figure is taken SETTLE seconds (default 10) after its step.
# Also the node's listening TCP sockets (from /proc/net/tcp, by the node's socket inodes): a shard that runs a
# server of its own adds one. Prints one JSON line per step with the load average.
# Usage: ROWS=0 STEPS="1 2 3" SETTLE=10 bench/shard-memory.sh (run it at normal priority, in a session of its own: `setsid`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rows=${ROWS:-0}; steps=${STEPS:-1 2 3}; settle=${SETTLE:-10}; dim=${DIM:-128}
work=$(mktemp -d /tmp/quiver-shard-memory.XXXXXX)
state="$work/cluster"
trap 'QUIVER_NODES=1 "$root/scripts/cluster-up.sh" down "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
nice -n 10 dotnet build "$root/src/Quiver.Cluster" -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null
QUIVER_NODES=1 "$root/scripts/cluster-up.sh" up "$state" >"$work/up.log"
pid=$(cat "$state/node0.pid")
address=$(grep -o 'milvus [0-9.:]*' "$state/node0.log" | head -1 | cut -d' ' -f2)
field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
# Listening TCP sockets (state 0A) whose inode is one of the node's open sockets.
listeners() {
  local inodes
  inodes=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | tr -dc '0-9\n' | sort -u)
  awk 'NR > 1 && $4 == "0A" { print $10 }' /proc/net/tcp /proc/net/tcp6 | sort -u | comm -12 - <(echo "$inodes") | wc -l
}
shards=0
step() {
  sleep "$settle"
  echo "{\"shards\":$shards,\"rows\":$rows,\"rssKiB\":$(field VmRSS),\"rssAnonKiB\":$(field RssAnon),\"threads\":$(field Threads),\"listeners\":$(listeners),\"shardsActive\":$(grep -c 'active here' "$state/node0.log" || true),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
}
step
for n in $steps; do
  node "$root/bench/cluster-load.js" empty "$address" "empty$n" "$dim" "$n" "$rows" >/dev/null
  shards=$((shards + n))
  step
done
