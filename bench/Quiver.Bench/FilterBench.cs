using System.Diagnostics;
using System.Globalization;
using System.Text;
using Quiver.Search;

namespace Quiver.Bench;

/// <summary>
/// <c>filters</c>: filtered top-k search and query on one indexed segment, every plan on the same data and queries in one
/// process run. A prepared set (<c>quiver bench data</c>) goes into one sealed segment (Int64 <c>id</c>, Int64
/// <c>tag</c> = id mod 100, the vectors) with an HNSW index; then for each percentage p the filter <c>tag &lt; p</c>
/// (keeping p% of the rows, answered from the sealed segment's sorted index) is searched one query per call:
/// <list type="bullet">
/// <item><c>exact</c>: brute force over the allowed rows (the recall oracle for the others);</item>
/// <item><c>before</c>: the filter evaluated as a bitmap and the planner without a post-filter (the engine before row
/// lists);</item>
/// <item><c>after</c>: the planner's own choice (printed), with row lists;</item>
/// <item><c>pre</c> / <c>post</c>: the pre-filtered traversal / the post-filter forced on the segment.</item>
/// </list>
/// and <c>count(*)</c> and a query with limit 10 before and after. Writes a markdown table.
/// </summary>
internal static class FilterBench
{
    private const string Collection = "filters";

    /// <summary>An engine whose collection stays one segment until the bench flushes it (the seal size raised to
    /// Milvus's max segment size), without durability waits or background work (FilterBench, FilterScanBench).</summary>
    public static Task<QuiverEngine> OneSegmentEngineAsync(string folder) =>
        QuiverEngine.OpenAsync(folder, new QuiverOptions
        {
            Durability = DurabilityMode.Never,
            BackgroundMaintenance = false,
            SegmentSealBytes = 1L << 30,
        });

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("set", "data-dir", "nq", "k", "ef", "M", "efc", "percents", "md", "dir", "reopen");
        var name = args.Text("set", "synthetic-100000x128-s42");
        var folder = Path.Combine(args.Text("data-dir", Path.Combine("bench", "data")), name);
        var vectors = HnswBench.ReadVecs<float>(Path.Combine(folder, "base.fvecs"), out var dim, out var count);
        var queryData = HnswBench.ReadVecs<float>(Path.Combine(folder, "queries.fvecs"), out _, out var queryCount);
        var nq = Math.Min(args.Int("nq", 200), queryCount);
        var queries = Enumerable.Range(0, nq).Select(q => queryData.AsSpan(q * dim, dim).ToArray()).ToArray();
        var k = args.Int("k", 10);
        var ef = args.Int("ef", 64);
        var percents = ServerBench.Ints(args.Text("percents", "1,5,20,50,90,99"));
        var data = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-filters-" + Guid.NewGuid().ToString("N"));
        var md = new StringBuilder();
        try
        {
            await using var engine = await OneSegmentEngineAsync(data);
            await engine.CreateCollectionAsync(Collection, new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vector", dim, MetricType.L2)],
            });
            var started = Stopwatch.GetTimestamp();
            for (var first = 0; first < count; first += 2_000)
            {
                var batch = new List<Quiver.Row>(2_000);
                for (var i = first; i < Math.Min(count, first + 2_000); i++)
                {
                    batch.Add(new Quiver.Row { ["id"] = (long)i, ["tag"] = (long)(i % 100), ["vector"] = vectors.AsSpan(i * dim, dim).ToArray() });
                }

                await engine.InsertAsync(Collection, batch);
            }

