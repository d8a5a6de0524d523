#!/usr/bin/python3
"""Fashion-MNIST (gzipped IDX, as Debian's dataset-fashion-mnist ships it) to .fvecs/.ivecs for the ANN peers.

Writes OUT/base.fvecs (60,000 train images), OUT/queries.fvecs (the 10,000 test images, or the first --queries) and
OUT/gt.ivecs (exact top --gt-k rows per query by squared L2 or inner product, computed in float64 with numpy).
Pixels become float32 0..255. Skips the work when the outputs are newer than the inputs.

usage: fmnist_to_fvecs.py [--src /usr/share/datasets/fashion-mnist] [--out bench/data/fashion-mnist]
                          [--queries 10000] [--gt-k 100] [--metric L2|IP] [--normalize]
--normalize scales every vector to unit length (so IP ranks as cosine), giving float data that 8-bit codes do not hold
exactly, unlike the raw 0..255 pixels.
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">iiii", f.read(16))
        if magic != 0x0803:
            sys.exit(f"{path}: not an IDX3 image file (magic {magic:#x})")
        pixels = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return pixels.reshape(count, rows * cols).astype(np.float32)


def write_vecs(path, matrix, dtype):
    matrix = np.ascontiguousarray(matrix, dtype=dtype)
    n, d = matrix.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = matrix.view(np.int32)
    tmp = path + ".tmp"
    out.tofile(tmp)
    os.replace(tmp, path)


def ground_truth(base, queries, k, metric):
    b = base.astype(np.float64)
    norms = (b * b).sum(axis=1)
    gt = np.empty((len(queries), k), dtype=np.int32)
    for start in range(0, len(queries), 500):
        q = queries[start:start + 500].astype(np.float64)
        dots = q @ b.T
        # Smaller is closer; ties broken by row number like the engine's oracle.
        keys = norms[None, :] - 2 * dots if metric == "L2" else -dots
        part = np.argpartition(keys, k, axis=1)[:, :k]
        for i in range(len(q)):
            rows = part[i]
            order = np.lexsort((rows, keys[i, rows]))
            gt[start + i] = rows[order]
    return gt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "data", "fashion-mnist"))
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--gt-k", type=int, default=100)
    ap.add_argument("--metric", choices=["L2", "IP"], default="L2")
    ap.add_argument("--normalize", action="store_true")
    a = ap.parse_args()
    if a.normalize and a.out == ap.get_default("out"):
        a.out += "-unit"
    train = os.path.join(a.src, "train-images-idx3-ubyte.gz")
    test = os.path.join(a.src, "t10k-images-idx3-ubyte.gz")
    os.makedirs(a.out, exist_ok=True)
    suffix = "" if a.metric == "L2" else "-ip"
    outputs = [os.path.join(a.out, n) for n in ("base.fvecs", "queries.fvecs", f"gt{suffix}.ivecs")]
    newest_input = max(os.path.getmtime(train), os.path.getmtime(test), os.path.getmtime(__file__))
    if all(os.path.exists(p) and os.path.getmtime(p) > newest_input for p in outputs):
        print(f"up to date: {a.out}")
        return
    base = read_idx_images(train)
    queries = read_idx_images(test)[: a.queries]
    if a.normalize:
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    write_vecs(outputs[0], base, np.float32)
    write_vecs(outputs[1], queries, np.float32)
    write_vecs(outputs[2], ground_truth(base, queries, a.gt_k, a.metric), np.int32)
    print(f"wrote {len(base)} base, {len(queries)} queries, top-{a.gt_k} {a.metric} ground truth to {a.out}")


if __name__ == "__main__":
    main()
