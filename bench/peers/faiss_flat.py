#!/usr/bin/python3
"""FAISS peer of `Quiver.Bench flat`: the same Fashion-MNIST data loaded the same way (IDX pixels as float32 0..255),
faiss.IndexFlatL2, one thread, the same first Q test images as queries. Times one query per call and batches of
--batch queries, and prints one JSON object. With --check OURS.json (written by `Quiver.Bench flat --json`), compares
FAISS's top-k ids with the exact brute force our run recorded (`check_ids`), accepting differences only among exact ties.

Run with Debian's /usr/bin/python3 (python3-faiss, python3-numpy, python3-threadpoolctl)."""
import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time

import numpy as np


def read_idx_images(folder, name):
    for path in (os.path.join(folder, name + ".gz"), os.path.join(folder, name)):
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                magic, count, rows, cols = struct.unpack(">iiii", f.read(16))
                if magic != 0x0803:
                    raise ValueError(f"{path}: not an IDX3 file (magic {magic:#x})")
                data = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
            return data.reshape(count, rows * cols).astype("float32")
    raise FileNotFoundError(f"{name}(.gz) not in {folder}; run scripts/bench-setup.sh")


def blas_info():
    """Which BLAS library and kernel (OpenBLAS 'architecture') the batched search's sgemm runs."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"note": "threadpoolctl not available; BLAS kernel unknown"}
    return [
        {k: v for k, v in i.items() if k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")}
        for i in threadpool_info()
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--check", help="our flat --json output, for the id comparison")
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args()

    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(1)
    train = read_idx_images(args.data_dir, "train-images-idx3-ubyte")
    test = read_idx_images(args.data_dir, "t10k-images-idx3-ubyte")
    queries = np.ascontiguousarray(test[: args.queries])
    nq, k = len(queries), args.k
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(train)

    out = {
        "benchmark": "faiss_flat",
        "faiss_version": faiss.__version__,
        "machine": f"{os.cpu_count()} logical cpus, {platform.platform()}, numpy {np.__version__}",
        "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "env_OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "rows": int(train.shape[0]), "dim": int(train.shape[1]), "queries": nq, "k": k, "batch": args.batch,
        # FAISS uses its own SIMD loop below distance_compute_blas_threshold queries per call, BLAS sgemm at or above.
        "blas_threshold": int(faiss.cvar.distance_compute_blas_threshold),
    }

    with threadpool_limits(limits=1):
        out["blas"] = blas_info()
        for i in range(args.warmup):
            index.search(queries[i % nq : i % nq + 1], k)
        lat = []
        t_all = time.perf_counter()
        for i in range(nq):
            t = time.perf_counter()
            index.search(queries[i : i + 1], k)
            lat.append((time.perf_counter() - t) * 1000)
        single_s = time.perf_counter() - t_all
        lat.sort()
        out["single_qps"] = nq / single_s
        out["single_p50_ms"] = lat[max(0, int(np.ceil(0.50 * nq)) - 1)]
        out["single_p99_ms"] = lat[max(0, int(np.ceil(0.99 * nq)) - 1)]
        out["single_mean_ms"] = single_s * 1000 / nq

        calls = max(1, nq // args.batch)
        index.search(queries[: args.batch], k)
        t = time.perf_counter()
        timed = 0
        for c in range(calls):
            block = queries[c * args.batch : (c + 1) * args.batch]
            index.search(block, k)
            timed += len(block)
        batched_s = time.perf_counter() - t
        out["batched_qps"] = timed / batched_s
        out["batched_ms_per_call"] = batched_s * 1000 / calls

    if args.check:
        with open(args.check) as f:
            ours = json.load(f)
        reference = ours["check_ids"]
        _, ids = index.search(queries[: len(reference)], k)
        failures = tied = 0
        for i, ref in enumerate(reference):
            got = [int(x) for x in ids[i]]
            if got == ref:
                continue
            q = queries[i].astype(np.float64)
            exact = lambda r: float(((train[r].astype(np.float64) - q) ** 2).sum())
            if all(exact(a) == exact(b) for a, b in zip(got, ref)):
                tied += 1
            else:
                failures += 1
                print(f"check: query {i}: faiss {got} != brute force {ref}", file=sys.stderr)
        out["check_queries"] = len(reference)
        out["check_failures"] = failures
        out["check_tie_differences"] = tied

    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 1 if out.get("check_failures") else 0


if __name__ == "__main__":
    sys.exit(main())
