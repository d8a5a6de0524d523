using System.Diagnostics;
using Quiver.Server.Clients;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ops;

/// <summary>
/// Mixed load over gRPC: 16 concurrent clients, 90% top-10 searches and 10% inserts of 10 rows, against an HNSW-indexed
/// collection with background maintenance on. Zero errors, managed memory stable (growth bounded by the rows
/// inserted), p50/p95/p99 and QPS reported. 5 seconds in CI, 10 minutes in the long tier (<c>QUIVER_LONG=1</c>).
/// Needs the Insert and Search RPCs (the data handlers).
/// </summary>
[Trait("Category", "Long")]
public sealed class LoadTests(ITestOutputHelper output)
{
    private const int Dim = 32;
    private const int Clients = 16;
    private const int InsertRows = 10;

    [Fact]
    public async Task MixedSearchAndInsert_16Clients_NoErrorsAndStableMemory()
    {
        await using var server = await TestServer.StartAsync(o => o.Engine = new QuiverOptions { SegmentMaxRows = 20_000 });
        var engine = server.Server.Engine;
        await engine.CreateCollectionAsync("docs", ObservabilityTests.Schema(Dim));
        var initial = TestTier.Pick(5_000, 50_000);
        for (var first = 0; first < initial; first += 1_000)
        {
            await engine.InsertAsync("docs", ObservabilityTests.Rows(first, 1_000, Dim));
        }
        await engine.FlushAsync("docs");
        await engine.CreateIndexAsync("docs", new IndexDefinition
        {
            FieldName = "vector", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "64" },
        });
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await engine.WaitForIndexAsync("docs", cancellationToken: wait.Token);
        }
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new Protocol.Milvus.LoadCollectionRequest { CollectionName = "docs" })).Code);

        var duration = TestTier.IsLong ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(5);
        var searchLatencies = new List<double>[Clients];
        var insertLatencies = new List<double>[Clients];
        long nextId = initial;
        long errors = 0;
        long inserted = 0;
        var firstError = "";
        long heapAtQuarter = 0;
        long insertedAtQuarter = 0;
        var started = Stopwatch.GetTimestamp();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            searchLatencies[c] = [];
            insertLatencies[c] = [];
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var begin = Stopwatch.GetTimestamp();
                int code;
                string reason;
                var isSearch = random.NextDouble() < 0.9;
                try
                {
                    if (isSearch)
                    {
                        var query = Enumerable.Range(0, Dim).Select(_ => random.NextSingle()).ToArray();
                        var results = await server.Milvus.SearchAsync(MilvusRequests.Search("docs", query, Dim, 10, "L2", """{"ef":64}"""));
                        (code, reason) = (results.Status.Code, results.Status.Reason);
                        if (code == 0 && results.Results.Ids.IntId.Data.Count != 10)
                        {
                            (code, reason) = (-1, $"search returned {results.Results.Ids.IntId.Data.Count} hits, not 10");
                        }
                    }
                    else
                    {
                        var first = Interlocked.Add(ref nextId, InsertRows) - InsertRows;
                        var ids = Enumerable.Range(0, InsertRows).Select(i => first + i).ToArray();
                        var vectors = Enumerable.Range(0, InsertRows * Dim).Select(_ => random.NextSingle()).ToArray();
                        var response = await server.Milvus.InsertAsync(MilvusRequests.Insert("docs", ids, vectors, Dim));
                        (code, reason) = (response.Status.Code, response.Status.Reason);
                        if (code == 0)
                        {
                            Interlocked.Add(ref inserted, InsertRows);
                        }
                    }
                }
                catch (Grpc.Core.RpcException e)
                {
                    (code, reason) = (-2, e.Status.ToString());
                }
                var elapsed = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
                if (code != 0)
                {
                    if (Interlocked.Increment(ref errors) == 1)
                    {
                        firstError = $"{(isSearch ? "search" : "insert")} answered {code}: {reason}";
                    }
                    continue;
                }
                (isSearch ? searchLatencies[c] : insertLatencies[c]).Add(elapsed);
            }
        })).ToList();

        // Memory is sampled a quarter of the way in (after warm-up) and at the end, each after a full collection.
        await Task.Delay(duration / 4);
        heapAtQuarter = HeapAfterCollection();
        insertedAtQuarter = Interlocked.Read(ref inserted);
        await Task.WhenAll(clients);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var heapAtEnd = HeapAfterCollection();

        var searches = searchLatencies.SelectMany(l => l).Order().ToArray();
        var inserts = insertLatencies.SelectMany(l => l).Order().ToArray();
        output.WriteLine($"{Clients} clients, {seconds:F1} s: {searches.Length + inserts.Length} calls, {(searches.Length + inserts.Length) / seconds:F0} QPS, {errors} errors");
        output.WriteLine($"search: {searches.Length} calls, p50 {Percentile(searches, 0.50):F2} ms, p95 {Percentile(searches, 0.95):F2} ms, p99 {Percentile(searches, 0.99):F2} ms");
        output.WriteLine($"insert: {inserts.Length} calls, p50 {Percentile(inserts, 0.50):F2} ms, p95 {Percentile(inserts, 0.95):F2} ms, p99 {Percentile(inserts, 0.99):F2} ms");
        output.WriteLine($"managed heap: {heapAtQuarter >> 20} MiB at 1/4, {heapAtEnd >> 20} MiB at the end; {inserted - insertedAtQuarter} rows inserted in between");

        Assert.True(errors == 0, $"{errors} calls failed; first: {firstError}");
        Assert.NotEmpty(searches);
        Assert.NotEmpty(inserts);
        // Stable: what the heap gained is accounted for by the rows inserted meanwhile (vector, key, timestamps and
        // index links, generously 1 KiB a row at this dimension), plus 64 MiB of slack for buffers and pools.
        var allowed = (inserted - insertedAtQuarter) * 1024 + (64L << 20);
        Assert.True(heapAtEnd - heapAtQuarter <= allowed,
            $"the managed heap grew {(heapAtEnd - heapAtQuarter) >> 20} MiB, more than the {allowed >> 20} MiB the inserted rows explain");
    }

    private static long HeapAfterCollection()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
