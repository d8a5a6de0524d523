using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests.Ops;

public sealed class ObservabilityTests
{
    [Fact]
    public async Task Healthz_WhenServing_Answers200WithStatusAndCollections()
    {
        await using var server = await TestServer.StartAsync();
        await server.Server.Engine.CreateCollectionAsync("docs", Schema(4));
        // Uptime counts from the start, not from the first request that reaches the metrics.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        using var response = await server.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("serving", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(server.Server.Engine.Path, json.RootElement.GetProperty("dataPath").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("collections").GetInt32());
        Assert.True(json.RootElement.GetProperty("uptimeSeconds").GetDouble() >= 1.0, json.RootElement.ToString());
    }

    [Fact]
    public async Task Healthz_EngineClosed_Answers503AndMetricsStillAnswer()
    {
        await using var server = await TestServer.StartAsync();
        var sinceStarted = Stopwatch.StartNew();
        await server.Server.Engine.DisposeAsync();
        using var response = await server.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unavailable", json.RootElement.GetProperty("status").GetString());
        Assert.Contains("closed", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        // The server's clock started before StartAsync returned, so its uptime is at least what the test measured since;
        // a later scrape reads a later uptime (the gauge is live, not frozen with the engine).
        var atLeast = sinceStarted.Elapsed.TotalSeconds;
        var metrics = await MetricsScrape.GetAsync(server.Http);
        var uptime = metrics.Value("quiver_uptime_seconds");
        Assert.True(uptime >= atLeast, $"uptime {uptime} s, but the server has been up at least {atLeast} s");
        Assert.DoesNotContain(metrics.Samples.Keys, k => k.StartsWith("quiver_collection_rows{", StringComparison.Ordinal));
        var later = (await MetricsScrape.GetAsync(server.Http)).Value("quiver_uptime_seconds");
        Assert.True(later > uptime, $"uptime went from {uptime} to {later} s between two scrapes");
    }

    [Fact]
    public async Task Metrics_AfterCalls_CountersIncreaseAndBucketsAreMonotone()
    {
        await using var server = await TestServer.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            await server.Milvus.GetVersionAsync(new GetVersionRequest());
        }
        await server.Milvus.GetReplicasAsync(new GetReplicasRequest { CollectionID = 1 }); // unimplemented: code 10
        var first = await MetricsScrape.GetAsync(server.Http);
        const string ok = "quiver_rpc_requests_total{method=\"GetVersion\",transport=\"grpc\",code=\"0\"}";
        Assert.Equal(3, first.Value(ok));
        Assert.Equal(1, first.Value("quiver_rpc_requests_total{method=\"GetReplicas\",transport=\"grpc\",code=\"10\"}"));
        Assert.Equal(3, first.CheckedBuckets("quiver_rpc_duration_seconds", "method=\"GetVersion\",transport=\"grpc\"")[^1]);

        for (var i = 0; i < 2; i++)
        {
            await server.Milvus.GetVersionAsync(new GetVersionRequest());
        }
        var second = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(5, second.Value(ok));
        var before = first.CheckedBuckets("quiver_rpc_duration_seconds", "method=\"GetVersion\",transport=\"grpc\"");
        var after = second.CheckedBuckets("quiver_rpc_duration_seconds", "method=\"GetVersion\",transport=\"grpc\"");
        Assert.All(before.Zip(after), pair => Assert.True(pair.Second >= pair.First));
    }

    [Fact]
    public async Task Metrics_AfterWrites_ShowRowsSegmentsIndexesAndFsyncs()
    {
        await using var server = await TestServer.StartAsync();
        var engine = server.Server.Engine;
        await engine.CreateCollectionAsync("docs", Schema(4));
        var before = await MetricsScrape.GetAsync(server.Http);
        await engine.InsertAsync("docs", Rows(0, 50, 4));
        await engine.DeleteAsync("docs", [0L, 1L, 2L]);
        await engine.CreateIndexAsync("docs", new IndexDefinition { FieldName = "vector", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "32" } });
        // The heap gauge is the size after the last collection, 0 until the process has had one (a test process run
        // with this class alone may not have): make sure there was one.
        GC.Collect();
        var after = await MetricsScrape.GetAsync(server.Http);

