using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quiver.Distance;
using Quiver.Indexing;
using Quiver.Segments;

namespace Quiver.Bench;

/// <summary><c>segments</c>: what splitting one collection into k segments costs, the figure behind the engine's segment
/// size (docs/engine.md, "Segment size"). The same N seeded clustered rows are split into k equal segments for each k of
/// <c>--splits</c>; each segment gets its own HNSW index (built one after another, as the engine's scheduler does), and
/// every query walks all k graphs and merges their top-k, as <c>FlatSearch</c> does. Reported per k: build wall and CPU
/// seconds, the largest single index (the memory one build needs besides the vectors), search QPS on one thread at a
/// fixed ef, recall@k against the exact answer, and the QPS of an exact scan over one segment's rows (what a growing
/// segment of that size costs every search); search figures are medians of <c>--rounds</c> interleaved rounds.
/// Usage: <c>segments [--rows 100000] [--dim 128] [--splits 1,2,4,8] [--M 16] [--efc 200] [--ef 64] [--k 10] [--nq 300]
/// [--rounds 5] [--threads 2] [--seed 42] [--json out.json]</c>.</summary>
internal static class SegmentsBench
{
    public static int Run(CommandLine o)
    {
        o.RejectUnknown("rows", "dim", "splits", "M", "efc", "ef", "k", "nq", "rounds", "threads", "seed", "json");
        var n = o.Int("rows", 100_000);
        var dim = o.Int("dim", 128);
        var m = o.Int("M", 16);
        var efc = o.Int("efc", 200);
        var ef = o.Int("ef", 64);
        var k = o.Int("k", 10);
        var nq = o.Int("nq", 300);
        var threads = o.Int("threads", 2);
        var seed = o.Int("seed", 42);
        var rounds = o.Int("rounds", 5);
        var splits = o.Text("splits", "1,2,4,8").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (splits.Any(s => s < 1 || n / s < k))
        {
            throw new ArgumentException($"--splits: each must be at least 1 and leave at least k={k} rows a segment");
        }

        var (data, queries) = Clustered(n, dim, nq, seed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n} x {dim} clustered rows, seed {seed}; HNSW M {m} efc {efc}, ef {ef}, k {k}; {Report.Machine()}"));
        var truth = ExactTopK(data, n, dim, queries, nq, k);
        var p = IndexParameters.FromJson($$"""{"M": {{m}}, "efConstruction": {{efc}}}""");
        var results = new List<Dictionary<string, object>>();
        var built = new List<(int Split, int Per, VectorStore[] Stores, VectorIndex[] Indexes)>();
        try
        {
            foreach (var split in splits)
            {
                var per = n / split;
                var stores = new VectorStore[split];
                var indexes = new VectorIndex[split];
                var t0 = Stopwatch.GetTimestamp();
                var c0 = HnswBench.CpuSeconds();
                long largest = 0;
                for (var s = 0; s < split; s++)
                {
                    var rows = s == split - 1 ? n - (per * s) : per;
                    stores[s] = new VectorStore(dim, rows);
                    stores[s].Append(data.AsSpan(s * per * dim, rows * dim), 0);
                    indexes[s] = IndexFactory.Build(IndexKind.Hnsw, MetricType.L2, p, stores[s].View(rows), new IndexBuildOptions(threads, seed + s), default);
                    largest = Math.Max(largest, indexes[s].MemoryBytes);
                }

                built.Add((split, per, stores, indexes));
                results.Add(new Dictionary<string, object>
                {
                    ["segments"] = split,
                    ["rows_per_segment"] = per,
                    ["build_seconds"] = Stopwatch.GetElapsedTime(t0).TotalSeconds,
                    ["build_cpu_seconds"] = HnswBench.CpuSeconds() - c0,
                    ["largest_index_bytes"] = largest,
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"built {split} x {per} rows: {results[^1]["build_cpu_seconds"]:F1} cpu s"));
            }

            // The machine is shared: searches of every layout alternate, round after round, and each layout reports its
            // median round, so that a burst of load elsewhere slows one round of all layouts rather than one layout.
            var qps = built.Select(_ => new List<double>()).ToArray();
            var scan = built.Select(_ => new List<double>()).ToArray();
            var recall = new double[built.Count];
            for (var round = 0; round < rounds; round++)
            {
                for (var b = 0; b < built.Count; b++)
                {
                    var (_, per, stores, indexes) = built[b];
                    var (q, r) = Search(indexes, per, queries, nq, dim, k, ef, truth);
                    qps[b].Add(q);
                    recall[b] = r;
                    scan[b].Add(ExactScanQps(stores[0].View(per), queries, nq, dim));
                }
            }

            Console.WriteLine("segments  rows/seg  build s  build cpu s  largest index MiB   qps(1 thread)  recall  exact-scan qps (one segment)");
            for (var b = 0; b < built.Count; b++)
            {
                var r = results[b];
                r["qps"] = Median(qps[b]);
                r["recall"] = recall[b];
                r["exact_scan_qps_one_segment"] = Median(scan[b]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r["segments"],8}  {r["rows_per_segment"],8}  {r["build_seconds"],7:F1}  {r["build_cpu_seconds"],11:F1}  {(long)r["largest_index_bytes"] / 1048576.0,17:F1}  {r["qps"],14:F0}  {recall[b],6:F4}  {r["exact_scan_qps_one_segment"],8:F1}"));
            }
        }
        finally
        {
            foreach (var (_, _, _, indexes) in built)
            {
                foreach (var index in indexes)
                {
                    index.Dispose();
                }
            }
        }

        var first = results[0];
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r["segments"],3} segments vs {first["segments"]}: search qps x{(double)r["qps"] / (double)first["qps"]:F2}, build cpu x{(double)r["build_cpu_seconds"] / (double)first["build_cpu_seconds"]:F2}, largest index x{(double)(long)r["largest_index_bytes"] / (long)first["largest_index_bytes"]:F2}"));
        }

        if (o.Text("json") is { } json)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["rows"] = n, ["dim"] = dim, ["M"] = m, ["efc"] = efc, ["ef"] = ef, ["k"] = k, ["nq"] = nq, ["rounds"] = rounds, ["threads"] = threads, ["seed"] = seed,
                ["machine"] = Report.Machine(), ["runs"] = results,
            }) + "\n");
        }

        return 0;
    }

    /// <summary>Each query walks every segment's graph and keeps the best k of all their hits: the engine's fan-out.</summary>
    private static (double Qps, double Recall) Search(VectorIndex[] indexes, int per, float[] queries, int nq, int dim, int k, int ef, int[] truth)
    {
        var sp = new AnnSearchParams(Ef: ef);
        var hits = new IndexHit[k];
        var merged = new List<(float Key, int Id)>(k * indexes.Length);
        long found = 0;
        var start = Stopwatch.GetTimestamp();
        for (var q = 0; q < nq; q++)
        {
            merged.Clear();
            var query = queries.AsSpan(q * dim, dim);
            for (var s = 0; s < indexes.Length; s++)
            {
                var got = indexes[s].Search(query, k, sp, null, hits);
                for (var i = 0; i < got; i++)
                {
                    merged.Add((hits[i].Key, (s * per) + hits[i].Row));
                }
            }

            merged.Sort((a, b) => a.Key.CompareTo(b.Key));
            var want = truth.AsSpan(q * k, k);
            for (var i = 0; i < Math.Min(k, merged.Count); i++)
            {
                found += want.Contains(merged[i].Id) ? 1 : 0;
            }
        }

        return (nq / Stopwatch.GetElapsedTime(start).TotalSeconds, found / ((double)nq * k));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>Queries a second an exact L2 scan of one segment's rows answers (one thread).</summary>
    private static double ExactScanQps(VectorView view, float[] queries, int nq, int dim)
    {
        var runs = Math.Max(1, Math.Min(nq, 50));
        var sink = 0f;
        var start = Stopwatch.GetTimestamp();
        for (var q = 0; q < runs; q++)
        {
            var query = queries.AsSpan(q * dim, dim);
            var best = float.MaxValue;
            for (var r = 0; r < view.Count; r++)
            {
                best = Math.Min(best, VectorMath.L2Squared(query, view.Row(r)));
            }

            sink += best;
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return sink >= 0 ? runs / seconds : 0;
    }

    /// <summary>Seeded Gaussian clusters (100 centres, spread 0.35 around unit-variance centres), queries from the same
    /// distribution: closer to embeddings than uniform noise, where every graph index loses recall.</summary>
    private static (float[] Data, float[] Queries) Clustered(int n, int dim, int nq, int seed)
    {
        var rng = new Random(seed);
        const int clusters = 100;
        var centres = new float[clusters * dim];
        for (var i = 0; i < centres.Length; i++)
        {
            centres[i] = Gaussian(rng);
        }

        float[] Draw(int count)
        {
            var v = new float[(long)count * dim];
            for (var r = 0; r < count; r++)
            {
                var c = rng.Next(clusters);
                for (var j = 0; j < dim; j++)
                {
                    v[(r * dim) + j] = centres[(c * dim) + j] + (0.35f * Gaussian(rng));
                }
            }

            return v;
        }

        return (Draw(n), Draw(nq));
    }

    private static float Gaussian(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));

    /// <summary>Exact top-k ids by L2 over all rows, in parallel.</summary>
    private static int[] ExactTopK(float[] data, int n, int dim, float[] queries, int nq, int k)
    {
        var truth = new int[nq * k];
        Parallel.For(0, nq, q =>
        {
            var query = queries.AsSpan(q * dim, dim);
            var best = new List<(float D, int Id)>(n);
            for (var i = 0; i < n; i++)
            {
                best.Add((VectorMath.L2Squared(query, data.AsSpan(i * dim, dim)), i));
            }

            best.Sort((a, b) => a.D != b.D ? a.D.CompareTo(b.D) : a.Id.CompareTo(b.Id));
            for (var j = 0; j < k; j++)
            {
                truth[(q * k) + j] = best[j].Id;
            }
        });
        return truth;
    }
}
