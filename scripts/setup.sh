#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine, from the package registries only. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dotnet restore Quiver.slnx --nologo -v quiet
# The official Milvus Node.js SDK for the compatibility tests (tests/compat), at the version package-lock.json pins.
if [ ! -f tests/compat/node_modules/.package-lock.json ] || [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
fi
# Reference vectors for the embedding tests (tests/Quiver.Embeddings.Tests/reference): documentation chunks embedded with
# all-MiniLM-L6-v2 outside Quiver, at the version its package-lock.json pins.
if [ ! -f tests/Quiver.Embeddings.Tests/reference/node_modules/.package-lock.json ] || [ tests/Quiver.Embeddings.Tests/reference/package-lock.json -nt tests/Quiver.Embeddings.Tests/reference/node_modules/.package-lock.json ]; then
  (cd tests/Quiver.Embeddings.Tests/reference && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts)
fi
# The web console's front end (console/), which the server's build bundles.
./scripts/console-packages.sh
# Debian's headless Chromium and its WebDriver for the console's browser tests (tests/Quiver.Console.Tests); the tests
# never download a browser.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
  else
    echo "setup: the console tests need Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2
  fi
fi
# Debian's nats-server for the cluster tests (tests/Quiver.Cluster.Tests start a 3-server JetStream cluster on loopback).
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server >/dev/null
  else
    echo "setup: the cluster tests need Debian's nats-server: sudo apt-get install nats-server" >&2
  fi
fi
