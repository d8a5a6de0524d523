#!/usr/bin/env bash
# ANN recall vs speed: Quiver's indexes (built through IndexFactory by `quiver bench ann`) side by side with the peers,
# in one run, on the same files: native hnswlib (C++), Python hnswlib and FAISS. For each data set it writes the JSON of
# every system/index under bench/results/ann-<dataset>/, the table bench/results/ann-<dataset>.md and the plot
# bench/results/ann-<dataset>.png. A peer or index that is not there yet is skipped with a message; the run goes on.
#
#   bash bench/ann.sh                                        # everything (about 45-60 min on 2 cores)
#   ANN_QUERIES=1000 ANN_DATASETS=fashion-mnist ANN_INDEXES=HNSW bash bench/ann.sh   # a short development run
#
# Knobs (environment):
#   ANN_DATASETS       "fashion-mnist synthetic" (synthetic = ANN_SYNTHETIC)
#   ANN_SYNTHETIC      500000x128:42 (rows x dim : seed of the Gaussian mixture)
#   ANN_INDEXES        "HNSW IVF_FLAT IVF_SQ8 IVF_PQ ANNOY" (FLAT works too)
#   ANN_PEERS          "hnswlib hnswlib-python faiss"
#   ANN_QUERIES        0 = all 10,000 queries; N = the first N
#   ANN_THREADS        1 search thread (one query per call)
#   ANN_BUILD_THREADS  $(nproc) build threads (passed to a peer as --build-threads when its --help lists it)
#   ANN_BATCH          unset; N = N queries per timed unit (see bench/README.md)
#   ANN_K              10
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

datasets=${ANN_DATASETS:-"fashion-mnist synthetic"}
synthetic=${ANN_SYNTHETIC:-500000x128:42}
indexes=${ANN_INDEXES:-"HNSW IVF_FLAT IVF_SQ8 IVF_PQ ANNOY"}
peers=${ANN_PEERS:-"hnswlib hnswlib-python faiss"}
queries=${ANN_QUERIES:-0}
threads=${ANN_THREADS:-1}
build_threads=${ANN_BUILD_THREADS:-$(nproc)}
k=${ANN_K:-10}
batch_args=()
if [[ -n "${ANN_BATCH:-}" ]]; then batch_args=(--batch "$ANN_BATCH"); fi
python=/usr/bin/python3

fmnist_dir=$(bash scripts/bench-setup.sh | tail -n1)

# Our index files are written (their size goes into the JSON as index_file_bytes) to a scratch folder removed at exit.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

specs=()
for d in $datasets; do
  case "$d" in
    fashion-mnist) specs+=(fashion-mnist) ;;
    synthetic) specs+=("synthetic:$synthetic") ;;
    *) echo "ann.sh: unknown data set '$d' (fashion-mnist, synthetic)" >&2; exit 2 ;;
  esac
done

echo "== preparing data (cached in bench/data)" >&2
prepared_list=$(./quiver bench data --data "${specs[@]}" --fashion-mnist-dir "$fmnist_dir" --threads "$build_threads")
mapfile -t prepared <<<"$prepared_list"

# The native hnswlib peer: bench/peers/build-native.sh compiles it and prints the binary's path on its last line.
native=""
if [[ " $peers " == *" hnswlib "* && -f bench/peers/build-native.sh ]]; then
  if out=$(bash bench/peers/build-native.sh); then
    native=$(tail -n1 <<<"$out")
    [[ -x "$native" ]] || native=""
  fi
fi

# Build and search settings per data set and index: nlist about 4*sqrt(rows) (rounded to a power of two that keeps
# k-means training short), PQ with 14-dim (784) or 4-dim (128) subvectors, ANNOY trees for the data size.
settings() { # dataset-name index -> sets build and search
  local name=$1 index=$2 rows=$3 dim=$4
  local nlist=1024 trees=16 m=$((dim / 14))
  if ((rows > 200000)); then nlist=2048; trees=32; fi
  if ((dim % 14 != 0)); then m=$((dim / 4)); fi
  local nprobe='[{"nprobe":1},{"nprobe":2},{"nprobe":4},{"nprobe":8},{"nprobe":16},{"nprobe":32},{"nprobe":64},{"nprobe":128}]'
  case "$index" in
    FLAT) build='{}'; search='[{}]' ;;
    HNSW)
      build='{"M":16,"efConstruction":200}'
      search='[{"ef":10},{"ef":20},{"ef":30},{"ef":40},{"ef":60},{"ef":80},{"ef":120},{"ef":160},{"ef":240},{"ef":320}]' ;;
    IVF_FLAT | IVF_SQ8) build="{\"nlist\":$nlist}"; search=$nprobe ;;
    IVF_PQ) build="{\"nlist\":$nlist,\"m\":$m,\"nbits\":8}"; search=$nprobe ;;
    ANNOY)
      build="{\"n_trees\":$trees}"
      search='[{"search_k":100},{"search_k":200},{"search_k":500},{"search_k":1000},{"search_k":2000},{"search_k":5000},{"search_k":10000},{"search_k":20000},{"search_k":50000}]' ;;
    *) echo "ann.sh: no settings for index '$index'" >&2; return 1 ;;
  esac
  : "$name"
}

