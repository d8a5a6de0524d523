using System.Diagnostics;
using Quiver.Distance;
using Quiver.Toolbox.Vectors;

namespace Quiver.Bench;

/// <summary><c>flat</c>: exact top-k search through the embedded API on Fashion-MNIST (60,000 x 784 float32, L2), over
/// one sealed, memory-mapped segment. Measures, in one run: one query per <see cref="QuiverEngine.SearchAsync"/> call on
/// one thread (QPS, p50/p99); calls of <c>--batch</c> queries each (queries/s); the raw kernel
/// (<see cref="VectorMath.L2SquaredMany"/> over all rows, no engine) for the same queries; and the machine's
/// single-thread read bandwidth, which bounds a FLAT query from below. Checks the engine's top-k against a brute-force
/// recomputation in double precision and fails the run on a mismatch.</summary>
internal static class FlatBench
{
    private const string Collection = "fmnist";
    private const int LoadBatch = 5_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("data", "data-dir", "queries", "k", "batch", "warmup", "check", "bandwidth-mib", "dir", "json");
        var data = args.Text("data", "fashion-mnist");
        if (data != "fashion-mnist")
        {
            throw new ArgumentException($"--data {data}: only fashion-mnist is supported");
        }

        var dataDir = args.Text("data-dir", IdxImages.FashionMnistFolder);
        var nq = args.Int("queries", 1000);
        var k = args.Int("k", 10);
        var batch = args.Int("batch", 100);
        var warmup = args.Int("warmup", 20);
        var checkCount = args.Int("check", 10);
        var bandwidthMiB = args.Int("bandwidth-mib", 1024);
        var parent = args.Text("dir") ?? Path.GetTempPath();

        var report = new Report();
        report.Set("benchmark", "flat");
        report.Set("machine", Report.Machine());

        var t0 = Stopwatch.GetTimestamp();
        var train = IdxImages.Read(dataDir, IdxImages.FashionMnistTrain, out var n, out var dim);
        var test = IdxImages.Read(dataDir, IdxImages.FashionMnistTest, out var nTest, out var testDim);
        if (dim != 28 * 28 || testDim != dim)
        {
            throw new ArgumentException($"--data-dir {dataDir}: expected Fashion-MNIST's 28 x 28 images, found {dim} and {testDim} pixels");
        }

        nq = Math.Min(nq, nTest);
        var queries = new float[nq][];
        for (var q = 0; q < nq; q++)
        {
            queries[q] = test.AsSpan(q * dim, dim).ToArray();
        }

        Console.WriteLine($"flat: Fashion-MNIST {n} x {dim} float32 (L2), {nq} test queries, top-{k}; loaded in {Stopwatch.GetElapsedTime(t0).TotalSeconds:F1} s");
        report.Set("rows", n);
        report.Set("dim", dim);
        report.Set("queries", nq);
        report.Set("k", k);
        report.Set("batch", batch);

