# Sourced by the cluster benchmarks (bench/cluster.sh, bench/log-throughput.sh), after `root` and `work` are set: builds
# the CLI and the node (so that scripts/cluster-up.sh's own build finds the node up to date), then starts a standalone
# `quiver serve` over "$work/standalone" on a free loopback port in the background and waits until it serves. Sets
# `port` and `server` (its PID); the caller stops it (its EXIT trap).
nice -n 10 dotnet build "$root/src/Quiver.Cli" -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null
nice -n 10 dotnet build "$root/src/Quiver.Cluster" -c Release --nologo -v quiet -clp:ErrorsOnly >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
dotnet "$root/src/Quiver.Cli/bin/Release/net10.0/quiver.dll" serve --data "$work/standalone" --port "$port" >"$work/standalone.log" 2>&1 &
server=$!
until grep -q "quiver: serving " "$work/standalone.log" 2>/dev/null; do kill -0 $server; sleep 0.5; done
