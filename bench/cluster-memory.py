#!/usr/bin/env python3
"""Memory per node from bench/cluster.sh's JSON lines (run with WARM=ROWS): for each target and each of its processes,
the resident growth from idle to warm (the warm-up collection: what serving at all costs a process) and from warm to
loaded (what the measured collection adds, the part that should fall as 1/N), each split into the kinds of
`kinds` in bench/cluster.sh (managed assemblies, native libraries, the runtime's executable memory, anonymous memory),
the collector's committed memory at each point, the thread count, and each growth's ratio to the one-node cluster's.
Usage: bench/cluster.sh ... | tee RESULT.jsonl; bench/cluster-memory.py RESULT.jsonl"""
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
mem = [r for r in rows if "rssWarmKiB" in r]
mib = lambda kib: kib / 1024
one = {}
print("| target | process (shards) | idle | idle->warm (dll/so/exec/anon; GC committed) | warm->loaded (dll/so/exec/anon; GC committed) | threads idle/warm/loaded | loaded/one node: idle->loaded, warm->loaded |")
print("| --- | --- | ---: | --- | --- | --- | --- |")
for r in mem:
    t = r["target"]
    for i, idle in enumerate(r["rssBeforeKiB"]):
        warm, loaded = r["rssWarmKiB"][i], r["rssKiB"][i]
        k0, k1, k2 = r["rssBeforeKinds"][i], r["rssWarmKinds"][i], r["rssKinds"][i]
        g0, g1, g2 = r["gcBeforeMiB"][i], r["gcWarmMiB"][i], r["gcMiB"][i]
        d = lambda a, b: "/".join("%+.0f" % (b[k] - a[k]) for k in ("dll", "so", "exec", "anon"))
        whole, share = mib(loaded - idle), mib(loaded - warm)
        if t == "cluster-1":
            one = {"whole": whole, "share": share}
        ratio = "" if t in ("cluster-1", "standalone") or not one else "%.2fx, %.2fx" % (whole / one["whole"], share / one["share"])
        held = r.get("shardsByNode", [[]] * len(r["rssKiB"]))[i]
        threads = "%s/%s/%s" % (r["rssBeforeThreads"][i], r["rssWarmThreads"][i], r["rssThreads"][i])
        print("| %s | %s (%s) | %.0f | %+.0f (%s; %+.0f) | %+.0f (%s; %+.0f) | %s | %s |" % (
            t, i, ",".join(map(str, held)), mib(idle), mib(warm - idle), d(k0, k1), g1["committed"] - g0["committed"],
            share, d(k1, k2), g2["committed"] - g1["committed"], threads, ratio))