        var folder = Path.Combine(parent, "quiver-bench-flat-" + Guid.NewGuid().ToString("N"));
        try
        {
            // No background maintenance: nothing may run beside the timed searches. Never: loading is not measured.
            var options = new QuiverOptions { Durability = DurabilityMode.Never, BackgroundMaintenance = false };
            await using var engine = await QuiverEngine.OpenAsync(folder, options);
            await Load(engine, train, n, dim);
            var info = await engine.DescribeCollectionAsync(Collection);
            Console.WriteLine($"collection: {info.RowCount} rows, {info.SealedSegments} sealed segment(s), {info.GrowingSegments} growing");
            report.Set("sealed_segments", info.SealedSegments);
            report.Set("growing_segments", info.GrowingSegments);

            // The floor first, while nothing else of ours is warm: bytes one query must read / read bandwidth.
            var (bandwidth, _) = MemoryBandwidth.Measure((long)bandwidthMiB << 20, passes: 5);
            var bytesPerQuery = (double)n * dim * sizeof(float);
            var boundMs = bytesPerQuery / bandwidth * 1000;
            report.Print("bandwidth_gb_per_s", bandwidth / 1e9, "GB/s (1 thread, SIMD sum, best of 5 passes, 1 or 4 streams)", "F2");
            report.Print("bound_ms_per_query", boundMs, "ms (" + (bytesPerQuery / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " MB / bandwidth)", "F2");

            var kernelMs = KernelTimes(train, n, dim, queries, warmup);
            report.Print("kernel_p50_ms", Stats.Percentile(kernelMs, 50), "ms (VectorMath.L2SquaredMany over all rows, managed copy)", "F2");
            report.Print("kernel_ratio_to_bound", Stats.Percentile(kernelMs, 50) / boundMs, "x", "F2");

            var (mappedKernelMs, visibilityMs) = EnginePieces(engine, queries, warmup);
            report.Print("mapped_kernel_p50_ms", Stats.Percentile(mappedKernelMs, 50), "ms (same kernel over the sealed segment's mapped vectors)", "F2");
            report.Print("visibility_p50_ms", Stats.Percentile(visibilityMs, 50), "ms (the per-call visibility bitmap pass, SegmentSnapshot.Visible)", "F3");

            var single = await SingleQueries(engine, queries, k, warmup);
            var p50 = Stats.Percentile(single.LatenciesMs, 50);
            report.Print("single_qps", nq / single.Seconds, "queries/s (1 query per call, 1 thread)");
            report.Print("single_p50_ms", p50, "ms", "F2");
            report.Print("single_p99_ms", Stats.Percentile(single.LatenciesMs, 99), "ms", "F2");
            report.Print("single_mean_ms", single.Seconds * 1000 / nq, "ms", "F2");
            report.Print("single_ratio_to_bound", p50 / boundMs, "x (p50 / bound; target <= 1.5)", "F2");
            report.Print("engine_overhead_ms", p50 - Stats.Percentile(mappedKernelMs, 50), "ms (engine p50 - mapped kernel p50)", "F2");

            if (batch > 1)
            {
                var batched = await BatchedQueries(engine, queries, k, batch);
                report.Print("batched_qps", batched.Queries / batched.Seconds, $"queries/s ({batch} queries per call, 1 thread)");
                report.Print("batched_ms_per_call", batched.Seconds * 1000 / batched.Calls, "ms", "F2");
                report.Set("batched_queries_timed", batched.Queries);
            }

            var failures = await Check(engine, train, n, dim, queries, Math.Min(checkCount, nq), k, batch, report);
            report.WriteJson(args.Text("json"));
            return failures == 0 ? 0 : 1;
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task Load(QuiverEngine engine, float[] train, int n, int dim)
    {
        await engine.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("image", dim, MetricType.L2)],
        });
        var start = Stopwatch.GetTimestamp();
        for (var s = 0; s < n; s += LoadBatch)
        {
            var m = Math.Min(LoadBatch, n - s);
            var rows = new Row[m];
            for (var i = 0; i < m; i++)
            {
                // Primary key = row index of the training set, so ids compare directly with FAISS's.
                rows[i] = new Row { ["id"] = (long)(s + i), ["image"] = train.AsSpan((s + i) * dim, dim).ToArray() };
            }

            await engine.InsertAsync(Collection, rows);
        }

        await engine.FlushAsync(Collection);
        Console.WriteLine($"insert + flush: {Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
    }

    private static List<double> KernelTimes(float[] train, int n, int dim, float[][] queries, int warmup)
    {
        var distances = new float[n];
        var rows = train.AsSpan(0, n * dim);
        for (var w = 0; w < warmup; w++)
        {
            VectorMath.L2SquaredMany(queries[w % queries.Length], rows, dim, distances);
        }

        var times = new List<double>(queries.Length);
        foreach (var q in queries)
        {
            var start = Stopwatch.GetTimestamp();
            VectorMath.L2SquaredMany(q, rows, dim, distances);
            times.Add(Stats.Milliseconds(start, Stopwatch.GetTimestamp()));
        }

        return times;
    }

    /// <summary>Times two pieces of the engine's search path in isolation: the kernel over the segment's memory-mapped
    /// vectors (the managed-copy kernel above reads the same bytes from the GC heap), and the visibility bitmap that every
    /// search call builds. The shard comes from the engine's internal <c>ShardOf</c>.</summary>
    private static (List<double> MappedKernelMs, List<double> VisibilityMs) EnginePieces(QuiverEngine engine, float[][] queries, int warmup)
    {
        var shard = engine.ShardOf(Collection);
        using var view = shard.AcquireView([]);
        var snap = view.Segments[0];
        var vectors = snap.Vectors[shard.Schema.IndexOf("image")];
        var distances = new float[vectors.Count];
        var kernel = new List<double>(queries.Length);
        var visibility = new List<double>(queries.Length);
        for (var i = -warmup; i < queries.Length; i++)
        {
            var q = queries[Math.Max(i, 0)];
            var start = Stopwatch.GetTimestamp();
            VectorMath.L2SquaredMany(q, vectors.All, vectors.Dimension, distances);
            var mid = Stopwatch.GetTimestamp();
            var bitmap = snap.Visible(view.Timestamp);
            var end = Stopwatch.GetTimestamp();
            GC.KeepAlive(bitmap);
            if (i >= 0)
            {
                kernel.Add(Stats.Milliseconds(start, mid));
                visibility.Add(Stats.Milliseconds(mid, end));
            }
        }

        return (kernel, visibility);
    }

