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
