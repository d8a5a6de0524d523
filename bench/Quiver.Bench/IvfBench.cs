using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Distance;
using Quiver.Indexing;

namespace Quiver.Bench;

/// <summary><c>ivf</c>: Quiver's side of <c>bench/peers/faiss_ann.py</c>, with the same command line and JSON, calling
/// the index directly (no engine, no segment): builds one index over BASE.fvecs, runs each search setting over
/// QUERIES.fvecs (a second of warm-up, then one query per call, or <c>--batch</c> queries per call spread over
/// <c>--threads</c>), and scores recall@k against GT.ivecs.
/// <code>ivf BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP|COSINE --index IVF_FLAT|IVF_SQ8|IVF_PQ|ANNOY|HNSW
///     --build '{"nlist":1024}' --search '[{"nprobe":1},{"nprobe":4}]' --k 10 --threads 1 --json out.json [--batch N] [--seed S]
///     [--kmeans random|plusplus] [--kmeans-iterations N]</code>
/// <c>--seed</c> (42) seeds the build (IVF's k-means sample and initial centroids), as the engine seeds a segment's
/// index with the segment's id; <c>--kmeans</c> and <c>--kmeans-iterations</c> choose the coarse quantizer's
/// initialisation and Lloyd iterations (the engine's defaults otherwise). For IVF indexes the JSON also gives the lists'
/// imbalance factor, nlist × Σ size² / rows² (1 when every list has the same length; the factor by which a probe scans
/// more rows than with equal lists, for queries distributed as the rows), and every setting its process CPU time per
/// query (cpu_us).</summary>
internal static class IvfBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            throw new ArgumentException("ivf needs BASE.fvecs QUERIES.fvecs GT.ivecs");
        }

        var o = new CommandLine(args.Skip(3));
        o.RejectUnknown("metric", "index", "build", "search", "k", "threads", "json", "batch", "seed", "kmeans", "kmeans-iterations");
        var metric = o.Text("metric", "L2").ToUpperInvariant() switch
        {
            "L2" => MetricType.L2,
            "IP" => MetricType.IP,
            "COSINE" => MetricType.Cosine,
            var m => throw new ArgumentException($"--metric {m}: expected L2, IP or COSINE"),
        };
        if (!IndexKindNames.TryParse(o.Text("index"), out var kind))
        {
            throw new ArgumentException($"--index '{o.Text("index")}' is not an index type");
        }

        var k = o.Int("k", 10);
        var threads = o.Int("threads", 1);
        var batch = o.Int("batch", 0);
        var buildJson = o.Text("build", "{}");
        var searches = JsonNode.Parse(o.Text("search", "[{}]"))!.AsArray().Select(n => n!.ToJsonString()).ToArray();

        var data = ReadVectors(args[0], out var dim);
        var queries = ReadVectors(args[1], out var queryDim);
        var gt = ReadIds(args[2], out var gtWidth);
        if (queryDim != dim || gtWidth < k)
        {
            throw new ArgumentException($"base dimension {dim}, queries {queryDim}, ground truth width {gtWidth} < k {k}?");
        }

        var count = data.Length / dim;
        var nq = queries.Length / dim;
        var norms = new float[count];
        for (var i = 0; i < count; i++)
        {
            norms[i] = VectorMath.SquaredNorm(data.AsSpan(i * dim, dim));
        }

        var raw = IvfBuild.View(data, dim, norms);

        var buildParams = IndexParameters.FromJson(buildJson, "--build");
        IndexFactory.Validate(kind, metric, buildParams, dim);
        var t0 = Stopwatch.GetTimestamp();
        var buildOptions = new IndexBuildOptions(threads, o.Int("seed", 42));
        buildOptions = buildOptions with
        {
            KMeansInit = o.Text("kmeans", buildOptions.KMeansInit == KMeansInit.PlusPlus ? "plusplus" : "random").ToLowerInvariant() switch
            {
                "random" => KMeansInit.Random,
                "plusplus" => KMeansInit.PlusPlus,
                var v => throw new ArgumentException($"--kmeans {v}: expected random or plusplus"),
            },
            KMeansIterations = o.Int("kmeans-iterations", buildOptions.KMeansIterations),
        };
        using var index = IndexFactory.Build(kind, metric, buildParams, raw, buildOptions, default);
        var buildSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"quiver {kind.ToMilvusName()} {buildJson}: built in {buildSeconds:F2} s, {index.MemoryBytes} bytes"));

        var runs = new JsonArray();
        foreach (var searchJson in searches)
        {
            var p = AnnSearchParams.Parse(IndexParameters.FromJson(searchJson, "--search"));
            var found = new int[nq * k];
            // Warm-up of at least a second, so tiered compilation has replaced the first-tier code before timing.
            var warm = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warm).TotalSeconds < 1)
            {
                Run(index, queries, dim, k, p, found, 0, Math.Min(nq, 200), batch, threads, []);
            }

            var latencies = new List<double>(nq);
            var cpuStart = Environment.CpuUsage.TotalTime;
            var start = Stopwatch.GetTimestamp();
            Run(index, queries, dim, k, p, found, 0, nq, batch, threads, latencies);
            var total = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var cpu = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
            var recall = 0.0;
            for (var q = 0; q < nq; q++)
            {
                var truth = gt.AsSpan(q * gtWidth, k);
                var hits = 0;
                foreach (var row in found.AsSpan(q * k, k))
                {
                    hits += truth.Contains(row) ? 1 : 0;
                }

                recall += hits / (double)k;
            }

            var run = new JsonObject
            {
                ["params"] = JsonNode.Parse(searchJson),
                ["recall"] = Math.Round(recall / nq, 5),
                ["qps"] = Math.Round(nq / total, 1),
                ["p50_us"] = Math.Round(Stats.Percentile(latencies, 50), 1),
                ["p99_us"] = Math.Round(Stats.Percentile(latencies, 99), 1),
                ["cpu_us"] = Math.Round(cpu * 1e6 / nq, 1),
            };
            Console.Error.WriteLine(run.ToJsonString());
            runs.Add(run);
        }

        var output = new JsonObject
        {
            ["name"] = "quiver",
            ["index"] = kind.ToMilvusName(),
            ["build"] = JsonNode.Parse(buildJson),
            ["metric"] = o.Text("metric", "L2"),
            ["threads"] = threads,
            ["seed"] = o.Int("seed", 42),
            ["kmeans"] = buildOptions.KMeansInit == KMeansInit.PlusPlus ? "plusplus" : "random",
            ["kmeans_iterations"] = buildOptions.KMeansIterations,
            ["imbalance"] = index is IvfIndex ivf ? Math.Round(Imbalance(ivf.ListSizes()), 4) : null,
            ["build_seconds"] = Math.Round(buildSeconds, 3),
            ["index_bytes"] = index.MemoryBytes,
            ["peak_rss_bytes"] = PeakRss(),
            ["runs"] = runs,
        };
        var text = output.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (o.Text("json") is { } path)
        {
            File.WriteAllText(path, text + "\n");
        }
        else
        {
            Console.WriteLine(text);
        }

        return 0;
    }

    /// <summary>Searches queries [from, to): one per call and timed each, or in batches of <paramref name="batch"/> run
    /// on up to <paramref name="threads"/> threads and timed per batch.</summary>
    private static void Run(
        VectorIndex index, float[] queries, int dim, int k, AnnSearchParams p, int[] found, int from, int to, int batch, int threads, List<double> latencies)
    {
        var step = batch > 0 ? batch : 1;
        var hits = new IndexHit[k];
        for (var b = from; b < to; b += step)
        {
            var end = Math.Min(to, b + step);
            var t = Stopwatch.GetTimestamp();
            if (step == 1)
            {
                Record(found, b, k, hits, index.Search(queries.AsSpan(b * dim, dim), k, p, null, hits));
            }
            else
            {
                Parallel.For(b, end, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new IndexHit[k], (q, _, h) =>
                {
                    Record(found, q, k, h, index.Search(queries.AsSpan(q * dim, dim), k, p, null, h));
                    return h;
                }, _ => { });
            }

            latencies.Add(Stopwatch.GetElapsedTime(t).TotalMicroseconds);
        }
    }

    private static void Record(int[] found, int q, int k, IndexHit[] hits, int n)
    {
        var row = found.AsSpan(q * k, k);
        row.Fill(-1);
        for (var i = 0; i < n; i++)
        {
            row[i] = hits[i].Row;
        }
    }

    /// <summary>Reads .fvecs: per vector an int32 dimension, then that many float32 values.</summary>
    /// <summary>nlist × Σ size² / rows²: 1 for equal lists; the expected rows a probe scans, relative to equal lists, when
    /// queries fall into lists in proportion to their sizes.</summary>
    internal static double Imbalance(int[] sizes)
    {
        double total = 0, squares = 0;
        foreach (var n in sizes)
        {
            total += n;
            squares += (double)n * n;
        }

        return total > 0 ? sizes.Length * squares / (total * total) : 0;
    }

    private static float[] ReadVectors(string path, out int dim) => HnswBench.ReadVecs<float>(path, out dim, out _);

    /// <summary>Reads .ivecs.</summary>
    private static int[] ReadIds(string path, out int dim) => HnswBench.ReadVecs<int>(path, out dim, out _);

    private static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
