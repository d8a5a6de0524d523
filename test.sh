#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, builds, runs every test project, then
# runs the distance-kernel tests again with AVX-512 disabled, and prints one closing line "N passed, N failed, N skipped".
# Long tiers are off by default; QUIVER_LONG=1 turns them on (see docs/testing.md).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
log=$(mktemp)
# The docs runner (tests/Quiver.Docs.Tests) appends one line per page it ran: "PAGE csharp=N shell=N node=N ...".
export QUIVER_DOCS_REPORT=$(mktemp)
trap 'rm -f "$log" "$QUIVER_DOCS_REPORT"' EXIT

./scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

status=0
dotnet build Quiver.slnx -c Release --nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
# The NuGet packages (docs/packages.md) from that build, into artifacts/packages: tests/Quiver.Packages.Tests adds them
# by ID to a fresh project, and a release publishes them from there.
rm -rf artifacts/packages
dotnet pack Quiver.slnx -c Release --no-build --nologo -v quiet -o artifacts/packages || { echo "pack failed"; echo "0 passed, 1 failed"; exit 1; }

run() {
  # $@: extra arguments to dotnet test
  dotnet test Quiver.slnx -c Release --no-build --nologo "$@" 2>&1 | tee -a "$log" || status=1
}

run
# The same kernels on the Vector256 path: CI machines may lack AVX-512, and this path must stay correct. .NET 10 reads
# DOTNET_EnableAVX512 (DOTNET_EnableAVX512F alone no longer turns Vector512 off); both are set, and VectorPathTests
# fails if Vector512 is still on.
DOTNET_EnableAVX512F=0 DOTNET_EnableAVX512=0 run --filter "Category=Kernels"

awk '{ p++; for (i = 2; i <= NF; i++) { split($i, kv, "="); n[kv[1]] += kv[2] } }
  END { printf "docs: %d pages, %d blocks run (C# %d, shell %d, Node %d), %d outputs compared, %d files written, %d shown only\n",
        p, n["csharp"] + n["shell"] + n["node"], n["csharp"], n["shell"], n["node"], n["output"], n["file"], n["shown"] }' "$QUIVER_DOCS_REPORT"
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
