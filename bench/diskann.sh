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
#   DISKANN_ROWS=1000000 DISKANN_DATA_DIR=/work/bench-data bash bench/diskann.sh   # 1M rows from a prepared cache
#
# Knobs: DISKANN_ROWS (200000), DISKANN_QUERIES (1000), DISKANN_THREADS (1 search thread), DISKANN_CAPPED (1),
# DISKANN_DATA_DIR (the cache folder of `quiver bench data`; default its own), DISKANN_PARALLEL (0; 1: the three systems
# build and search at the same time, each in its own session, which on a machine shared by many sessions finishes in a
# fraction of the wall time; compare them then by CPU per query, which the sharing leaves nearly unchanged, not by QPS).
# Every search setting reports its process CPU time per query (cpu_us) and every build its CPU seconds. The table ends
# with an equal-recall summary: per system the setting with the least CPU per query reaching recall@10 0.95 and 0.99,
# with build time, resident index and peak RSS, and CPU per query and QPS as ratios to DISKANN's in the same run; the
# load average before and after is printed with it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

rows=${DISKANN_ROWS:-200000}
queries=${DISKANN_QUERIES:-1000}
threads=${DISKANN_THREADS:-1}
build_threads=$(nproc)
python=/usr/bin/python3
data_dir=()
[[ -n "${DISKANN_DATA_DIR:-}" ]] && data_dir=(--data-dir "$DISKANN_DATA_DIR")
bash scripts/bench-setup.sh >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Exactly the queries used (synthetic:NxD:seed:queries), so that the exact ground truth costs no more than it must.
line=$(./quiver bench data --data "synthetic:${rows}x128:42:${queries}" --threads "$build_threads" "${data_dir[@]}" | tail -n1)
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
run_faiss() {
  echo "== $name IVF_PQ: faiss" >&2
  local nprobe='[{"nprobe":8},{"nprobe":16},{"nprobe":32},{"nprobe":64},{"nprobe":16,"refine_k":4},{"nprobe":32,"refine_k":4},{"nprobe":64,"refine_k":8},{"nprobe":128,"refine_k":8}]'
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $python bench/peers/faiss_ann.py "$base" "$qfile" "$gt" --metric L2 --index IVF_PQ \
    --build "{\"nlist\":1024,\"m\":$((dim / 4)),\"nbits\":8}" --search "$nprobe" --k 10 --threads "$threads" \
    --build-threads "$build_threads" --json "$out/faiss-IVF_PQ.json" >"$out/faiss-IVF_PQ.log" 2>&1
  tail -n 10 "$out/faiss-IVF_PQ.log" >&2
}
if [[ "${DISKANN_PARALLEL:-0}" == 1 ]]; then
  ./quiver --version >/dev/null # build the CLI once, before three runs use it
  export -f run_quiver run_faiss
  export name base qfile gt threads build_threads out scratch python dim
  pids=()
  setsid bash -c "run_quiver HNSW '{\"M\":16,\"efConstruction\":200}' '${ladder//X/ef}'" & pids+=($!)
  setsid bash -c "run_quiver DISKANN '{}' '${ladder//X/search_list}'" & pids+=($!)
  setsid bash -c run_faiss & pids+=($!)
  # A system that failed or was stopped leaves its log; the table is still written from the others' JSON.
  for p in "${pids[@]}"; do wait "$p" || echo "diskann.sh: a system's run ended with status $? (see its log in $out)" >&2; done
else
  run_quiver HNSW '{"M":16,"efConstruction":200}' "${ladder//X/ef}"
  run_quiver DISKANN '{}' "${ladder//X/search_list}"
  run_faiss
fi

