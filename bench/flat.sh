#!/usr/bin/env bash
# FLAT search on Fashion-MNIST: Quiver (embedded, one thread) and FAISS IndexFlatL2 (one thread) in one run, on the
# same data and queries. Writes bench/results/flat-ours.json, flat-faiss.json and the table bench/results/flat.md.
#   QUERIES=1000 BATCH=100 bench/flat.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
queries=${QUERIES:-1000}
batch=${BATCH:-100}
out=bench/results
mkdir -p "$out"

data=$(bash scripts/bench-setup.sh | tail -n1)
dotnet build bench/Quiver.Bench -c Release --nologo -v quiet

dotnet bench/Quiver.Bench/bin/Release/net10.0/Quiver.Bench.dll flat --data fashion-mnist --data-dir "$data" \
  --queries "$queries" --k 10 --batch "$batch" --json "$out/flat-ours.json"

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set machine-wide for safety; unset both, in this command only, so that
# OpenBLAS picks its kernel for this CPU (recorded in the JSON under "blas"). One thread everywhere.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  /usr/bin/python3 bench/peers/faiss_flat.py --data-dir "$data" --queries "$queries" --k 10 --batch "$batch" \
  --check "$out/flat-ours.json" --json "$out/flat-faiss.json" >/dev/null

/usr/bin/python3 - "$out/flat-ours.json" "$out/flat-faiss.json" "$out/flat.md" <<'PY'
import json, sys, datetime
ours, faiss = (json.load(open(p)) for p in sys.argv[1:3])
blas = next((b for b in faiss["blas"] if b.get("internal_api") not in (None, "openmp")), None) if isinstance(faiss["blas"], list) else None
kernel = f"OpenBLAS {blas.get('version')} {blas.get('architecture')} kernel" if blas else "reference BLAS (no OpenBLAS found)"
b = ours["bound_ms_per_query"]
rows = [
    ("one query per call: QPS", f"{ours['single_qps']:.1f}", f"{faiss['single_qps']:.1f}", f"{ours['single_qps'] / faiss['single_qps']:.2f}"),
    ("one query per call: p50 ms", f"{ours['single_p50_ms']:.2f}", f"{faiss['single_p50_ms']:.2f}", f"{ours['single_p50_ms'] / faiss['single_p50_ms']:.2f}"),
    ("one query per call: p99 ms", f"{ours['single_p99_ms']:.2f}", f"{faiss['single_p99_ms']:.2f}", f"{ours['single_p99_ms'] / faiss['single_p99_ms']:.2f}"),
    (f"{ours['batch']} queries per call: queries/s", f"{ours['batched_qps']:.1f}", f"{faiss['batched_qps']:.1f}", f"{ours['batched_qps'] / faiss['batched_qps']:.2f}"),
]
lines = [
    f"# FLAT on Fashion-MNIST ({ours['rows']} x {ours['dim']} float32, L2, top-{ours['k']}, {ours['queries']} test queries, 1 thread)",
    "",
    f"Measured {datetime.date.today().isoformat()} by `bench/flat.sh`. Machine: {ours['machine']}. FAISS {faiss['faiss_version']}, batched sgemm on {kernel}.",
    "",
    "| measure | Quiver | FAISS IndexFlatL2 | Quiver / FAISS |",
    "| --- | ---: | ---: | ---: |",
    *[f"| {a} | {q} | {f} | {r} |" for a, q, f, r in rows],
    "",
    "| bound for one query | value |",
    "| --- | ---: |",
    f"| read bandwidth, 1 thread (SIMD sum over 1 GiB, best of 5 passes, 1 or 4 streams) | {ours['bandwidth_gb_per_s']:.2f} GB/s |",
    f"| bound = {ours['rows']}*{ours['dim']}*4 bytes / bandwidth | {b:.2f} ms |",
    f"| raw kernel VectorMath.L2SquaredMany over all rows, p50 | {ours['kernel_p50_ms']:.2f} ms ({ours['kernel_p50_ms'] / b:.2f} x bound) |",
    f"| Quiver SearchAsync, one query, p50 | {ours['single_p50_ms']:.2f} ms (**{ours['single_ratio_to_bound']:.2f} x bound**, target <= 1.5) |",
    f"| FAISS search, one query, p50 | {faiss['single_p50_ms']:.2f} ms ({faiss['single_p50_ms'] / b:.2f} x bound) |",
    "",
    f"Exactness: Quiver top-{ours['k']} equals a double-precision brute force for {ours['check_queries']} queries "
    f"({ours['check_failures']} failures, {ours['check_tie_differences']} tie-only differences); FAISS agrees on "
    f"{faiss['check_queries'] - faiss['check_failures']} of {faiss['check_queries']} ({faiss['check_tie_differences']} tie-only differences).",
    "",
]
open(sys.argv[3], "w").write("\n".join(lines))
print("\n".join(lines))
PY
