#!/usr/bin/env bash
# Installs what the benchmarks under bench/ need, from Debian's packages only, and only what is missing. Idempotent.
#   dataset-fashion-mnist  the real data set (IDX files)
#   python3-faiss, python3-numpy, python3-threadpoolctl  the FAISS peer (run with Debian's /usr/bin/python3)
#   libopenblas0-pthread   OpenBLAS as the system libblas.so.3: without it FAISS's batched search runs on the
#                          reference (netlib) BLAS of libblas3, which is many times slower and no fair peer
#   python3-hnswlib, libhnswlib-dev, g++  the hnswlib peers of the ANN harness (Python binding; the header-only
#                          C++ library, compiled by bench/peers/build-native.sh)
#   python3-matplotlib     the recall-vs-QPS plot of bench/ann.sh
#   linux-perf             optional: profiles of the search path
# Prints the data folder on its last line.
set -euo pipefail

need=()
for pkg in dataset-fashion-mnist python3-faiss python3-numpy python3-threadpoolctl libopenblas0-pthread \
    python3-hnswlib libhnswlib-dev g++ python3-matplotlib; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    need+=("$pkg")
  fi
done

updated=0
if ((${#need[@]} > 0)); then
  echo "bench-setup: installing ${need[*]}" >&2
  apt-get update -qq
  updated=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# linux-perf is optional: a failure to install it is not a failure of the setup.
if ! command -v perf >/dev/null 2>&1; then
  if ((updated == 0)); then apt-get update -qq || true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >&2 \
    || echo "bench-setup: linux-perf not installed (optional)" >&2
fi

/usr/bin/python3 -c "import faiss, numpy" \
  || { echo "bench-setup: /usr/bin/python3 cannot import faiss and numpy" >&2; exit 1; }

# The folder that holds train-images-idx3-ubyte(.gz); the bench reads plain or gzipped files.
data=$(dpkg -L dataset-fashion-mnist | grep -E '/train-images-idx3-ubyte(\.gz)?$' | head -n1)
[[ -n "$data" ]] || { echo "bench-setup: dataset-fashion-mnist has no train-images file" >&2; exit 1; }
dirname "$data"
