using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Health;
using Quiver.Server.Hosting;
using Quiver.Server.Observability;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Tests.Ops.Health;

/// <summary><c>quiver health</c> against an in-process server with traffic, and against a folder.</summary>
public sealed class HealthRunnerTests
{
    private const int Dim = 8;

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
    };

    private static async Task SeedAsync(QuiverEngine engine, string name, int rows, string indexType, Dictionary<string, string>? buildParams = null)
    {
        await engine.CreateCollectionAsync(name, Schema);
        var rng = new Random(21);
        await engine.InsertAsync(name, [.. Enumerable.Range(0, rows).Select(i => new Row { ["id"] = (long)i, ["vec"] = TestData.Vector(rng, Dim) })]);
        await engine.FlushAsync(name);
        await engine.CreateIndexAsync(name, new IndexDefinition { FieldName = "vec", IndexType = indexType, Params = buildParams ?? [] });
        await engine.WaitForIndexAsync(name);
    }

    private static Task<QuiverServer> StartAsync(TempFolder dir, double sampleRate) => QuiverServer.StartAsync(new ServerOptions
    {
        DataPath = dir.Path,
        Port = 0,
        Engine = new QuiverOptions { BackgroundMaintenance = false },
        Monitoring = new MonitoringOptions { RecallSampleRate = sampleRate },
    });

    private static (CliIo Io, StringWriter Out) Io(bool json = false)
    {
        var output = new StringWriter();
        return (new CliIo(output, new StringWriter(), json), output);
    }

    private static HealthOptions Options(TargetSpec target, double windowSeconds = 1, int? probes = null, params string[] overrides) =>
        new(target, TimeSpan.FromSeconds(windowSeconds), probes, 10, HealthThresholds.Load(null, overrides));

    [Fact]
    public async Task Server_WithTraffic_ReportsLatencyQpsAndErrorsConsistentWithTheCalls()
    {
        using var dir = new TempFolder();
        await using var server = await StartAsync(dir, sampleRate: 0);
        await SeedAsync(server.Engine, "docs", 300, "FLAT");
        var uri = $"http://127.0.0.1:{server.Port}";
        await using var traffic = await TargetSpec.Server(uri).OpenAsync();
        await traffic.Client.LoadCollectionAsync("docs");
        await traffic.Client.SearchAsync("docs", new SearchRequest { Vectors = [new float[Dim]], Limit = 5 }); // the client's schema cache

        // Calls keep coming while health reads its window; it counts only those between its two scrapes.
        using var stop = new CancellationTokenSource();
        var searches = 0;
        var errors = 0;
        var load = Task.Run(async () =>
        {
            var rng = new Random(4);
            while (!stop.IsCancellationRequested)
            {
                await traffic.Client.SearchAsync("docs", new SearchRequest { Vectors = [TestData.Vector(rng, Dim)], Limit = 5 });
                Interlocked.Increment(ref searches);
                try
                {
                    await traffic.Client.SearchAsync("missing", new SearchRequest { Vectors = [TestData.Vector(rng, Dim)], Limit = 5 });
                }
                catch (QuiverException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        });
        var (io, output) = Io();
        var result = await HealthOutput.RunAsync(Options(TargetSpec.Server(uri), windowSeconds: 1.5), io, CancellationToken.None);
        await stop.CancelAsync();
        await load;

        var t = result.Traffic!;
        // A search of a missing collection fails at the client's DescribeCollection: an error, not a Search call.
        Assert.InRange(t.Searches, 1, Volatile.Read(ref searches));
        Assert.InRange(t.Errors, 1, Volatile.Read(ref errors));
        // One scrape reads the search histogram and the call counters one after the other while calls land, so
        // the identity is off by the calls that land between the two reads. How many depends on how long the
        // scraping thread is descheduled on a loaded machine (CI saw 3), so the bound is a share of the window's calls,
        // not a fixed count: a real miscount (a call counted twice, or errors left out) is off by half the calls.
        var slack = Math.Max(2, t.Calls / 10);
        Assert.InRange(t.Calls - (t.Searches + t.Errors), -slack, slack);
        Assert.Equal(t.Searches / t.Seconds, t.SearchQps, 9);
        Assert.InRange(t.ErrorRate, 0.25, 0.75); // every other call fails
        Assert.True(t.SearchP50Ms > 0 && t.SearchP50Ms <= t.SearchP95Ms && t.SearchP95Ms <= t.SearchP99Ms, $"{t.SearchP50Ms} {t.SearchP95Ms} {t.SearchP99Ms}");
        Assert.True(t.Seconds >= 1.5);
        Assert.True(result.Memory!.WorkingSetBytes > 0 && result.Memory.LimitBytes > result.Memory.WorkingSetBytes);
        var docs = Assert.Single(result.Collections);
        Assert.Equal((300L, 1L), (docs.Rows, docs.SealedSegments));
        Assert.Equal("built", Assert.Single(docs.Indexes).State);
        var p99 = result.Checks.Single(c => c.Check == HealthThresholds.SearchP99);
        Assert.Equal(t.SearchP99Ms, p99.Value);
        Assert.Equal(HealthStatus.Info, result.Checks.Single(c => c.Check == HealthThresholds.Recall).Status);
        // The error rate (about 50 %) is far beyond the 5 % fail threshold.
        Assert.Equal(HealthStatus.Fail, result.Checks.Single(c => c.Check == HealthThresholds.ErrorRate).Status);
        Assert.Equal(ExitCodes.CheckFailed, CliIo.ExitCodeOf(result));
        Assert.Contains("search.p99_ms", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("UNHEALTHY", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_RecallCheck_ReadsTheMonitorsMetric_AndABreachedThresholdExits2NamingIt()
    {
        using var dir = new TempFolder();
        await using var server = await StartAsync(dir, sampleRate: 1);
        await SeedAsync(server.Engine, "docs", 200, "FLAT");
        var uri = $"http://127.0.0.1:{server.Port}";
        await using (var traffic = await TargetSpec.Server(uri).OpenAsync())
        {
            await traffic.Client.LoadCollectionAsync("docs");
            var rng = new Random(8);
            for (var i = 0; i < 12; i++)
            {
                await traffic.Client.SearchAsync("docs", new SearchRequest { Vectors = [TestData.Vector(rng, Dim)], Limit = 10 });
            }
            // The re-runs are asynchronous: wait until the monitor has compared all twelve.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (((await MetricsAsync(traffic.Http!)).Value("quiver_recall_samples_total", "collection", "docs") ?? 0) < 12 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }

        var (io, _) = Io();
        var healthy = await HealthOutput.RunAsync(Options(TargetSpec.Server(uri), 0.2), io, CancellationToken.None);
        var recall = healthy.Checks.Single(c => c.Check == HealthThresholds.Recall && c.Subject == "default.docs");
        Assert.Equal(1.0, recall.Value);
        Assert.Equal(HealthStatus.Ok, recall.Status);
        Assert.Equal(12, healthy.Collections.Single().RecallSamples);
        Assert.Equal(1.0, healthy.RecallSampleRate);
        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(healthy));

        // A recall floor above 1 cannot be met: the check fails, the report says so, the exit code is 2.
        var (io2, output) = Io(json: true);
        var breached = await HealthOutput.RunAsync(Options(TargetSpec.Server(uri), 0.2, null, "recall.fail=1.01"), io2, CancellationToken.None);
        Assert.Equal(ExitCodes.CheckFailed, CliIo.ExitCodeOf(breached));
        var failed = Assert.Single(breached.Checks, c => c.Status == HealthStatus.Fail);
        Assert.Equal((HealthThresholds.Recall, "default.docs"), (failed.Check, failed.Subject));
        using var json = JsonDocument.Parse(output.ToString());
        Assert.False(json.RootElement.GetProperty("healthy").GetBoolean());
        Assert.Contains(json.RootElement.GetProperty("checks").EnumerateArray(),
            c => c.GetProperty("check").GetString() == "recall" && c.GetProperty("status").GetString() == "fail" && c.GetProperty("fail").GetDouble() == 1.01);
    }

    [Fact]
    public async Task Server_Probes_MeasureLatencyAndRecallAgainstExact_AndAThresholdsFileApplies()
    {
        using var dir = new TempFolder();
        await using var server = await StartAsync(dir, sampleRate: 0);
        await SeedAsync(server.Engine, "coarse", 2000, "IVF_FLAT", new() { ["nlist"] = "64" });
        // Searches default to one list of 64: recall well below 1.
        await server.Engine.AlterCollectionPropertiesAsync("coarse", new Dictionary<string, string> { [SearchRequest.DefaultSearchParamsProperty + "vec"] = """{"nprobe": 1}""" });
        var uri = $"http://127.0.0.1:{server.Port}";
        await using (var t = await TargetSpec.Server(uri).OpenAsync())
        {
            await t.Client.LoadCollectionAsync("coarse");
        }
        using var files = new TempFolder();
        var file = Path.Combine(files.Path, "thresholds.json");
        File.WriteAllText(file, """{"probe.recall": {"warn": 0.99, "fail": 0.98}, "probe.p99_ms": {"warn": null, "fail": null}}""");
        var (io, output) = Io();
        var options = new HealthOptions(TargetSpec.Server(uri), TimeSpan.FromSeconds(0.2), 20, 10, HealthThresholds.Load(file, []));
        var result = await HealthOutput.RunAsync(options, io, CancellationToken.None);
        var probe = Assert.Single(result.Collections).Probe!;
        Assert.Equal((20, 10, "vec"), (probe.Queries, probe.K, probe.Field));
        Assert.True(probe.P50Ms > 0 && probe.P50Ms <= probe.P99Ms);
        Assert.InRange(probe.Recall, 0.05, 0.97);
        var check = result.Checks.Single(c => c.Check == HealthThresholds.ProbeRecall);
        Assert.Equal((0.99, 0.98, HealthStatus.Fail), (check.Warn!.Value, check.Fail!.Value, check.Status));
        Assert.Equal(HealthStatus.Info, result.Checks.Single(c => c.Check == HealthThresholds.ProbeP99).Status);
        Assert.Equal(ExitCodes.CheckFailed, CliIo.ExitCodeOf(result));
        Assert.Contains("probe.recall", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Folder_ReportsIndexStateMemoryEstimateAndProbes_WithoutTrafficFigures()
    {
        using var dir = new TempFolder();
        await using (var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await SeedAsync(engine, "hnsw", 500, "HNSW", new() { ["M"] = "16", ["efConstruction"] = "100" });
            await engine.CreateCollectionAsync("bare", Schema);
            await engine.InsertAsync("bare", [new Row { ["id"] = 1L, ["vec"] = new float[Dim] }]);
        }

        var (io, output) = Io(json: true);
        var result = await HealthOutput.RunAsync(Options(TargetSpec.Folder(dir.Path)), io, CancellationToken.None);
        Assert.Null(result.Traffic);
        Assert.Null(result.Memory);
        Assert.DoesNotContain(result.Checks, c => c.Check is HealthThresholds.SearchP99 or HealthThresholds.Recall or HealthThresholds.Memory);
        var hnsw = result.Collections.Single(c => c.Name == "hnsw");
        Assert.Equal((500L, 1L, 0L), (hnsw.Rows, hnsw.SealedSegments, hnsw.GrowingSegments));
        var index = Assert.Single(hnsw.Indexes);
        Assert.Equal(("HNSW", "built", 0L), (index.Type, index.State, index.PendingRows));
        Assert.True(index.MemoryBytes > 0);
        Assert.Equal((500L * Dim * 4) + index.MemoryBytes, hnsw.IndexMemoryBytes);
        Assert.Equal(10, hnsw.Probe!.Queries); // the folder default
        Assert.InRange(hnsw.Probe.Recall, 0.9, 1.0);
        var bare = result.Collections.Single(c => c.Name == "bare");
        Assert.Empty(bare.Indexes);
        Assert.Equal((1L, 0L, 1L), (bare.Rows, bare.SealedSegments, bare.GrowingSegments));
        Assert.Equal(1.0, bare.Probe!.Recall); // no index: searched exactly
        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(result));
        using var json = JsonDocument.Parse(output.ToString());
        Assert.Equal(2, json.RootElement.GetProperty("collections").GetArrayLength());
        Assert.StartsWith("folder ", json.RootElement.GetProperty("target").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Folder_Missing_IsAnErrorNamingIt()
    {
        using var dir = new TempFolder();
        var missing = Path.Combine(dir.Path, "nope");
        var (io, _) = Io();
        var e = await Assert.ThrowsAsync<ToolboxException>(() => HealthOutput.RunAsync(Options(TargetSpec.Folder(missing)), io, CancellationToken.None));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    private static async Task<MetricsSnapshot> MetricsAsync(HttpClient http) =>
        MetricsSnapshot.Parse(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
}
