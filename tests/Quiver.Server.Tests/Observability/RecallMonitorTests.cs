using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Observability;
using Quiver.Server.Tests.Ops;
using Quiver.Testing;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Observability;

/// <summary>Live recall monitoring: sampled searches re-run exactly in the background, the estimate exported on
/// /metrics checked against the brute-force oracle.</summary>
public sealed class RecallMonitorTests
{
    private const int Dim = 16;
    private const int Rows = 3000;
    private const int K = 10;

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("bucket", Quiver.DataType.Int64), FieldSchema.Vector("vec", Dim, MetricType.L2)],
    };

    /// <summary>A collection of <see cref="Rows"/> seeded rows, sealed, with <paramref name="indexType"/> built and loaded.</summary>
    private static async Task<float[][]> SeedAsync(TestServer server, string name, string indexType, string paramsJson)
    {
        var engine = server.Server.Engine;
        await engine.CreateCollectionAsync(name, Schema);
        var rng = new Random(7);
        var vectors = Enumerable.Range(0, Rows).Select(_ => TestData.Vector(rng, Dim)).ToArray();
        await engine.InsertAsync(name, [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["bucket"] = (long)(i % 5), ["vec"] = vectors[i] })]);
        await engine.FlushAsync(name);
        await engine.CreateIndexAsync(name, new IndexDefinition
        {
            FieldName = "vec",
            IndexType = indexType,
            Params = new Dictionary<string, string>(Quiver.Indexing.IndexParameters.FromJson(paramsJson).Values),
        });
        await engine.WaitForIndexAsync(name);
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name })).Code);
        return vectors;
    }

    private static Protocol.Milvus.SearchRequest Search(string collection, float[] query, string paramsJson, int topk = K, string expr = "",
        params (string Key, string Value)[] extra)
    {
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            Dsl = expr,
            DslType = Protocol.Common.DslType.BoolExprV1,
            Nq = 1,
            PlaceholderGroup = TestPlaceholders.Group([query]),
            SearchParams =
            {
                new KeyValuePair { Key = "anns_field", Value = "vec" },
                new KeyValuePair { Key = "params", Value = paramsJson },
                new KeyValuePair { Key = "topk", Value = topk.ToString(CultureInfo.InvariantCulture) },
            },
        };
        foreach (var (key, value) in extra)
        {
            request.SearchParams.Add(new KeyValuePair { Key = key, Value = value });
        }
        return request;
    }

    /// <summary>Scrapes until <paramref name="sample"/> reaches <paramref name="expected"/> (the re-runs are
    /// asynchronous); fails after a generous bound rather than hanging.</summary>
    private static async Task<MetricsScrape> WaitForAsync(TestServer server, string sample, double expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var scrape = await MetricsScrape.GetAsync(server.Http);
            if (scrape.Value(sample) >= expected || DateTime.UtcNow > deadline)
            {
                Assert.Equal(expected, scrape.Value(sample));
                return scrape;
            }
            await Task.Delay(50);
        }
    }

    private static string Series(string name, string collection) => $"{name}{{database=\"default\",collection=\"{collection}\"}}";

    [Fact]
    public async Task RecallEstimate_CoarseIvf_MatchesBruteForceOracle()
    {
        await using var server = await TestServer.StartAsync(o => o.Monitoring = new MonitoringOptions { RecallSampleRate = 1, RecallWindow = 1000 });
        var vectors = await SeedAsync(server, "ivf", "IVF_FLAT", """{"nlist":64}""");
        var candidates = vectors.Select((v, i) => ((long)i, v)).ToList();
        var rng = new Random(11);
        const int Queries = 40;
        double oracleSum = 0;
        for (var q = 0; q < Queries; q++)
        {
            var query = TestData.Vector(rng, Dim);
            var response = await server.Milvus.SearchAsync(Search("ivf", query, """{"nprobe":1}"""));
            Assert.Equal(0, response.Status.Code);
            var got = response.Results.Ids.IntId.Data.ToList();
            var truth = BruteForce.TopK(candidates, query, MetricType.L2, K).Select(t => t.Key).ToHashSet();
            oracleSum += got.Count(truth.Contains) / (double)K;
        }

        var oracle = oracleSum / Queries;
        Assert.True(oracle < 0.9, $"nprobe 1 over 64 lists should lose recall; the oracle says {oracle}");
        var scrape = await WaitForAsync(server, Series("quiver_recall_samples_total", "ivf"), Queries);
        Assert.Equal(Queries, scrape.Value(Series("quiver_recall_window_samples", "ivf")));
        var estimate = scrape.Value(Series("quiver_recall_estimate", "ivf"));
        Assert.InRange(estimate, oracle - 0.01, oracle + 0.01);
        Assert.Equal(0, scrape.Value("quiver_recall_dropped_total"));
        Assert.Equal(1, scrape.Value("quiver_recall_sample_rate"));
    }

    [Fact]
    public async Task RecallEstimate_FlatOverRestAndExactOverGrpc_IsOne_AndUncomparableSearchesAreSkippedByReason()
    {
        await using var server = await TestServer.StartAsync(o => o.Monitoring = new MonitoringOptions { RecallSampleRate = 1, RecallWindow = 8 });
        await SeedAsync(server, "flat", "FLAT", "{}");
        var rng = new Random(5);
        for (var q = 0; q < 6; q++)
        {
            var body = new JsonObject
            {
                ["collectionName"] = "flat",
                ["data"] = new JsonArray(new JsonArray(TestData.Vector(rng, Dim).Select(x => (JsonNode?)JsonValue.Create(x)).ToArray())),
                ["annsField"] = "vec",
                ["limit"] = K,
                ["filter"] = "bucket in [1, 2]",
            };
            using var rest = await server.Http.PostAsJsonAsync(new Uri("/v2/vectordb/entities/search", UriKind.Relative), body);
            Assert.Equal(0, JsonNode.Parse(await rest.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
        }
        for (var q = 0; q < 6; q++)
        {
            Assert.Equal(0, (await server.Milvus.SearchAsync(Search("flat", TestData.Vector(rng, Dim), """{"exact":"true"}"""))).Status.Code);
        }
        // Not comparable: range, group-by, offset.
        Assert.Equal(0, (await server.Milvus.SearchAsync(Search("flat", TestData.Vector(rng, Dim), """{"radius":4.0}"""))).Status.Code);
        Assert.Equal(0, (await server.Milvus.SearchAsync(Search("flat", TestData.Vector(rng, Dim), "{}", extra: ("group_by_field", "bucket")))).Status.Code);
        Assert.Equal(0, (await server.Milvus.SearchAsync(Search("flat", TestData.Vector(rng, Dim), "{}", extra: ("offset", "5")))).Status.Code);

        var scrape = await WaitForAsync(server, Series("quiver_recall_samples_total", "flat"), 12);
        Assert.Equal(8, scrape.Value(Series("quiver_recall_window_samples", "flat")));
        Assert.Equal(1.0, scrape.Value(Series("quiver_recall_estimate", "flat")));
        Assert.Equal(1, scrape.Value("quiver_recall_skipped_total{reason=\"range\"}"));
        Assert.Equal(1, scrape.Value("quiver_recall_skipped_total{reason=\"group_by\"}"));
        Assert.Equal(1, scrape.Value("quiver_recall_skipped_total{reason=\"offset\"}"));
        Assert.Equal(0, scrape.Value("quiver_recall_skipped_total{reason=\"failed\"}"));
    }

    [Fact]
    public async Task Estimates_ForgetADroppedCollection_AndKeepTheOthers()
    {
        await using var server = await TestServer.StartAsync(o => o.Monitoring = new MonitoringOptions { RecallSampleRate = 1, RecallWindow = 100 });
        var rng = new Random(3);
        foreach (var name in new[] { "kept", "gone" })
        {
            await SeedAsync(server, name, "FLAT", "{}");
            for (var q = 0; q < 3; q++)
            {
                Assert.Equal(0, (await server.Milvus.SearchAsync(Search(name, TestData.Vector(rng, Dim), "{}"))).Status.Code);
            }
            await WaitForAsync(server, Series("quiver_recall_samples_total", name), 3);
        }

        var monitor = server.Server.Services.GetRequiredService<RecallMonitor>();
        Assert.Equal(["gone", "kept"], monitor.Estimates().Select(e => e.Collection).Order(StringComparer.Ordinal));
        Assert.Equal(0, (await server.Milvus.DropCollectionAsync(new DropCollectionRequest { CollectionName = "gone" })).Code);

        // Every re-run finished before the drop, so nothing else removes the window: the console's recall chart reads
        // Estimates(), which must stop showing the dropped collection as /metrics does.
        var left = monitor.Estimates();
        Assert.Equal(["kept"], left.Select(e => e.Collection));
        Assert.Equal(1.0, left[0].Mean);
    }

    [Fact]
    public async Task SampleRateZero_ProducesNoSamples()
    {
        await using var server = await TestServer.StartAsync(o => o.Monitoring = new MonitoringOptions { RecallSampleRate = 0 });
        await SeedAsync(server, "off", "FLAT", "{}");
        var rng = new Random(3);
        for (var q = 0; q < 20; q++)
        {
            Assert.Equal(0, (await server.Milvus.SearchAsync(Search("off", TestData.Vector(rng, Dim), "{}"))).Status.Code);
        }
        var monitor = (RecallMonitor)server.Server.Services.GetService(typeof(RecallMonitor))!;
        Assert.False(monitor.Enabled);
        Assert.Equal(0, monitor.QueueLength);
        var scrape = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(0, scrape.Value("quiver_recall_sample_rate"));
        Assert.DoesNotContain("quiver_recall_estimate{", scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("quiver_recall_samples_total{", scrape.Text, StringComparison.Ordinal);
        Assert.Equal(20, scrape.Value("quiver_rpc_requests_total{method=\"Search\",transport=\"grpc\",code=\"0\"}"));
    }

    /// <summary>A monitor whose thread is not started: the queue fills and further samples are dropped and counted;
    /// draining compares what was queued.</summary>
    [Fact]
    public async Task FullQueue_DropsAndCounts()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync("c", Schema);
        var rng = new Random(9);
        await engine.InsertAsync("c", [.. Enumerable.Range(0, 50).Select(i => new Row { ["id"] = (long)i, ["bucket"] = 0L, ["vec"] = TestData.Vector(rng, Dim) })]);
        using var monitor = new RecallMonitor(engine, new MonitoringOptions { RecallSampleRate = 1, RecallQueueCapacity = 2 }, () => 0, NullLogger<RecallMonitor>.Instance);
        for (var i = 0; i < 5; i++)
        {
            var request = new SearchRequest { Vectors = [TestData.Vector(rng, Dim)], Limit = 5 };
            monitor.Offer("default", "c", request, await engine.SearchAsync("c", request));
        }
        Assert.Equal(2, monitor.QueueLength);
        await monitor.DrainAsync(CancellationToken.None);

        var scrape = Scrape(monitor, ("default", "c"));
        Assert.Equal(3, scrape.Value("quiver_recall_dropped_total"));
        Assert.Equal(2, scrape.Value(Series("quiver_recall_samples_total", "c")));
        Assert.Equal(1.0, scrape.Value(Series("quiver_recall_estimate", "c")));
        Assert.Equal(0, scrape.Value("quiver_recall_queue_length"));
    }

    /// <summary>A hit deleted between the search and its re-run is not a miss; a row inserted in between that enters the
    /// exact top-k is (the documented low bias), and the sample counts as changed.</summary>
    [Fact]
    public async Task WritesBetweenSearchAndRerun_DeletesAreLeftOut_InsertsCountAsMisses()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync("c", Schema);
        var rng = new Random(13);
        await engine.InsertAsync("c", [.. Enumerable.Range(0, 100).Select(i => new Row { ["id"] = (long)i, ["bucket"] = 0L, ["vec"] = TestData.Vector(rng, Dim) })]);
        long writes = 0;
        using var monitor = new RecallMonitor(engine, new MonitoringOptions { RecallSampleRate = 1 }, () => writes, NullLogger<RecallMonitor>.Instance);
        var query = TestData.Vector(rng, Dim);
        var request = new SearchRequest { Vectors = [query], Limit = K };

        var before = await engine.SearchAsync("c", request);
        monitor.Offer("default", "c", request, before);
        await engine.DeleteAsync("c", [before.Hits[0][0].Id, before.Hits[0][3].Id]);
        writes += 2;
        await monitor.DrainAsync(CancellationToken.None);
        var scrape = Scrape(monitor, ("default", "c"));
        Assert.Equal(1.0, scrape.Value(Series("quiver_recall_estimate", "c")));
        Assert.Equal(1, scrape.Value(Series("quiver_recall_samples_changed_total", "c")));

        var second = await engine.SearchAsync("c", request);
        monitor.Offer("default", "c", request, second);
        await engine.InsertAsync("c", [new Row { ["id"] = 1000L, ["bucket"] = 0L, ["vec"] = query }]);
        writes++;
        await monitor.DrainAsync(CancellationToken.None);
        scrape = Scrape(monitor, ("default", "c"));
        Assert.Equal(2, scrape.Value(Series("quiver_recall_samples_total", "c")));
        Assert.Equal((1.0 + 0.9) / 2, scrape.Value(Series("quiver_recall_estimate", "c")), 9);
        Assert.Equal(2, scrape.Value(Series("quiver_recall_samples_changed_total", "c")));
    }

    [Fact]
    public void Settings_FromSetAndEnvironment_AndOutOfRangeRefused()
    {
        var options = ServerConfig.Load(
            new Dictionary<string, string?> { ["Monitoring:RecallSampleRate"] = "0.25" },
            new System.Collections.Hashtable { ["QUIVER_MONITORING__RECALLWINDOW"] = "500", ["QUIVER_MONITORING__RECALLQUEUECAPACITY"] = "7" });
        Assert.Equal(0.25, options.Monitoring.RecallSampleRate);
        Assert.Equal(500, options.Monitoring.RecallWindow);
        Assert.Equal(7, options.Monitoring.RecallQueueCapacity);
        Assert.Equal(0.01, new ServerOptions().Monitoring.RecallSampleRate);

        var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { ["Monitoring:RecallSampleRate"] = "1.5" }, new System.Collections.Hashtable()));
        Assert.Contains("Monitoring:RecallSampleRate", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { ["Monitoring:RecallWindow"] = "0" }, new System.Collections.Hashtable()));
    }

    [Fact]
    public void CpuShare_RestIsProportionalToTheRerun_AndOutOfRangeRefused()
    {
        // share s of one core: busy t, then rest t(1-s)/s, so busy / (busy + rest) = s.
        Assert.Equal(TimeSpan.FromMilliseconds(380), RecallMonitor.RestAfter(TimeSpan.FromMilliseconds(20), 0.05));
        Assert.Equal(TimeSpan.FromMilliseconds(30), RecallMonitor.RestAfter(TimeSpan.FromMilliseconds(10), 0.25));
        Assert.Equal(TimeSpan.Zero, RecallMonitor.RestAfter(TimeSpan.FromMilliseconds(20), 1));
        Assert.Equal(TimeSpan.Zero, RecallMonitor.RestAfter(TimeSpan.Zero, 0.05));
        Assert.Equal(0.05, new ServerOptions().Monitoring.RecallCpuShare);

        var options = ServerConfig.Load(new Dictionary<string, string?> { ["Monitoring:RecallCpuShare"] = "0.5" }, new System.Collections.Hashtable());
        Assert.Equal(0.5, options.Monitoring.RecallCpuShare);
        foreach (var bad in new[] { "0", "-0.1", "1.5", "NaN" })
        {
            var e = Assert.Throws<ArgumentException>(() => ServerConfig.Load(new Dictionary<string, string?> { ["Monitoring:RecallCpuShare"] = bad }, new System.Collections.Hashtable()));
            Assert.Contains("Monitoring:RecallCpuShare", e.Message, StringComparison.Ordinal);
        }
    }

    private static MetricsScrape Scrape(RecallMonitor monitor, params (string, string)[] existing)
    {
        var text = new PrometheusText();
        monitor.Write(text, existing.ToHashSet());
        return MetricsScrape.Parse(text.ToString());
    }
}
