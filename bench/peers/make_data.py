#!/usr/bin/python3
"""Writes the IVF benchmark data sets as .fvecs/.ivecs (per vector: int32 dimension, then the values) with exact
ground truth from faiss.IndexFlatL2 (or IndexFlatIP with --metric IP):

  make_data.py fmnist    [--out bench/data] [--nq 10000]   Fashion-MNIST: train (60,000 x 784) = base, t10k = queries
  make_data.py synthetic [--out bench/data] [--nq 1000] [--n 500000] [--dim 128] [--seed 42]
      a seeded Gaussian mixture: 1,000 centres ~ N(0, 1), rows = centre + N(0, 0.6^2) per dimension

Writes OUT/NAME/{base.fvecs, queries.fvecs, gt.ivecs} (gt: the 100 nearest base rows of each query, best first).
Run with Debian's /usr/bin/python3 (python3-faiss, python3-numpy)."""
import argparse
import gzip
import os
import struct
import sys
import time

import faiss
import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(FMNIST, name), "rb") as f:
        magic, count, rows, cols = struct.unpack(">iiii", f.read(16))
        if magic != 0x0803:
            raise ValueError(f"{name}: not an IDX3 file")
        return np.frombuffer(f.read(count * rows * cols), dtype=np.uint8).reshape(count, rows * cols).astype("float32")


def write_vecs(path, array):
    n, d = array.shape
    out = np.empty((n, d + 1), dtype=array.dtype if array.dtype == np.int32 else np.float32)
    out.view(np.int32)[:, 0] = d
    out[:, 1:] = array
    out.tofile(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=["fmnist", "synthetic"])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    ap.add_argument("--nq", type=int)
    ap.add_argument("--n", type=int, default=500_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--metric", choices=["L2", "IP"], default="L2")
    ap.add_argument("--gt-k", type=int, default=100)
    a = ap.parse_args()

    if a.name == "fmnist":
        base = read_idx("train-images-idx3-ubyte.gz")
        queries = read_idx("t10k-images-idx3-ubyte.gz")[: a.nq or 10_000]
    else:
        rng = np.random.default_rng(a.seed)
        centres = rng.standard_normal((1000, a.dim), dtype=np.float32)
        nq = a.nq or 1000
        labels = rng.integers(0, len(centres), a.n + nq)
        data = centres[labels] + 0.6 * rng.standard_normal((a.n + nq, a.dim), dtype=np.float32)
        base, queries = np.ascontiguousarray(data[: a.n]), np.ascontiguousarray(data[a.n:])

    folder = os.path.join(a.out, a.name + ("" if a.metric == "L2" else "-ip"))
    os.makedirs(folder, exist_ok=True)
    t0 = time.time()
    flat = faiss.IndexFlatL2(base.shape[1]) if a.metric == "L2" else faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    _, gt = flat.search(queries, a.gt_k)
    write_vecs(os.path.join(folder, "base.fvecs"), base)
    write_vecs(os.path.join(folder, "queries.fvecs"), queries)
    write_vecs(os.path.join(folder, "gt.ivecs"), gt.astype(np.int32))
    print(f"{folder}: base {base.shape}, queries {queries.shape}, gt top-{a.gt_k} ({a.metric}) in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
