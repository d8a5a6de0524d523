#!/usr/bin/env bash
# Starts a Quiver cluster on loopback: 3 nats-server (one JetStream cluster) and 3 Quiver nodes (Orleans silos that
# each serve Milvus's gRPC API), each a background process whose PID is kept in the state folder. Prints where each
# listens (each NATS server also serves its monitoring on a loopback port, kept in natsN.monitor: `/jsz` says which
# server leads each stream, as bench/log-leader-kill.sh reads it). `scripts/cluster-up.sh down` stops them by those PIDs. Installs nothing but what ./scripts/setup.sh installs.
# Usage: scripts/cluster-up.sh [up|down] [STATE_FOLDER (default: .cluster)]; QUIVER_NODES=N starts N nodes (default 3).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
action=${1:-up}
nodes=${QUIVER_NODES:-3}
state=$(mkdir -p "${2:-$root/.cluster}" && cd "${2:-$root/.cluster}" && pwd)

stop_all() {
  # The nodes first: a node stopping checkpoints its shards in JetStream, and with the NATS servers gone first its stop
  # did not end within 3 minutes (seen in the cluster benchmark after its failover step).
  for pidfile in "$state"/node*.pid "$state"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$pidfile"
  done
}

if [ "$action" = down ]; then
  stop_all
  echo "cluster stopped"
  exit 0
fi

nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$nats" ] || { echo "cluster-up: nats-server is not installed: run ./scripts/setup.sh" >&2; exit 1; }
if ls "$state"/*.pid >/dev/null 2>&1; then
  echo "cluster-up: a cluster runs from $state already: scripts/cluster-up.sh down first" >&2
  exit 1
fi

if ! build=$(dotnet build "$root/src/Quiver.Cluster" -c Release --nologo -v quiet -clp:ErrorsOnly 2>&1); then
  echo "cluster-up: building the node failed:" >&2
  echo "$build" >&2
  exit 1
fi
node_dll="$root/src/Quiver.Cluster/bin/Release/net10.0/Quiver.Cluster.dll"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

client=(); route=(); monitor=()
for i in 0 1 2; do client[i]=$(free_port); route[i]=$(free_port); monitor[i]=$(free_port); done
urls=""
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [ "$j" = "$i" ] || routes="$routes nats-route://127.0.0.1:${route[j]},"; done
  mkdir -p "$state/nats$i"
  cat > "$state/nats$i.conf" <<CONF
server_name: q$i
listen: 127.0.0.1:${client[i]}
http: 127.0.0.1:${monitor[i]}
jetstream { store_dir: "$state/nats$i" }
cluster { name: quiver, listen: 127.0.0.1:${route[i]}, routes: [${routes%,}] }
CONF
  "$nats" -c "$state/nats$i.conf" >"$state/nats$i.log" 2>&1 &
  echo $! >"$state/nats$i.pid"
  echo "${monitor[i]}" >"$state/nats$i.monitor"
  urls="$urls,nats://127.0.0.1:${client[i]}"
  echo "nats-server $i: nats://127.0.0.1:${client[i]} (pid $!, monitoring http://127.0.0.1:${monitor[i]})"
done
urls=${urls#,}

for ((i = 0; i < nodes; i++)); do
  cat > "$state/node$i.json" <<CONF
{ "cluster": "quiver", "nats": "$urls", "dataPath": "$state/data$i", "host": "127.0.0.1", "milvusPort": 0, "siloPort": $(free_port) }
CONF
  dotnet "$node_dll" node --config "$state/node$i.json" >"$state/node$i.log" 2>&1 &
  echo $! >"$state/node$i.pid"
done
for ((i = 0; i < nodes; i++)); do
  # Each node prints its ready line once it joined the cluster; JetStream answers once its servers elected a leader.
  until grep -q "quiver node ready" "$state/node$i.log"; do
    kill -0 "$(cat "$state/node$i.pid")" 2>/dev/null || { echo "cluster-up: node $i exited:" >&2; cat "$state/node$i.log" >&2; stop_all; exit 1; }
    sleep 0.5
  done
  echo "node $i: $(grep -o 'milvus [0-9.:]*' "$state/node$i.log" | head -1) (gRPC and REST v2)"
done
echo "cluster up; logs and PIDs in $state; stop with: scripts/cluster-up.sh down $state"