    private static async Task<(double Seconds, List<double> LatenciesMs)> SingleQueries(QuiverEngine engine, float[][] queries, int k, int warmup)
    {
        for (var w = 0; w < warmup; w++)
        {
            await engine.SearchAsync(Collection, new SearchRequest { Vectors = [queries[w % queries.Length]], Limit = k });
        }

        var latencies = new List<double>(queries.Length);
        var all = Stopwatch.GetTimestamp();
        foreach (var q in queries)
        {
            var start = Stopwatch.GetTimestamp();
            await engine.SearchAsync(Collection, new SearchRequest { Vectors = [q], Limit = k });
            latencies.Add(Stats.Milliseconds(start, Stopwatch.GetTimestamp()));
        }

        return (Stopwatch.GetElapsedTime(all).TotalSeconds, latencies);
    }

    private static async Task<(double Seconds, int Queries, int Calls)> BatchedQueries(QuiverEngine engine, float[][] queries, int k, int batch)
    {
        var calls = Math.Max(1, queries.Length / batch);
        var requests = new SearchRequest[calls];
        for (var c = 0; c < calls; c++)
        {
            requests[c] = new SearchRequest { Vectors = queries.Skip(c * batch).Take(batch).ToArray(), Limit = k };
        }

        await engine.SearchAsync(Collection, requests[0]);
        var start = Stopwatch.GetTimestamp();
        var timed = 0;
        foreach (var request in requests)
        {
            var result = await engine.SearchAsync(Collection, request);
            timed += result.Hits.Length;
        }

        return (Stopwatch.GetElapsedTime(start).TotalSeconds, timed, calls);
    }

    /// <summary>Compares the engine's top-k, one query per call and batched, with a brute force in double precision.
    /// Pixels are integers, so the exact distances are integers; a differing id is accepted only as a tie, where the
    /// exact distance of our hit equals that of the reference hit at the same rank.</summary>
    private static async Task<int> Check(QuiverEngine engine, float[] train, int n, int dim, float[][] queries, int count, int k, int batch, Report report)
    {
        var checkedQueries = queries.Take(count).ToArray();
        var single = new List<long[]>();
        foreach (var q in checkedQueries)
        {
            var r = await engine.SearchAsync(Collection, new SearchRequest { Vectors = [q], Limit = k });
            single.Add(r.Hits[0].Select(h => (long)h.Id).ToArray());
        }

        var batchedResult = await engine.SearchAsync(Collection, new SearchRequest { Vectors = checkedQueries, Limit = k });
        var batched = batchedResult.Hits.Select(h => h.Select(x => (long)x.Id).ToArray()).ToList();

        var failures = 0;
        var differentButTied = 0;
        var reference = new List<long[]>();
        for (var i = 0; i < count; i++)
        {
            var exact = new double[n];
            for (var r = 0; r < n; r++)
            {
                exact[r] = VectorMathReference.L2Squared(checkedQueries[i], train.AsSpan(r * dim, dim));
            }

            var order = Enumerable.Range(0, n).OrderBy(r => exact[r]).ThenBy(r => r).Take(k).Select(r => (long)r).ToArray();
            reference.Add(order);
            foreach (var (name, ids) in new[] { ("single", single[i]), ("batched", batched[i]) })
            {
                if (ids.SequenceEqual(order))
                {
                    continue;
                }

                var tied = ids.Length == order.Length && ids.Select((id, rank) => exact[id] == exact[order[rank]]).All(x => x);
                if (tied)
                {
                    differentButTied++;
                    continue;
                }

                failures++;
                Console.Error.WriteLine($"check: query {i} ({name}): engine [{string.Join(',', ids)}] != brute force [{string.Join(',', order)}]");
            }
        }

        report.Set("check_queries", count);
        report.Set("check_failures", failures);
        report.Set("check_tie_differences", differentButTied);
        report.Set("check_ids", reference);
        Console.WriteLine(failures == 0
            ? $"check: top-{k} ids of {count} queries (single and batched) equal brute force in double precision: OK ({differentButTied} differ only among exact ties)"
            : $"check: FAILED for {failures} result lists of {count} queries");
        return failures;
    }
}
