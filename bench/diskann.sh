#!/usr/bin/env bash
# DISKANN against HNSW (both built and searched by `quiver bench ann`, DISKANN served from its saved file as the engine
# does) and against FAISS IVF-PQ (bench/peers/faiss_ann.py, IVF-PQ with and without exact re-ranking), in one run, on
# the same seeded synthetic files. Writes each system's JSON and log under bench/results/diskann-<dataset>/ and the table
# bench/results/diskann-<dataset>.md: recall@10 and QPS per setting, resident index bytes (what must stay in memory:
# HNSW its graph and codes; DISKANN its PQ codes and node cache; FAISS its lists and codes) and the index file's bytes.
# Then, unless DISKANN_CAPPED=0, the larger-than-memory run: the long tier of DiskAnnMemoryCapTests (200,000 rows of
# 256-d, about 200 MiB of vectors and 480 MiB on disk, searched by a child process whose managed heap is capped at 64 MiB
# with DOTNET_GCHeapHardLimit), whose report line goes into the table.
#
#   bash bench/diskann.sh                         # 200,000 x 128 (about 15 min on 2 cores)
#   DISKANN_ROWS=50000 DISKANN_CAPPED=0 bash bench/diskann.sh   # a short development run
#
# Knobs: DISKANN_ROWS (200000), DISKANN_QUERIES (1000), DISKANN_THREADS (1 search thread), DISKANN_CAPPED (1).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

rows=${DISKANN_ROWS:-200000}
queries=${DISKANN_QUERIES:-1000}
threads=${DISKANN_THREADS:-1}
build_threads=$(nproc)
python=/usr/bin/python3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

line=$(./quiver bench data --data "synthetic:${rows}x128:42" --threads "$build_threads" | tail -n1)
IFS=$'\t' read -r name folder rows dim _ <<<"$line"
out=bench/results/diskann-$name
rm -rf "$out"
mkdir -p "$out"
base=$folder/base.fvecs
qfile=$folder/queries-$queries.fvecs
gt=$folder/groundtruth-$queries.ivecs
if [[ ! -f "$gt" ]]; then
  ./quiver bench head "$folder/queries.fvecs" "$qfile" --rows "$queries"
  ./quiver bench head "$folder/groundtruth.ivecs" "$gt" --rows "$queries"
fi

ladder='[{"X":10},{"X":16},{"X":24},{"X":32},{"X":48},{"X":64},{"X":96},{"X":128},{"X":192},{"X":256}]'
run_quiver() { # index build search
  echo "== $name $1: quiver" >&2
  ./quiver bench ann --base "$base" --queries "$qfile" --groundtruth "$gt" --metric L2 --index "$1" --build "$2" \
    --search "$3" --k 10 --threads "$threads" --build-threads "$build_threads" --save-index "$scratch/$1.idx" \
    --json "$out/quiver-$1.json" >"$out/quiver-$1.log" 2>&1
  tail -n 14 "$out/quiver-$1.log" >&2
}
run_quiver HNSW '{"M":16,"efConstruction":200}' "${ladder//X/ef}"
run_quiver DISKANN '{}' "${ladder//X/search_list}"

echo "== $name IVF_PQ: faiss" >&2
nprobe='[{"nprobe":8},{"nprobe":16},{"nprobe":32},{"nprobe":64},{"nprobe":16,"refine_k":4},{"nprobe":32,"refine_k":4},{"nprobe":64,"refine_k":8},{"nprobe":128,"refine_k":8}]'
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $python bench/peers/faiss_ann.py "$base" "$qfile" "$gt" --metric L2 --index IVF_PQ \
  --build "{\"nlist\":1024,\"m\":$((dim / 4)),\"nbits\":8}" --search "$nprobe" --k 10 --threads "$threads" \
  --build-threads "$build_threads" --json "$out/faiss-IVF_PQ.json" >"$out/faiss-IVF_PQ.log" 2>&1
tail -n 10 "$out/faiss-IVF_PQ.log" >&2

capped=""
if [[ "${DISKANN_CAPPED:-1}" != 0 ]]; then
  echo "== capped run (DiskAnnMemoryCapTests, long tier)" >&2
  dotnet build tests/Quiver.Engine.Tests -c Release --nologo -v quiet -clp:ErrorsOnly >&2
  QUIVER_LONG=1 dotnet test tests/Quiver.Engine.Tests -c Release --no-build --filter "FullyQualifiedName~DiskAnnMemoryCapTests" \
    --logger "console;verbosity=detailed" >"$out/capped.log" 2>&1 || true
  capped=$(grep -m1 -o 'rows [0-9]*, vectors.*' "$out/capped.log" || echo "failed: see $out/capped.log")
  echo "$capped" >&2
fi

$python - "$out" "$name" "$capped" >"bench/results/diskann-$name.md" <<'EOF'
import json, sys, glob, os
out, name, capped = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
print(f"# DISKANN vs HNSW vs FAISS IVF-PQ on {name}\n")
print("| system | index | params | recall@10 | QPS | p50 us | p99 us | resident index MiB | index file MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    r = json.load(open(path))
    file_mib = r.get("index_file_bytes")
    for run in r["runs"]:
        print(f"| {r['name']} | {r['index']} | `{json.dumps(run['params'], separators=(',', ':'))}` | {run['recall']:.4f} | "
              f"{run['qps']:.0f} | {run['p50_us']:.0f} | {run['p99_us']:.0f} | {r['index_bytes'] / 2**20:.1f} | "
              f"{'-' if file_mib is None else f'{file_mib / 2**20:.1f}'} |")
print("\nResident index: what must stay in memory (HNSW its graph and 8-bit codes; DISKANN its PQ codes and node cache;"
      " FAISS the serialized index, which with refine_k includes its own copy of the raw vectors).")
if capped:
    print(f"\nCapped run (tests/Quiver.Engine.Tests/Indexing/DiskAnnMemoryCapTests.cs, long tier): {capped}")
EOF
cat "bench/results/diskann-$name.md"