            await engine.FlushAsync(Collection);
            await engine.CreateIndexAsync(Collection, new IndexDefinition
            {
                FieldName = "vector",
                IndexType = "HNSW",
                Params = new Dictionary<string, string> { ["M"] = Text(args.Int("M", 16)), ["efConstruction"] = Text(args.Int("efc", 100)) },
            });
            await engine.WaitForIndexAsync(Collection);
            var segments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"filters: {name}: {count} x {dim}, {segments} sealed segment(s), load + HNSW {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s, {nq} queries, k {k}, ef {ef}"));
            md.AppendLine(CultureInfo.InvariantCulture, $"# Filtered search plans: {name} ({count:N0} x {dim}, {segments} segment, HNSW M {args.Int("M", 16)} efConstruction {args.Int("efc", 100)}, ef {ef}, top-{k}, {nq} queries, one client, embedded)");
            md.AppendLine();
            md.AppendLine("| filter | keeps | plan | p50 ms | p99 ms | QPS | recall vs exact | p50 / before |");
            md.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");

            var none = Measure(engine, queries, k, ef, "", null);
            Row(md, "none", 100, "unfiltered", none, null, none.P50);
            foreach (var p in percents)
            {
                var filter = $"tag < {p}";
                var exact = Measure(engine, queries, k, ef, filter, new PlannerOverride(Strategy: SegmentStrategy.Exact));
                var before = Measure(engine, queries, k, ef, filter, new PlannerOverride(RowSets: false, PostFilter: false));
                var after = Measure(engine, queries, k, ef, filter, null);
                var pre = Measure(engine, queries, k, ef, filter, new PlannerOverride(Strategy: SegmentStrategy.PreFilter));
                var post = Measure(engine, queries, k, ef, filter, new PlannerOverride(Strategy: SegmentStrategy.PostFilter));
                Row(md, filter, p, "exact (forced)", exact, exact.Ids, before.P50);
                Row(md, filter, p, $"before ({before.Plan})", before, exact.Ids, before.P50);
                Row(md, filter, p, $"after ({after.Plan})", after, exact.Ids, before.P50);
                Row(md, filter, p, "pre-filter (forced)", pre, exact.Ids, before.P50);
                Row(md, filter, p, $"post-filter (forced{(post.GaveUp > 0 ? $", {post.GaveUp} pre-filtered" : "")})", post, exact.Ids, before.P50);
            }

            // What answered the filters: a sealed segment builds a sorted index of `tag` on the first filter's demand and
            // keeps it (ScalarIndexBytes: 12 bytes a row), so `tag < p` is a range of it, not a scan of the column.
            var scalarBytes = engine.GetMemoryUsage().ScalarIndexBytes;
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Scalar indexes held after the filtered searches: {scalarBytes:N0} bytes ({scalarBytes / (double)count:F1} a row).");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  scalar index bytes {scalarBytes} ({scalarBytes / (double)count:F1} a row)"));
            md.AppendLine();
            md.AppendLine("| query | before p50 ms | after p50 ms | after / before |");
            md.AppendLine("| --- | ---: | ---: | ---: |");
            foreach (var p in percents)
            {
                foreach (var (label, request) in new[]
                {
                    ("count(*)", new QueryRequest { Filter = $"tag < {p}", OutputFields = ["count(*)"] }),
                    ("limit 10", new QueryRequest { Filter = $"tag < {p}", OutputFields = ["id"], Limit = 10 }),
                })
                {
                    var b = await QueryAsync(engine, request, new PlannerOverride(RowSets: false), nq);
                    var a = await QueryAsync(engine, request, null, nq);
                    md.AppendLine(CultureInfo.InvariantCulture, $"| `tag < {p}` {label} | {b:F3} | {a:F3} | {a / b:F2} |");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  tag < {p} {label}: before {b:F3} ms, after {a:F3} ms p50"));
                }
            }

            if (args.Text("reopen") == "true")
            {
                await engine.DisposeAsync();
                await MeasureReopenAsync(data, queries, k, ef, md);
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }

        var output = args.Text("md", Path.Combine("bench", "results", $"filters-{name}.md"));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, md.ToString());
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary><c>--reopen true</c>: what a reopened collection answers before its segment's index is attached (the
    /// load is a background job; until it ends the segment is searched exactly). Twice, in one process after the
    /// build (the files in the page cache): (1) the first unfiltered searches straight after the open, each timed and
    /// marked exact or indexed, until the index is attached, and the time from the open to the attach; (2) a reopen
    /// that waits for the index first (the load alone), then one search.</summary>
    private static async Task MeasureReopenAsync(string data, float[][] queries, int k, int ef, StringBuilder md)
    {
        SearchResult Search(QuiverEngine e, float[] q) => e.SearchAsync(Collection, ServerBench.SearchOf(q, k, ef)).GetAwaiter().GetResult();
        md.AppendLine();
        md.AppendLine("Reopen (the index file loaded by a background job; the segment searched exactly until it is attached):");
        md.AppendLine();
        var started = Stopwatch.GetTimestamp();
        var exact = new List<double>();
        var indexedMs = double.NaN;
        await using (var engine = await OneSegmentEngineAsync(data))
        {
            var opened = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var q = 0;
            while (Stopwatch.GetElapsedTime(started).TotalMinutes < 10)
            {
                var begin = Stopwatch.GetTimestamp();
                var result = Search(engine, queries[q++ % queries.Length]);
                var ms = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
                if (result.Stats()!.IndexedSegments > 0)
                {
                    indexedMs = ms;
                    break;
                }

                exact.Add(ms);
            }

            var attached = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            md.AppendLine(CultureInfo.InvariantCulture, $"- searching at once: open {opened:F0} ms; {exact.Count} exact searches before the index was attached ({string.Join(", ", exact.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))} ms), the first indexed search {indexedMs:F2} ms, {attached:F0} ms from the open's start to it");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  reopen, searching at once: open {opened:F0} ms, {exact.Count} exact searches (first {(exact.Count > 0 ? exact[0] : 0):F0} ms), indexed after {attached:F0} ms"));
        }

        started = Stopwatch.GetTimestamp();
        await using (var engine = await OneSegmentEngineAsync(data))
        {
            var opened = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            await engine.WaitForIndexAsync(Collection);
            var loaded = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var begin = Stopwatch.GetTimestamp();
            var result = Search(engine, queries[0]);
            var ms = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            md.AppendLine(CultureInfo.InvariantCulture, $"- waiting for the index: open {opened:F0} ms, index attached {loaded:F0} ms from the open's start, then the first search {ms:F2} ms ({(result.Stats()!.IndexedSegments > 0 ? "indexed" : "exact")})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  reopen, waiting: open {opened:F0} ms, attached {loaded:F0} ms, first search {ms:F2} ms"));
        }
    }

    private sealed record Result(double P50, double P99, double Qps, long[][] Ids, string Plan, int GaveUp);

    /// <summary>Every query once, serially, after a warm-up of 20 calls, with <paramref name="plan"/> as the planner
    /// override of this flow; reports the plan the segment got from the last query's statistics.</summary>
    private static Result Measure(QuiverEngine engine, float[][] queries, int k, int ef, string filter, PlannerOverride? plan)
    {
        SearchPlanner.Override = plan;
        try
        {
            // The engine answers synchronously (its Task is complete on return), so the call is timed without a scheduler hop.
            SearchResult Search(float[] q) => engine.SearchAsync(Collection, ServerBench.SearchOf(q, k, ef) with { Filter = filter }).GetAwaiter().GetResult();
            for (var i = 0; i < 20; i++)
            {
                Search(queries[i % queries.Length]);
            }

            var ids = new long[queries.Length][];
            var latencies = new double[queries.Length];
            SearchStats? stats = null;
            var gaveUp = 0;
            var started = Stopwatch.GetTimestamp();
            for (var q = 0; q < queries.Length; q++)
            {
                var begin = Stopwatch.GetTimestamp();
                var result = Search(queries[q]);
                latencies[q] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
                ids[q] = [.. result.Hits[0].Select(h => (long)h.Id)];
                stats = result.Stats();
                gaveUp += stats!.PostFilterGaveUp;
            }

            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var used = stats!.PostFiltered > 0 ? "post-filter" : stats.IndexedSegments > 0 ? "pre-filter" : "exact";
            return new Result(Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), queries.Length / seconds, ids, used, gaveUp);
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }

    private static async Task<double> QueryAsync(QuiverEngine engine, QueryRequest request, PlannerOverride? plan, int times)
    {
        SearchPlanner.Override = plan;
        try
        {
            for (var i = 0; i < 20; i++)
            {
                await engine.QueryAsync(Collection, request);
            }

            var latencies = new double[times];
            for (var i = 0; i < times; i++)
            {
                var begin = Stopwatch.GetTimestamp();
                await engine.QueryAsync(Collection, request);
                latencies[i] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            }

            return Stats.Percentile(latencies, 50);
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }

    private static void Row(StringBuilder md, string filter, int keeps, string plan, Result r, long[][]? truth, double beforeP50)
    {
        var recall = double.NaN;
        if (truth is not null)
        {
            double hit = 0, total = 0;
            for (var q = 0; q < truth.Length; q++)
            {
                var t = truth[q].ToHashSet();
                hit += r.Ids[q].Count(t.Contains);
                total += t.Count;
            }

            recall = total == 0 ? 1 : hit / total;
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"| `{filter}` | {keeps}% | {plan} | {r.P50:F3} | {r.P99:F3} | {r.Qps:F0} | {(double.IsNaN(recall) ? "—" : recall.ToString("F3", CultureInfo.InvariantCulture))} | {r.P50 / beforeP50:F2} |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {filter,-10} {plan,-40} p50 {r.P50:F3} ms  p99 {r.P99:F3} ms  {r.Qps:F0} QPS  recall {recall:F3}"));
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
