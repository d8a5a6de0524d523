#!/usr/bin/python3
"""hnswlib Python-binding peer for the ANN benchmark (Debian python3-hnswlib), same command line and JSON as
hnswlib_native.cpp: builds hnswlib.Index over BASE, then for each ef times one knn_query per call after a warm-up.

usage: hnswlib_ann.py BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP --M 16 --efc 200 --ef 10,20,40,80,160 --k 10
                      [--threads 1] [--warmup 1000] [--seed 100] [--batch N] [--json out.json]
--batch N also times knn_query over N queries per call and reports queries/s as "batch_qps".
"""
import argparse
import json
import sys
import time

import hnswlib
import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("queries")
    ap.add_argument("gt")
    ap.add_argument("--metric", choices=["L2", "IP"], default="L2")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--ef", default="10,20,40,80,160")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--json")
    # The harness contract (bench/ann.sh): --index HNSW --build JSON --search JSONLIST --build-threads N.
    ap.add_argument("--index", default="HNSW", choices=["HNSW"])
    ap.add_argument("--build", help='JSON build params, e.g. {"M":16,"efConstruction":200}; overrides --M/--efc')
    ap.add_argument("--search", help='JSON list of search params, e.g. [{"ef":10},{"ef":20}]; overrides --ef')
    ap.add_argument("--build-threads", type=int, help="threads for the build (default --threads)")
    a = ap.parse_args()
    if a.build:
        b = json.loads(a.build)
        a.M = int(b.get("M", a.M))
        a.efc = int(b.get("efConstruction", a.efc))
    if a.search:
        a.ef = ",".join(str(int(p["ef"])) for p in json.loads(a.search))
    build_threads = a.build_threads or a.threads

    base = read_vecs(a.base, np.float32)
    queries = read_vecs(a.queries, np.float32)
    gt = read_vecs(a.gt, np.int32)
    n, dim = base.shape
    if queries.shape[1] != dim or gt.shape[1] < a.k:
        sys.exit("shapes disagree")

    index = hnswlib.Index(space="l2" if a.metric == "L2" else "ip", dim=dim)
    start = time.perf_counter()
    cpu_start = time.process_time()
    index.init_index(max_elements=n, ef_construction=a.efc, M=a.M, random_seed=a.seed)
    index.set_num_threads(build_threads)
    index.add_items(base, np.arange(n))
    index.set_num_threads(a.threads)
    build_seconds = time.perf_counter() - start
    build_cpu_seconds = time.process_time() - cpu_start
    # Same accounting as the native peer: layer 0 (links, vector, label) per element, the upper-list pointers, upper lists.
    size0 = (2 * a.M * 4 + 4) + dim * 4 + 8
    levels_bytes = 0  # the binding does not expose element levels; about n / M nodes have upper lists
    index_bytes = n * size0 + n * 8 + levels_bytes

    runs = []
    truth = [set(row[: a.k].tolist()) for row in gt[: len(queries)]]
    for ef in [int(x) for x in a.ef.split(",")]:
        index.set_ef(max(ef, a.k))
        for i in range(a.warmup):
            index.knn_query(queries[i % len(queries)], k=a.k)
        lat = np.empty(len(queries))
        hits = 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        for i in range(len(queries)):
            q0 = time.perf_counter_ns()
            labels, _ = index.knn_query(queries[i], k=a.k)
            lat[i] = (time.perf_counter_ns() - q0) / 1000.0
            hits += len(truth[i].intersection(labels[0].tolist()))
        total = time.perf_counter() - t0
        cpu_total = time.process_time() - c0
        run = {
            "params": {"ef": ef},
            "recall": hits / (len(queries) * a.k),
            "qps": len(queries) / total,
            "cpu_qps": len(queries) / cpu_total,
            "p50_us": float(np.percentile(lat, 50, method="inverted_cdf")),
            "p99_us": float(np.percentile(lat, 99, method="inverted_cdf")),
        }
        if a.batch > 0:
            t0 = time.perf_counter()
            for s in range(0, len(queries), a.batch):
                index.knn_query(queries[s : s + a.batch], k=a.k, num_threads=a.threads)
            run["batch_qps"] = len(queries) / (time.perf_counter() - t0)
        runs.append(run)
        print(f"ef {ef:4d}  recall {run['recall']:.4f}  qps {run['qps']:9.1f}  cpu_qps {run['cpu_qps']:9.1f}  p50 {run['p50_us']:7.1f} us  "
              f"p99 {run['p99_us']:7.1f} us", file=sys.stderr)

    result = {"name": "hnswlib-python", "index": "HNSW", "metric": a.metric, "M": a.M, "efc": a.efc, "k": a.k,
              "threads": a.threads, "build": {"M": a.M, "efConstruction": a.efc}, "build_seconds": build_seconds, "build_cpu_seconds": build_cpu_seconds, "index_bytes": index_bytes,
              "peak_rss_bytes": peak_rss_bytes(), "runs": runs}
    print(f"build {build_seconds:.2f} s (cpu {build_cpu_seconds:.2f} s), index {index_bytes} bytes, peak RSS {result['peak_rss_bytes']} bytes", file=sys.stderr)
    text = json.dumps(result) + "\n"
    if a.json:
        with open(a.json, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