        // The engine counters are process-wide (other tests run engines in parallel): at least our rows.
        Assert.True(after.Value("quiver_rows_inserted_total") - before.Value("quiver_rows_inserted_total") >= 50);
        Assert.True(after.Value("quiver_rows_deleted_total") - before.Value("quiver_rows_deleted_total") >= 3);
        Assert.True(after.Value("quiver_wal_fsync_duration_seconds_count") > before.Value("quiver_wal_fsync_duration_seconds_count"),
            "durable writes fsync the WAL");
        after.CheckedBuckets("quiver_wal_fsync_duration_seconds", "");

        Assert.Equal(47, after.Value("quiver_collection_rows{database=\"default\",collection=\"docs\"}"));
        Assert.Equal(1, after.Value("quiver_collection_segments{database=\"default\",collection=\"docs\",state=\"growing\"}"));
        Assert.Equal(0, after.Value("quiver_collection_segments{database=\"default\",collection=\"docs\",state=\"sealed\"}"));
        Assert.True(after.Samples.ContainsKey("quiver_index_pending_rows{database=\"default\",collection=\"docs\",index=\"vector\"}"), after.Text);
        Assert.Equal(1, after.Value("quiver_indexes{state=\"finished\"}") + after.Value("quiver_indexes{state=\"in_progress\"}"));
        Assert.True(after.Value("quiver_process_working_set_bytes") > 0);
        Assert.True(after.Value("quiver_gc_heap_bytes") > 0);
    }

    [Fact]
    public async Task RequestLog_EachCall_LoggedWithRequestIdMethodTransportCodeAndDuration()
    {
        using var folder = new TempFolder();
        var sink = new CapturingLoggerProvider();
        var options = new ServerOptions { DataPath = folder.Path, Port = 0, Engine = new QuiverOptions { BackgroundMaintenance = false } };
        double clientMilliseconds;
        await using (var server = await QuiverServer.StartAsync(options, logging =>
        {
            logging.SetMinimumLevel(LogLevel.Debug);
            logging.AddProvider(sink);
        }))
        {
            using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
            var client = new MilvusService.MilvusServiceClient(channel);
            var call = Stopwatch.StartNew();
            await client.GetVersionAsync(new GetVersionRequest());
            clientMilliseconds = call.Elapsed.TotalMilliseconds;
            await client.GetReplicasAsync(new GetReplicasRequest { CollectionID = 1 });
        }

        var completed = Assert.Single(sink.Entries, e => e.EventName == "CallCompleted" && e.Values["Method"] as string == "GetVersion");
        Assert.Equal(LogLevel.Debug, completed.Level);
        Assert.Matches("^[0-9a-f]{16}$", (string)completed.Values["RequestId"]!);
        Assert.Equal("grpc", completed.Values["Transport"]);
        Assert.Equal(0, completed.Values["StatusCode"]);
        // The server's own measure of the call: more than nothing, and within what the client saw around it.
        var duration = (double)completed.Values["DurationMs"]!;
        Assert.True(duration > 0 && duration <= clientMilliseconds, $"DurationMs {duration} outside (0, {clientMilliseconds}]");

        var failed = Assert.Single(sink.Entries, e => e.EventName == "CallFailed");
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Equal("GetReplicas", failed.Values["Method"]);
        Assert.Equal(10, failed.Values["StatusCode"]);
        Assert.Contains("GetReplicas", (string)failed.Values["Reason"]!, StringComparison.Ordinal);
        Assert.NotEqual(completed.Values["RequestId"], failed.Values["RequestId"]);

        // The misleading cleartext HTTP/2 warning is dropped; Kestrel's other messages are not.
        Assert.DoesNotContain(sink.Entries, e => e.EventName == ServerLogging.Http2DisabledEventName);
        Assert.Contains(sink.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) || e.Category.StartsWith("Microsoft.Hosting", StringComparison.Ordinal));
    }

    internal static CollectionSchema Schema(int dim) => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", dim, MetricType.L2)],
    };

    internal static List<Row> Rows(long first, int count, int dim)
    {
        var random = new Random((int)first + 17);
        return Enumerable.Range(0, count).Select(i => new Row
        {
            ["id"] = first + i,
            ["vector"] = Enumerable.Range(0, dim).Select(_ => random.NextSingle()).ToArray(),
        }).ToList();
    }
}
