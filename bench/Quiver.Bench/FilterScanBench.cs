using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Quiver.Search;

namespace Quiver.Bench;

/// <summary>
/// <c>filter-scan</c>: the cost of filters that no scalar index answers, per call, on one sealed segment of
/// <c>--rows</c> synthetic rows (Int64 <c>tag</c> = i mod 100, Double <c>price</c>, Float <c>score</c>, JSON
/// <c>meta</c> = {"n": i mod 50}), measured in one process run three ways on the same data: <c>before</c> (every read
/// scans the columns row by row: <see cref="PlannerOverride.FilterCache"/> and <see cref="PlannerOverride.FilterKernels"/>
/// off), <c>kernels</c> (vectorized column comparisons, no cache) and <c>after</c> (the engine as it is). Each filter is
/// a <c>count(*)</c> query (visibility AND the filter over the segment, nothing else), after a warm-up, then again after
/// 1,000 deletes. Reports CPU ms per call (process CPU time over the calls) and p50; the counts of the three must agree.
/// Writes a markdown table.
/// </summary>
internal static class FilterScanBench
{
    private const string Collection = "scan";
    private const int Batch = 20_000;

    public static async Task<int> RunAsync(CommandLine args)
    {
        args.RejectUnknown("rows", "calls", "filters", "md", "dir");
        var rows = args.Int("rows", 1_000_000);
        var calls = args.Int("calls", 200);
        var filters = args.Text("filters", "tag < 50;tag % 7 == 3;price >= 250.0;score < 2.5;meta[\"n\"] < 5;tag < 1")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var data = Path.Combine(args.Text("dir") ?? Path.GetTempPath(), "quiver-bench-filter-scan-" + Guid.NewGuid().ToString("N"));
        var md = new StringBuilder();
        try
        {
            await using var engine = await FilterBench.OneSegmentEngineAsync(data);
            await engine.CreateCollectionAsync(Collection, new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Scalar("price", DataType.Double),
                    FieldSchema.Scalar("score", DataType.Float), FieldSchema.Json("meta"), FieldSchema.Vector("vector", 2, MetricType.L2),
                ],
            });
            var started = Stopwatch.GetTimestamp();
            var metas = Enumerable.Range(0, 50).Select(n => JsonDocument.Parse($"{{\"n\": {n}}}").RootElement.Clone()).ToArray();
            for (var first = 0; first < rows; first += Batch)
            {
                var n = Math.Min(Batch, rows - first);
                var ids = new long[n];
                var tags = new long[n];
                var prices = new double[n];
                var scores = new double[n];
                var meta = new JsonElement[n];
                var vectors = new float[n * 2];
                for (var j = 0; j < n; j++)
                {
                    var i = first + j;
                    ids[j] = i;
                    tags[j] = i % 100;
                    prices[j] = i * 7919L % 1000 * 0.5;
                    scores[j] = i * 104729L % 40 * 0.25;
                    meta[j] = metas[i % 50];
                    vectors[2 * j] = i;
                }

                await engine.InsertAsync(Collection, new ColumnBatch(n)
                    .Add(new FieldColumn { Name = "id", Longs = ids })
                    .Add(new FieldColumn { Name = "tag", Longs = tags })
                    .Add(new FieldColumn { Name = "price", Doubles = prices })
                    .Add(new FieldColumn { Name = "score", Doubles = scores })
                    .Add(new FieldColumn { Name = "meta", Json = meta })
                    .Add(new FieldColumn { Name = "vector", Vectors = vectors }));
            }

            await engine.FlushAsync(Collection);
            var segments = (await engine.DescribeCollectionAsync(Collection)).SealedSegments;
            var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"filter-scan: {rows:N0} rows in {segments} sealed segment(s), loaded in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s, {calls} calls per point, load {load}"));
            md.AppendLine(CultureInfo.InvariantCulture, $"# Unindexed filters: {rows:N0} rows, {segments} sealed segment, count(*) per call, {calls} calls, one client, embedded (load at start {load})");
            md.AppendLine();
            md.AppendLine("| filter | deletes | keeps | before CPU ms | kernels CPU ms | after CPU ms | before p50 | after p50 | after / before (CPU) |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var deleted in new[] { 0, 1_000 })
            {
                if (deleted > 0)
                {
                    // Spread over the segment: its live bitmap changes, so each cached filter ANDs it once more.
                    await engine.DeleteWhereAsync(Collection, $"id % {rows / deleted} == 1");
                }

                foreach (var filter in filters)
                {
                    var request = new QueryRequest { Filter = filter, OutputFields = ["count(*)"] };
                    var before = await MeasureAsync(engine, request, new PlannerOverride(FilterCache: false, FilterKernels: false), calls);
                    var kernels = await MeasureAsync(engine, request, new PlannerOverride(FilterCache: false), calls);
                    var after = await MeasureAsync(engine, request, null, calls);
                    if (before.Count != kernels.Count || before.Count != after.Count)
                    {
                        throw new InvalidOperationException($"`{filter}`: counts differ: before {before.Count}, kernels {kernels.Count}, after {after.Count}");
                    }

                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"| `{filter}` | {deleted} | {before.Count} | {before.CpuMs:F3} | {kernels.CpuMs:F3} | {after.CpuMs:F3} | {before.P50:F3} | {after.P50:F3} | {after.CpuMs / before.CpuMs:F3} |");
                    md.AppendLine(line);
                    Console.WriteLine(line);
                }
            }
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }

        var output = args.Text("md", Path.Combine("bench", "results", "filter-scan.md"));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, md.ToString());
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private sealed record Result(long Count, double CpuMs, double P50);

    /// <summary>The query <paramref name="times"/> times in a row under <paramref name="plan"/>, after 5 warm-up calls
    /// (which also fill the cache for <c>after</c>).</summary>
    private static async Task<Result> MeasureAsync(QuiverEngine engine, QueryRequest request, PlannerOverride? plan, int times)
    {
        SearchPlanner.Override = plan;
        try
        {
            long count = 0;
            for (var i = 0; i < 5; i++)
            {
                count = (long)(await engine.QueryAsync(Collection, request))[0]["count(*)"]!;
            }

            var latencies = new double[times];
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < times; i++)
            {
                var begin = Stopwatch.GetTimestamp();
                await engine.QueryAsync(Collection, request);
                latencies[i] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
            }

            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / times;
            return new Result(count, cpuMs, Stats.Percentile(latencies, 50));
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }
}
