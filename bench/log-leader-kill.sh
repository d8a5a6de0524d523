#!/usr/bin/env bash
# The replicated log under a NATS server's failure (issue 17): a cluster of 3 nats-server and NODES Quiver nodes
# (scripts/cluster-up.sh, loopback) takes inserts of BATCH rows from WRITERS callers through node 0 (the Milvus Node SDK,
# bench/cluster-load.js `killingest`) into a collection of SHARDS shards; once every writer has 3 batches
# acknowledged, the nats-server leading shard 0's log stream (read from its monitoring `/jsz`) is killed with SIGKILL,
# and the writers go on for AFTER seconds and until each has 3 batches acknowledged after the kill. Then the checker:
# every acknowledged row present, each id once, nothing unsent, each failed batch wholly or not at all (the line's
# `checker`: "ok" or the problems). Prints one JSON line: the write pause (the longest time no batch was acknowledged,
# where it lay against the kill, the first acknowledgement after it, the slowest batch), rows/s before and after, the
# failed batches and their errors; and which server led and which leads after. Exit 1 when the checker found a problem.
# Usage: [NODES=1] [SHARDS=1] [BATCH=100] [WRITERS=4] [AFTER=20] [DIM=128] bench/log-leader-kill.sh (at normal priority,
# in a session of its own: `setsid`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nodes=${NODES:-1}; shards=${SHARDS:-1}; batch=${BATCH:-100}; writers=${WRITERS:-4}; after=${AFTER:-20}; dim=${DIM:-128}
work=$(mktemp -d /tmp/quiver-leader-kill.XXXXXX)
state="$work/cluster"
trap '[ -z "${loader:-}" ] || kill $loader 2>/dev/null || true; QUIVER_NODES=$nodes "$root/scripts/cluster-up.sh" down "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
nice -n 10 dotnet build "$root/src/Quiver.Cluster" -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null
QUIVER_NODES=$nodes "$root/scripts/cluster-up.sh" up "$state" >"$work/up.log"
address=$(grep -o 'milvus [0-9.:]*' "$state/node0.log" | head -1 | cut -d' ' -f2)
# The server (q0, q1, q2) that leads the stream of shard 0's log (named {cluster}-default-bench-wal...), asked of any live server.
leader() {
  local i port
  for i in 0 1 2; do
    [ -f "$state/nats$i.pid" ] || continue
    port=$(cat "$state/nats$i.monitor")
    python3 - "$port" <<'PY' && return 0
import json, sys, urllib.request
jsz = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/jsz?accounts=true&streams=true", timeout=5))
for account in jsz.get("account_details", []):
    for stream in account.get("stream_detail", []):
        name = stream["name"]
        if "-default-bench-wal" in name and stream.get("cluster", {}).get("leader"):
            print(stream["cluster"]["leader"]); sys.exit(0)
sys.exit(1)
PY
  done
  return 1
}
rm -f "$work/ready"
node "$root/bench/cluster-load.js" killingest "$address" bench "$dim" "$shards" "$batch" "$writers" "$after" "$work/ready" >"$work/result.json" &
loader=$!
until [ -f "$work/ready" ]; do kill -0 $loader; sleep 0.1; done
led=$(leader)
victim=${led#q}
killedAt=$(($(date +%s%N) / 1000000))
kill -9 "$(cat "$state/nats$victim.pid")"
kill -USR2 $loader
rm -f "$state/nats$victim.pid"
wait $loader
loader=""
newLeader=$(leader || echo none)
result=$(cat "$work/result.json")
echo "{\"nodes\":$nodes,\"killedLeader\":\"$led\",\"leaderAfter\":\"$newLeader\",\"signalAfterKillMs\":$(( $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signalledAtMs"])' "$work/result.json") - killedAt )),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",${result#\{}"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["checker"] == "ok" else 1)' "$work/result.json"
