#!/usr/bin/python3
"""FAISS peer of the IVF/HNSW benchmarks (`Quiver.Bench ivf`, `quiver bench ann`): builds one FAISS index over
BASE.fvecs, runs each search setting over QUERIES.fvecs and scores recall@k against GT.ivecs.

  faiss_ann.py BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP --index IVF_FLAT|IVF_SQ8|IVF_PQ|HNSW
      --build '{"nlist":1024}' --search '[{"nprobe":1},{"nprobe":4}]' --k 10 --threads 1 --json out.json [--batch N]

Indexes (Milvus parameter names): IVF_FLAT = IndexIVFFlat(nlist); IVF_SQ8 = IndexIVFScalarQuantizer(nlist, QT_8bit);
IVF_PQ = IndexIVFPQ(nlist, m, nbits), search refine_k wraps it in IndexRefineFlat(k_factor = refine_k);
HNSW = IndexHNSWFlat(M, efConstruction), search ef. Each setting runs all queries once as warm-up, then times one query
per call (or --batch queries per call). Writes {"name": "faiss", "index", "build_seconds", "build_cpu_seconds",
"index_bytes", "peak_rss_bytes", "runs": [{"params", "recall", "qps", "p50_us", "p99_us", "cpu_us"}]}; with --batch the
latencies are per call; cpu_us is the process's CPU time (every thread) per query over the timed loop.
Run with Debian's /usr/bin/python3 (python3-faiss, python3-numpy)."""
import argparse
import json
import sys
import time

import faiss
import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        return np.zeros((0, 0), dtype=dtype)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    if not (rows[:, 0] == dim).all():
        raise ValueError(f"{path}: vectors of mixed dimension")
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def build(kind, metric, dim, p):
    mt = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT

    def quantizer():
        return faiss.IndexFlatL2(dim) if metric == "L2" else faiss.IndexFlatIP(dim)

    if kind == "IVF_FLAT":
        q = quantizer()
        return faiss.IndexIVFFlat(q, dim, int(p.get("nlist", 128)), mt), q
    if kind == "IVF_SQ8":
        q = quantizer()
        return faiss.IndexIVFScalarQuantizer(q, dim, int(p.get("nlist", 128)), faiss.ScalarQuantizer.QT_8bit, mt), q
    if kind == "IVF_PQ":
        q = quantizer()
        return faiss.IndexIVFPQ(q, dim, int(p.get("nlist", 128)), int(p["m"]), int(p.get("nbits", 8)), mt), q
    if kind == "HNSW":
        index = faiss.IndexHNSWFlat(dim, int(p.get("M", 16)), mt)
        index.hnsw.efConstruction = int(p.get("efConstruction", 200))
        return index, None
    raise SystemExit(f"unknown --index {kind}")


def configure(kind, index, refine, params):
    """The index to search with `params` applied (IVF_PQ with refine_k: the refine wrapper built around it)."""
    if kind == "HNSW":
        index.hnsw.efSearch = int(params.get("ef", 16))
        return index
    index.nprobe = int(params.get("nprobe", 8))
    if "refine_k" in params:
        if refine is None:
            raise SystemExit("refine_k is for IVF_PQ")
        refine.k_factor = float(params["refine_k"])
        return refine
    return index


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("queries")
    ap.add_argument("gt")
    ap.add_argument("--metric", choices=["L2", "IP"], default="L2")
    ap.add_argument("--index", required=True, choices=["IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW"])
    ap.add_argument("--build", default="{}")
    ap.add_argument("--search", default="[{}]")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--build-threads", type=int, help="threads for training and adding (default --threads)")
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.build_threads or a.threads)
    base = read_vecs(a.base, np.float32)
    queries = read_vecs(a.queries, np.float32)
    gt = read_vecs(a.gt, np.int32)[:, : a.k]
    dim = base.shape[1]

    searches = json.loads(a.search)
    t0 = time.perf_counter()
    c0 = time.process_time()
    index, quantizer = build(a.index, a.metric, dim, json.loads(a.build))
    # IndexRefineFlat must see the rows as they are added, so it wraps the index before training when any setting
    # re-ranks; it keeps its own copy of the raw vectors (counted in index_bytes), where Quiver reads the segment's.
    refine = faiss.IndexRefineFlat(index) if any("refine_k" in p for p in searches) else None
    (refine or index).train(base)
    (refine or index).add(base)
    build_seconds = time.perf_counter() - t0
    build_cpu_seconds = time.process_time() - c0
    faiss.omp_set_num_threads(a.threads)
    index_bytes = int(faiss.serialize_index(refine or index).nbytes)
    print(f"faiss {a.index} {a.build}: built in {build_seconds:.2f} s, {index_bytes} bytes", file=sys.stderr)

    runs = []
    for params in searches:
        searcher = configure(a.index, index, refine, params)
        nq = len(queries)
        found = np.empty((nq, a.k), dtype=np.int64)
        step = a.batch if a.batch > 0 else 1
        searcher.search(queries[: min(nq, 200)], a.k)  # warm-up
        latencies = []
        cpu_start = time.process_time()
        start = time.perf_counter()
        for i in range(0, nq, step):
            t = time.perf_counter_ns()
            _, ids = searcher.search(queries[i: i + step], a.k)
            latencies.append((time.perf_counter_ns() - t) / 1000.0)
            found[i: i + step] = ids
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        recall = float(np.mean([len(set(found[i]) & set(gt[i])) / a.k for i in range(nq)]))
        lat = np.array(latencies)
        run = {"params": params, "recall": round(recall, 5), "qps": round(nq / total, 1),
               "p50_us": round(float(np.percentile(lat, 50)), 1), "p99_us": round(float(np.percentile(lat, 99)), 1),
               "cpu_us": round(cpu * 1e6 / nq, 1)}
        print(json.dumps(run), file=sys.stderr)
        runs.append(run)

    out = {"name": "faiss", "index": a.index, "build": json.loads(a.build), "metric": a.metric, "threads": a.threads,
           "build_seconds": round(build_seconds, 3), "build_cpu_seconds": round(build_cpu_seconds, 3), "index_bytes": index_bytes, "peak_rss_bytes": peak_rss(), "runs": runs}
    text = json.dumps(out, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
