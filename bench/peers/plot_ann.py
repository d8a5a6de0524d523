#!/usr/bin/python3
"""Report of bench/ann.sh for one data set: reads the JSON every system wrote (`quiver bench ann --json`, and the peers
with the same shape: name, index, build_seconds, index_bytes, peak_rss_bytes, runs[{params, recall, qps, p50_us,
p99_us}]) and writes

- a markdown table (--md): every run of every system/index, then per index the ratios ours / peer: QPS at recall@k
  >= 0.95 and >= 0.99, build time, index bytes and peak RSS;
- a recall-vs-QPS plot (--png): log QPS against recall, one line per system/index (needs matplotlib).

QPS at a target recall: the runs' Pareto frontier (the best QPS reaching at least each recall), then log QPS linearly
interpolated between the frontier points either side of the target; a system whose runs all exceed the target takes
its best QPS among them (no extrapolation); one whose runs never reach it has none ("not reached").

Run with Debian's /usr/bin/python3 (python3-matplotlib)."""
import argparse
import datetime
import json
import math
import os
import platform

OURS = "quiver"
TARGETS = (0.95, 0.99)


def load(paths):
    results = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        r.setdefault("name", os.path.basename(p).split("-")[0])
        r["runs"] = [x for x in r.get("runs", []) if x.get("qps", 0) > 0]
        results.append(r)
    return results


def qps_at(runs, target):
    """QPS at recall >= target on the Pareto frontier, interpolated in log QPS; None when never reached."""
    pts = sorted(((r["recall"], r["qps"]) for r in runs), key=lambda p: (-p[0], -p[1]))
    frontier = []  # recall descending, QPS strictly rising
    for rec, q in pts:
        if not frontier or q > frontier[-1][1]:
            frontier.append((rec, q))
    frontier.reverse()  # recall ascending, QPS falling
    above = [p for p in frontier if p[0] >= target]
    if not above:
        return None
    hi = above[0]
    below = [p for p in frontier if p[0] < target]
    if not below:
        return hi[1]
    lo = below[-1]
    t = (target - lo[0]) / (hi[0] - lo[0])
    return math.exp(math.log(lo[1]) + t * (math.log(hi[1]) - math.log(lo[1])))


def fmt_params(p):
    return json.dumps(p, separators=(",", ":")) if p else "{}"


def mb(b):
    return "-" if b is None else f"{b / 1e6:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} vCPUs, {model or platform.processor()}, Linux {platform.release()}"


def table(results, args):
    first = next((r for r in results if r["name"] == OURS), results[0] if results else {})
    k = first.get("k", 10)
    lines = [
        f"# ANN recall vs speed: {args.dataset}",
        "",
        f"Measured {datetime.date.today().isoformat()} by `bench/ann.sh`, all systems in the same run on the same files. "
        f"{first.get('rows', '?')} x {first.get('dim', '?')} base vectors, {first.get('queries', '?')} queries, L2, top-{k}; "
        f"search on {args.threads} thread(s), one query per call; builds on {args.build_threads} thread(s) where the system takes a "
        f"thread count. Machine: {machine()}.",
        "",
        "index MB: Quiver's excludes the raw vectors, which stay in the segment (FLAT holds nothing); hnswlib and FAISS "
        "count the vectors they copy in. Peak RSS is the whole process (data, index, runtime) and compares like with like.",
        "",
        f"| system | index | build params | search params | recall@{k} | QPS | p50 us | p99 us | build s | index MB | peak RSS MB |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(results, key=lambda r: (r["index"], r["name"] != OURS, r["name"])):
        for i, run in enumerate(r["runs"]):
            head = i == 0
            lines.append(
                f"| {r['name']} | {r['index']} | {fmt_params(r.get('build_params') or r.get('build')) if head else ''} | {fmt_params(run['params'])} | "
                f"{run['recall']:.4f} | {run['qps']:.1f} | {run['p50_us']:.1f} | {run['p99_us']:.1f} | "
                f"{(format(r['build_seconds'], '.2f') if head else '')} | {(mb(r.get('index_bytes')) if head else '')} | "
                f"{(mb(r.get('peak_rss_bytes')) if head else '')} |"
            )

    lines += [
        "",
        "## Ours / peer",
        "",
        "QPS at a recall target: interpolated on each system's recall-QPS frontier (see bench/README.md). A ratio above 1 "
        "means Quiver is faster (QPS) or, for build time and memory, costlier.",
        "",
        "| index | peer | " + " | ".join(f"QPS @ recall {t} (ours / peer = ratio)" for t in TARGETS)
        + " | build s ratio | index bytes ratio | peak RSS ratio |",
        "| --- | --- | " + " | ".join("---:" for _ in TARGETS) + " | ---: | ---: | ---: |",
    ]
    any_ratio = False
    for ours in (r for r in results if r["name"] == OURS):
        for peer in (r for r in results if r["index"] == ours["index"] and r["name"] != OURS):
            any_ratio = True
            cells = []
            for t in TARGETS:
                a, b = qps_at(ours["runs"], t), qps_at(peer["runs"], t)
                cells.append(
                    f"{a:.0f} / {b:.0f} = **{a / b:.2f}**" if a and b
                    else f"{'not reached' if a is None else f'{a:.0f}'} / {'not reached' if b is None else f'{b:.0f}'}"
                )
            lines.append(
                f"| {ours['index']} | {peer['name']} | " + " | ".join(cells)
                + f" | {ratio(ours['build_seconds'], peer['build_seconds'])} | {ratio(ours.get('index_bytes'), peer.get('index_bytes'))} | "
                f"{ratio(ours.get('peak_rss_bytes'), peer.get('peak_rss_bytes'))} |"
            )
    if not any_ratio:
        lines.append("| - | no peer measured the same index in this run | | | | | |")

    skipped = []
    if args.skipped and os.path.exists(args.skipped):
        with open(args.skipped) as f:
            skipped = [l.strip() for l in f if l.strip()]
    if skipped:
        lines += ["", "## Not measured in this run", ""] + [f"- {s}" for s in skipped]
    if args.png:
        lines += ["", f"![recall vs QPS]({os.path.basename(args.png)})"]
    return "\n".join(lines) + "\n"


def plot(results, args):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_ann.py: matplotlib not available (python3-matplotlib); no plot")
        return False
    fig, ax = plt.subplots(figsize=(9, 6))
    # Colour by index type, line and marker by system, so every line is distinct and peers of one index share a hue.
    indexes = sorted({r["index"] for r in results})
    systems = sorted({r["name"] for r in results}, key=lambda n: (n != OURS, n))
    palette = plt.get_cmap("tab10")
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
    for r in sorted(results, key=lambda r: (r["index"], r["name"])):
        runs = sorted(r["runs"], key=lambda x: x["recall"])
        if not runs:
            continue
        line, mark = styles[systems.index(r["name"]) % len(styles)]
        ax.plot([x["recall"] for x in runs], [x["qps"] for x in runs], color=palette(indexes.index(r["index"]) % 10),
                marker=mark, markersize=3, linestyle=line, label=f"{r['name']} {r['index']}")
    ax.set_yscale("log")
    ax.set_xlabel("recall@k")
    ax.set_ylabel("queries per second (log)")
    ax.set_title(f"{args.dataset}: recall vs QPS, {args.threads} search thread(s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="*", help="JSON files of `quiver bench ann` and the peers")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--png")
    ap.add_argument("--skipped", help="a file of 'skipped: ...' lines to list")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--build-threads", default="?")
    args = ap.parse_args()

    results = load(args.results)
    if args.png and not plot(results, args):
        args.png = None
    text = table(results, args)
    with open(args.md, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