capped=""
if [[ "${DISKANN_CAPPED:-1}" != 0 ]]; then
  echo "== capped run (DiskAnnMemoryCapTests, long tier)" >&2
  dotnet build tests/Quiver.Engine.Tests -c Release --nologo -v quiet -clp:ErrorsOnly >&2
  QUIVER_LONG=1 dotnet test tests/Quiver.Engine.Tests -c Release --no-build --filter "FullyQualifiedName~DiskAnnMemoryCapTests" \
    --logger "console;verbosity=detailed" >"$out/capped.log" 2>&1 || true
  capped=$(grep -m1 -o 'rows [0-9]*, vectors.*' "$out/capped.log" || echo "failed: see $out/capped.log")
  echo "$capped" >&2
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
$python - "$out" "$name" "$capped" "$load_before" "$load_after" "$(nproc)" >"bench/results/diskann-$name.md" <<'EOF'
import json, sys, glob, os
out, name, capped, load_before, load_after, cores = sys.argv[1:7]
results = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "*.json")))]
print(f"# DISKANN vs HNSW vs FAISS IVF-PQ on {name}\n")
print("| system | index | params | recall@10 | CPU us/query | QPS | p50 us | p99 us | resident index MiB | index file MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in results:
    file_mib = r.get("index_file_bytes")
    for run in r["runs"]:
        print(f"| {r['name']} | {r['index']} | `{json.dumps(run['params'], separators=(',', ':'))}` | {run['recall']:.4f} | "
              f"{run['cpu_us']:.0f} | {run['qps']:.0f} | {run['p50_us']:.0f} | {run['p99_us']:.0f} | {r['index_bytes'] / 2**20:.1f} | "
              f"{'-' if file_mib is None else f'{file_mib / 2**20:.1f}'} |")
print("\nResident index: what must stay in memory (HNSW its graph and 8-bit codes; DISKANN its PQ codes and node cache;"
      " FAISS the serialized index, which with refine_k includes its own copy of the raw vectors).")
print(f"\n## At equal recall\n\nPer system the setting with the least CPU per query whose recall@10 reaches the target; CPU per"
      f" query and QPS as ratios to DISKANN's at the same target in this run. Load average {load_before} before,"
      f" {load_after} after, on {cores} cores.\n")
print("| recall@10 ≥ | system | index | params | recall@10 | CPU us/query | CPU / DISKANN | QPS | QPS / DISKANN | p50 us | p99 us "
      "| build s | build CPU-s | resident index MiB | peak RSS MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for target in (0.95, 0.99):
    best = {}
    for r in results:
        ok = [run for run in r["runs"] if run["recall"] >= target]
        if ok:
            best[(r["name"], r["index"])] = (r, min(ok, key=lambda run: run["cpu_us"]))
    base = best.get(("quiver", "DISKANN"))
    for (sysname, index), (r, run) in sorted(best.items()):
        cpu_ratio = f"{run['cpu_us'] / base[1]['cpu_us']:.2f}" if base else "-"
        qps_ratio = f"{run['qps'] / base[1]['qps']:.2f}" if base else "-"
        print(f"| {target} | {sysname} | {index} | `{json.dumps(run['params'], separators=(',', ':'))}` | {run['recall']:.4f} | "
              f"{run['cpu_us']:.0f} | {cpu_ratio} | {run['qps']:.0f} | {qps_ratio} | {run['p50_us']:.0f} | {run['p99_us']:.0f} | "
              f"{r['build_seconds']:.0f} | {r['build_cpu_seconds']:.0f} | {r['index_bytes'] / 2**20:.1f} | {r['peak_rss_bytes'] / 2**20:.0f} |")
    missing = [f"{r['name']} {r['index']}" for r in results if (r["name"], r["index"]) not in best]
    if missing:
        print(f"| {target} | {', '.join(missing)} | | no setting reaches it | | | | | | | | | | | |")
print("\nPeak RSS is the whole benchmark process: it holds the base vectors in memory (and, building, the graph), so it"
      " is not what a search needs; the resident index is.")
if capped:
    print(f"\nCapped run (tests/Quiver.Engine.Tests/Indexing/DiskAnnMemoryCapTests.cs, long tier): {capped}")
EOF
cat "bench/results/diskann-$name.md"