# Which peers measure an index, and how each is started (before the shared arguments).
peer_command() { # peer -> command words, or empty when the peer is not there
  case "$1" in
    hnswlib) [[ -n "$native" ]] && echo "$native" ;;
    hnswlib-python) [[ -f bench/peers/hnswlib_ann.py ]] && echo "$python bench/peers/hnswlib_ann.py" ;;
    faiss) [[ -f bench/peers/faiss_ann.py ]] && echo "$python bench/peers/faiss_ann.py" ;;
  esac
  return 0
}
peer_file() {
  case "$1" in
    hnswlib) echo "bench/peers/hnswlib_native.cpp (built by bench/peers/build-native.sh)" ;;
    hnswlib-python) echo "bench/peers/hnswlib_ann.py" ;;
    faiss) echo "bench/peers/faiss_ann.py" ;;
  esac
}
peers_for() {
  case "$1" in
    HNSW) echo "hnswlib hnswlib-python faiss" ;;
    IVF_FLAT | IVF_SQ8 | IVF_PQ | FLAT) echo "faiss" ;;
    *) echo "" ;;
  esac
}

for line in "${prepared[@]}"; do
  IFS=$'\t' read -r name folder rows dim _ <<<"$line"
  out=bench/results/ann-$name
  rm -rf "$out"
  mkdir -p "$out"
  skipped="$out/skipped.txt"
  : >"$skipped"
  base=$folder/base.fvecs
  qfile=$folder/queries.fvecs
  gt=$folder/groundtruth.ivecs
  if ((queries > 0)); then
    # The peers take whole files, so the first N queries and their ground truth go to files of their own (cached).
    if [[ ! -f "$folder/groundtruth-$queries.ivecs" ]]; then
      ./quiver bench head "$qfile" "$folder/queries-$queries.fvecs" --rows "$queries"
      ./quiver bench head "$gt" "$folder/groundtruth-$queries.ivecs" --rows "$queries"
    fi
    qfile=$folder/queries-$queries.fvecs
    gt=$folder/groundtruth-$queries.ivecs
  fi
  shared=("$base" "$qfile" "$gt" --metric L2)

  for index in $indexes; do
    settings "$name" "$index" "$rows" "$dim"
    echo "== $name $index: quiver" >&2
    # Our table goes to the terminal, our progress to the terminal and the log (stderr through tee; pipefail keeps
    # quiver's exit status).
    rm -f "$scratch"/*.idx
    if ! { ./quiver bench ann --base "$base" --queries "$qfile" --groundtruth "$gt" --metric L2 --index "$index" \
        --build "$build" --search "$search" --k "$k" --threads "$threads" --build-threads "$build_threads" \
        --save-index "$scratch/$index.idx" "${batch_args[@]}" --json "$out/quiver-$index.json" 2>&1 1>&3 | tee "$out/quiver-$index.log" >&2; } 3>&1; then
      msg=$(grep -m1 'error:' "$out/quiver-$index.log" || tail -n1 "$out/quiver-$index.log")
      echo "skipped: quiver $index: $msg" | tee -a "$skipped" >&2
    fi

    for peer in $(peers_for "$index"); do
      [[ " $peers " == *" $peer "* ]] || continue
      cmd=$(peer_command "$peer")
      if [[ -z "$cmd" ]]; then
        echo "skipped: $peer $index: $(peer_file "$peer") is not present yet" | tee -a "$skipped" >&2
        continue
      fi
      extra=()
      if $cmd --help 2>&1 | grep -q -- '--build-threads'; then extra=(--build-threads "$build_threads"); fi
      echo "== $name $index: $peer" >&2
      # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set machine-wide; unset them so OpenBLAS picks this CPU's kernel.
      if ! env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $cmd "${shared[@]}" --index "$index" --build "$build" --search "$search" \
          --k "$k" --threads "$threads" "${extra[@]}" "${batch_args[@]}" --json "$out/$peer-$index.json" >"$out/$peer-$index.log" 2>&1; then
        echo "skipped: $peer $index: failed: $(tail -n1 "$out/$peer-$index.log")" | tee -a "$skipped" >&2
        rm -f "$out/$peer-$index.json"
      else
        tail -n 20 "$out/$peer-$index.log" >&2
      fi
    done
  done

  shopt -s nullglob
  results=("$out"/*.json)
  shopt -u nullglob
  $python bench/peers/plot_ann.py --dataset "$name" --skipped "$skipped" --threads "$threads" --build-threads "$build_threads" \
    --md "bench/results/ann-$name.md" --png "bench/results/ann-$name.png" "${results[@]}"
done
