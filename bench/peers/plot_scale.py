#!/usr/bin/python3
"""QPS against rows at equal recall, from the JSON files `Quiver.Bench scale --out PREFIX` writes (PREFIX.json: sets and
points, each point with Transport, Params, K, Filter, Clients, Qps, P50, CpuMs and Recall), and from the native hnswlib
peer's `--json` files (bench/peers/hnswlib_native.cpp: rows, k and one run per ef with qps, cpu_qps and recall; its
transport is `hnswlib-native`), so the peer's curve sits beside the engine's at the same rows.

For each input file, transport (index alone, embedded, ...) and set, the unfiltered one-client points of top-k K are a
sweep over the search parameters; the figure at a target recall is read from the sweep's Pareto frontier (the best
value reaching at least each recall), log-interpolated between the frontier points either side of the target; a sweep
whose points all exceed the target takes its best point; one that never reaches it has none (not plotted, listed).
Two figures per point: wall-clock QPS (one query per call, one thread) and queries per CPU-second of the process
(1000 / CPU ms per call), which does not depend on how long the process waited for a core on a shared machine.

Writes an SVG (no plotting package needed) and prints a markdown table of what it plotted.

    /usr/bin/python3 bench/peers/plot_scale.py --recall 0.95 --svg bench/results/scale-qps-rows.svg bench/results/scale-*.json
"""
import argparse
import json
import math


def frontier_value(points, target, key):
    """Best `key` among points reaching `target` recall, interpolated on the frontier (see the module's text)."""
    pts = sorted((p for p in points if p.get(key) not in (None, 0) and not math.isnan(p["recall"])), key=lambda p: p["recall"])
    if not pts:
        return None
    # Frontier: for each recall, the best value among points with at least that recall.
    frontier = []
    best = 0.0
    for p in reversed(pts):
        if p[key] > best:
            best = p[key]
            frontier.append((p["recall"], p[key]))
    frontier.reverse()
    above = [f for f in frontier if f[0] >= target]
    below = [f for f in frontier if f[0] < target]
    if not above:
        return None
    if not below:
        return max(v for _, v in above)
    (r0, v0), (r1, v1) = below[-1], above[0]
    t = (target - r0) / (r1 - r0)
    return math.exp(math.log(v0) + t * (math.log(v1) - math.log(v0)))


def series(files, k, target, join=False):
    out = {}
    for path in files:
        with open(path) as f:
            run = json.load(f)
        # --join: one line per transport across the files (one file per size), not one per file.
        label = "quiver" if join else path.rsplit("/", 1)[-1].removesuffix(".json")
        if "runs" in run:  # the native hnswlib peer: one graph of `rows` vectors, one thread, one query per call
            if run["k"] != k:
                continue
            # One file per size: the peer's sizes make one line, named by its build parameters.
            label = f"M{run['M']} efC{run['efc']}"
            for r in run["runs"]:
                p = {"recall": float(r["recall"]), "qps": r["qps"], "cpuQps": r["cpu_qps"], "params": r["params"]}
                out.setdefault((label, run["name"]), {}).setdefault(run["rows"], []).append(p)
            continue
        for p in run["points"]:
            p = {key.lower(): value for key, value in p.items()}  # the harness writes PascalCase names
            if p["k"] != k or p["filter"] != "none" or p["clients"] != 1 or p["recall"] is None:
                continue
            p["recall"] = float(p["recall"]) if p["recall"] not in ("NaN", None) else float("nan")
            cpu = p.get("cpums")
            p["cpuQps"] = 1000.0 / float(cpu) if cpu not in (None, "NaN") and float(cpu) > 0 else None
            out.setdefault((label, p["transport"]), {}).setdefault(p["rows"], []).append(p)
    result = []
    for (label, transport), by_rows in sorted(out.items()):
        line = []
        for rows, pts in sorted(by_rows.items()):
            line.append((rows, frontier_value(pts, target, "qps"), frontier_value(pts, target, "cpuQps"), any(p["cpuQps"] for p in pts)))
        result.append((label, transport, line))
    return result


COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def svg(lines, title, key_index, ylabel):
    w, h, left, right, top, bottom = 760, 420, 70, 250, 40, 50
    vals = [(x[0], x[key_index]) for _, _, line in lines for x in line if x[key_index]]
    if not vals:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><text x="10" y="20">{title}: no points</text></svg>'
    xmin, xmax = math.floor(math.log10(min(r for r, _ in vals))), math.ceil(math.log10(max(r for r, _ in vals)))
    ymin, ymax = math.floor(math.log10(min(v for _, v in vals))), math.ceil(math.log10(max(v for _, v in vals)))
    xmax = max(xmax, xmin + 1)
    ymax = max(ymax, ymin + 1)

    def X(r):
        return left + (math.log10(r) - xmin) / (xmax - xmin) * (w - left - right)

    def Y(v):
        return h - bottom - (math.log10(v) - ymin) / (ymax - ymin) * (h - top - bottom)

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<rect width="{w}" height="{h}" fill="white"/>',
         f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for d in range(xmin, xmax + 1):
        s.append(f'<line x1="{X(10 ** d):.1f}" y1="{top}" x2="{X(10 ** d):.1f}" y2="{h - bottom}" stroke="#ddd"/>')
        s.append(f'<text x="{X(10 ** d):.1f}" y="{h - bottom + 16}" text-anchor="middle">1e{d}</text>')
    for d in range(ymin, ymax + 1):
        s.append(f'<line x1="{left}" y1="{Y(10 ** d):.1f}" x2="{w - right}" y2="{Y(10 ** d):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{left - 6}" y="{Y(10 ** d) + 4:.1f}" text-anchor="end">{10 ** d:g}</text>')
    s.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">rows</text>')
    s.append(f'<text x="16" y="{(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 {(top + h - bottom) / 2})">{ylabel}</text>')
    i = 0
    for label, transport, line in lines:
        pts = [(x[0], x[key_index]) for x in line if x[key_index]]
        if not pts:
            continue
        c = COLORS[i % len(COLORS)]
        s.append(f'<polyline points="{" ".join(f"{X(r):.1f},{Y(v):.1f}" for r, v in pts)}" fill="none" stroke="{c}" stroke-width="2"/>')
        for r, v in pts:
            s.append(f'<circle cx="{X(r):.1f}" cy="{Y(v):.1f}" r="3" fill="{c}"><title>{label} {transport} {r} rows: {v:.0f}</title></circle>')
        y = top + 10 + i * 18
        s.append(f'<line x1="{w - right + 12}" y1="{y}" x2="{w - right + 32}" y2="{y}" stroke="{c}" stroke-width="2"/>')
        s.append(f'<text x="{w - right + 38}" y="{y + 4}">{transport} ({label})</text>')
        i += 1
    s.append("</svg>")
    return "\n".join(s)


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("files", nargs="+")
    a.add_argument("--k", type=int, default=10)
    a.add_argument("--recall", type=float, default=0.95)
    a.add_argument("--svg", required=True, help="output; the CPU figure goes to the same name with -cpu before .svg")
    a.add_argument("--join", action="store_true", help="join the scale runs' points by transport across files (one file per size)")
    args = a.parse_args()
    lines = series(args.files, args.k, args.recall, args.join)
    with open(args.svg, "w") as f:
        f.write(svg(lines, f"QPS at recall@{args.k} {args.recall} against rows (one thread, wall clock)", 1, "queries per second"))
    cpu_path = args.svg.removesuffix(".svg") + "-cpu.svg"
    with open(cpu_path, "w") as f:
        f.write(svg(lines, f"Queries per CPU-second at recall@{args.k} {args.recall} against rows", 2, "queries per CPU-second"))
    print(f"| run | transport | rows | QPS at recall {args.recall} | queries per CPU-second at recall {args.recall} |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, transport, line in lines:
        for rows, qps, cpu, has_cpu in line:
            cpu_text = "not measured" if not has_cpu else "not reached" if cpu is None else f"{cpu:.0f}"
            print(f"| {label} | {transport} | {rows} | {'not reached' if qps is None else f'{qps:.0f}'} | {cpu_text} |")
    print(f"wrote {args.svg}, {cpu_path}")


if __name__ == "__main__":
    main()
