#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh machine, from the package registries only. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dotnet restore Quiver.slnx --nologo -v quiet
