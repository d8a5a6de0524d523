#!/usr/bin/env bash
# Builds the native hnswlib peer (bench/peers/hnswlib_native.cpp against Debian's libhnswlib-dev headers) with
# g++ -O3 -march=native into artifacts/peers/, only when the source or this script is newer than the binary.
# Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/artifacts/peers"
bin="$out/hnswlib_native"
src="$here/hnswlib_native.cpp"
mkdir -p "$out"
if [[ ! -x "$bin" || "$src" -nt "$bin" || "$0" -nt "$bin" ]]; then
    if [[ ! -f /usr/include/hnswlib/hnswalg.h ]]; then
        echo "hnswlib headers missing: apt-get install libhnswlib-dev" >&2
        exit 1
    fi
    g++ -O3 -march=native -std=c++17 -pthread -o "$bin.tmp" "$src"
    mv "$bin.tmp" "$bin"
fi
echo "$bin"
