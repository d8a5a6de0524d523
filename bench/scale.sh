#!/usr/bin/env bash
# Search cost against collection size and transport, after VectorDBBench's method (serial p99, QPS at 1/10/20 clients,
# top-10 and top-100, filters keeping 1% and 99% of rows), plus the ingest paths. Writes bench/results/scale.{md,csv,svg}
# and bench/results/ingest-path.md. Sizes are seeded synthetic 128-d sets (quiver bench data prepares each once, with
# exact ground truth); FMNIST=1 adds Fashion-MNIST (Debian's dataset-fashion-mnist).
#   SIZES="100000 1000000" NQ=1000 bash bench/scale.sh
#   SIZES="100000 1000000 10000000" bash bench/scale.sh     # 10M x 128-d: 5 GB of vectors; see below
# At 10M rows (session 24): QUERIES=1000 NQ=1000 (the exact ground truth of 10,000 queries over 10M rows is 12.8 T flops) and
# SCALE_ARGS="--flush-every 1000000 --index-after-compact true --alone false": the bench streams the base vectors from their
# file, seals every 1M rows (background maintenance is off, so otherwise all 10M rows stay in memory: over 11 GB), builds
# one HNSW per merged ~1 GiB segment instead of one per 64 MiB segment and again after the merge, and skips the index
# alone (a second copy of the vectors and a 10M-row build).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
sizes=${SIZES:-100000 1000000}
nq=${NQ:-1000}
ingest_rows=${INGEST_ROWS:-100000}
out=${OUT:-bench/results}
mkdir -p "$out"

data=()
sets=()
# QUERIES: queries (and exact ground truth) per synthetic set other than the default 10,000, e.g. QUERIES=1000 at 10M rows.
for n in $sizes; do
  if [ -n "${QUERIES:-}" ]; then
    data+=(--data "synthetic:${n}x128:42:${QUERIES}")
    sets+=("synthetic-${n}x128-s42$([ "$QUERIES" = 10000 ] || echo "-q${QUERIES}")")
  else
    data+=(--data "synthetic:${n}x128:42")
    sets+=("synthetic-${n}x128-s42")
  fi
done
if [ "${FMNIST:-0}" = 1 ]; then
  data+=(--data fashion-mnist)
  sets+=(fashion-mnist)
fi
./quiver bench data "${data[@]}"
dotnet build bench/Quiver.Bench -c Release --nologo -v quiet -clp:ErrorsOnly
bench=bench/Quiver.Bench/bin/Release/net10.0/Quiver.Bench.dll
# shellcheck disable=SC2086 # SCALE_ARGS is a list of options
dotnet "$bench" scale --sets "$(IFS=,; echo "${sets[*]}")" --nq "$nq" --out "$out/scale" ${SCALE_ARGS:-} | tee "$out/scale.log"
dotnet "$bench" ingestpath --dims 128,768 --rows "$ingest_rows" --md "$out/ingest-path.md"
