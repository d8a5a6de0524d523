using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Toolbox.Vectors;

namespace Quiver.Bench;

/// <summary><c>hnsw</c>: Quiver's HNSW index alone (no engine around it), with the same command line and JSON as the
/// hnswlib peers in bench/peers, so the three can be compared line by line:
/// <c>hnsw BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP|COSINE --M 16 --efc 200 --ef 10,20,40,80,160 --k 10
/// [--threads 1] [--warmup 1000] [--seed 42] [--refine 0] [--reload false] [--index-file F] [--json out.json]</c>.
/// Times the build, then for each ef one query per <see cref="VectorIndex.Search"/> call after a warm-up; recall@k is
/// against the ground-truth file. <c>--reload true</c> saves the index, maps it back and searches the mapped copy;
/// <c>--index-file F</c> loads F when it exists (then build_seconds is the load time and loaded_from_file is true), else
/// builds and saves it there, for quick search-only iterations.</summary>
internal static class HnswBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 3 || args.Take(3).Any(a => a.StartsWith("--", StringComparison.Ordinal)))
        {
            throw new ArgumentException("hnsw: expected BASE.fvecs QUERIES.fvecs GT.ivecs before the options");
        }

        var o = new CommandLine(args.Skip(3));
        o.RejectUnknown("metric", "M", "efc", "ef", "k", "threads", "warmup", "seed", "refine", "reload", "index-file", "json");
        var metric = o.Text("metric", "L2").ToUpperInvariant() switch
        {
            "L2" => MetricType.L2,
            "IP" => MetricType.IP,
            "COSINE" => MetricType.Cosine,
            var other => throw new ArgumentException($"--metric {other}: expected L2, IP or COSINE"),
        };
        var m = o.Int("M", 16);
        var efc = o.Int("efc", 200);
        var k = o.Int("k", 10);
        var threads = o.Int("threads", 1);
        var warmup = o.Int("warmup", 1000);
        var refine = o.Int("refine", 0);
        var efs = o.Text("ef", "10,20,40,80,160").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();

        var store = ReadBase(args[0], out var dim, out var n);
        var queries = ReadVecs<float>(args[1], out var qdim, out var nq);
        var gt = ReadVecs<int>(args[2], out var gdim, out _);
        if (qdim != dim || gdim < k)
        {
            throw new ArgumentException($"shapes disagree: base d={dim}, queries d={qdim}, ground truth {gdim} per query");
        }

        var raw = store.View(n);
        var p = IndexParameters.FromJson($$"""{"M": {{m}}, "efConstruction": {{efc}}}""");
        var t0 = Stopwatch.GetTimestamp();
        var c0 = CpuSeconds();
        var indexFile = o.Text("index-file");
        var loadedFromFile = indexFile is not null && File.Exists(indexFile);
        var index = loadedFromFile
            ? IndexFactory.Load(IndexFile.Open(Storage.PhysicalFileSystem.Instance, indexFile!), raw)
            : IndexFactory.Build(IndexKind.Hnsw, metric, p, raw, new IndexBuildOptions(threads, o.Int("seed", 42)), default);
        var buildSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var buildCpuSeconds = CpuSeconds() - c0;
        if (indexFile is not null && !loadedFromFile)
        {
            IndexFactory.Save(index, Storage.PhysicalFileSystem.Instance, indexFile);
        }
        var folder = Path.Combine(Path.GetTempPath(), "quiver-bench-hnsw-" + Guid.NewGuid().ToString("N"));
        try
        {
            if (o.Text("reload", "false") == "true")
            {
                Directory.CreateDirectory(folder);
                var path = Path.Combine(folder, "index.qidx");
                var fs = Storage.PhysicalFileSystem.Instance;
                IndexFactory.Save(index, fs, path);
                index.Dispose();
                index = IndexFactory.Load(IndexFile.Open(fs, path), raw);
            }

            var runs = new List<Dictionary<string, object>>();
            var hits = new IndexHit[k];
            var latency = new double[nq];
            foreach (var ef in efs)
            {
                var sp = new AnnSearchParams(Ef: ef, RefineK: refine);
                for (var i = 0; i < warmup; i++)
                {
                    index.Search(queries.AsSpan(i % nq * dim, dim), k, sp, null, hits);
                }

                long found = 0;
                var start = Stopwatch.GetTimestamp();
                var cpu0 = CpuSeconds();
                for (var i = 0; i < nq; i++)
                {
                    var a = Stopwatch.GetTimestamp();
                    var got = index.Search(queries.AsSpan(i * dim, dim), k, sp, null, hits);
                    latency[i] = Stopwatch.GetElapsedTime(a).TotalMicroseconds;
                    var truth = gt.AsSpan(i * gdim, k);
                    for (var j = 0; j < got; j++)
                    {
                        found += truth.Contains(hits[j].Row) ? 1 : 0;
                    }
                }

                var total = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var cpuQps = nq / (CpuSeconds() - cpu0);
                var recall = found / ((double)nq * k);
                var run = new Dictionary<string, object>
                {
                    ["params"] = new Dictionary<string, int> { ["ef"] = ef },
                    ["recall"] = recall,
                    ["qps"] = nq / total,
                    ["cpu_qps"] = cpuQps,
                    ["p50_us"] = Stats.Percentile(latency, 50),
                    ["p99_us"] = Stats.Percentile(latency, 99),
                };
                runs.Add(run);
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"ef {ef,4}  recall {recall:F4}  qps {nq / total,9:F1}  cpu_qps {cpuQps,9:F1}  p50 {run["p50_us"],7:F1} us  p99 {run["p99_us"],7:F1} us"));
            }

            var result = new Dictionary<string, object>
            {
                ["name"] = "quiver",
                ["index"] = "HNSW",
                ["metric"] = metric.ToString().ToUpperInvariant(),
                ["M"] = m,
                ["efc"] = efc,
                ["k"] = k,
                ["threads"] = threads,
                ["loaded_from_file"] = loadedFromFile,
                ["build_seconds"] = buildSeconds,
                ["build_cpu_seconds"] = buildCpuSeconds,
                ["index_bytes"] = index.MemoryBytes,
                ["peak_rss_bytes"] = PeakRss(),
                ["runs"] = runs,
            };
            Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"build {buildSeconds:F2} s (cpu {buildCpuSeconds:F2} s), index {index.MemoryBytes} bytes, peak RSS {PeakRss()} bytes"));
            var json = JsonSerializer.Serialize(result) + "\n";
            if (o.Text("json") is { } jsonPath)
            {
                File.WriteAllText(jsonPath, json);
            }
            else
            {
                Console.Write(json);
            }

            return 0;
        }
        finally
        {
            index.Dispose();
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>Reads base vectors into a segment's vector store (which keeps their norms) a chunk at a time, so the file
    /// is never held twice in memory.</summary>
    private static VectorStore ReadBase(string path, out int dim, out int count)
    {
        using var file = VectorFile.Open(path);
        (dim, count) = (file.Dimension, file.Count);
        var store = new VectorStore(dim, count);
        var chunk = new float[1024 * dim];
        for (var at = 0; at < count; at += 1024)
        {
            var rows = Math.Min(1024, count - at);
            file.ReadFloats(at, rows, chunk);
            store.Append(chunk.AsSpan(0, rows * dim), at);
        }

        return store;
    }

    /// <summary>Reads a whole .fvecs (T = float) or .ivecs (T = int) file straight into one array, without a second copy
    /// of the file in memory (so the peak RSS compares with the native peer's), through the toolbox's
    /// <see cref="VectorFile"/>, the reader <c>quiver bench ann</c> uses (it also checks every row's dimension and the
    /// file's length).</summary>
    internal static T[] ReadVecs<T>(string path, out int dim, out int count)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (T[])(object)VectorFile.ReadFloats(path, 0, out count, out dim);
        }

        if (typeof(T) == typeof(int))
        {
            return (T[])(object)VectorFile.ReadInts(path, 0, out count, out dim);
        }

        throw new ArgumentException($"ReadVecs<{typeof(T).Name}>: only float (.fvecs) and int (.ivecs) are read");
    }

    /// <summary>CPU time of the process: on a shared machine wall time counts other processes' slices, CPU time does not.</summary>
    internal static double CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    private static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }
}
