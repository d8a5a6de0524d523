#!/usr/bin/env bash
# Installs the web console's front-end packages (console/: esbuild, Preact and uPlot at the versions package-lock.json
# pins) when they are missing or older than the lock file. The server's build bundles the console from them and embeds
# the result; nothing is fetched at build or run time. Called by scripts/setup.sh and by ./quiver before it builds, so
# that `./quiver serve` works on a fresh clone. Idempotent; its output goes to standard error.
set -euo pipefail
console=$(cd "$(dirname "${BASH_SOURCE[0]}")/../console" && pwd)
if [ ! -f "$console/node_modules/.package-lock.json" ] || [ "$console/package-lock.json" -nt "$console/node_modules/.package-lock.json" ]; then
  echo "installing the console's front-end packages (npm ci in console/)..." >&2
  (cd "$console" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
