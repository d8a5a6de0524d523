using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Tune;
using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Tune;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Ops.Tune;

public sealed class TunerTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-tune");

    public void Dispose() => _dir.Dispose();

    private async Task WithClientAsync(Func<IQuiverClient, Task> body)
    {
        await using var engine = await QuiverEngine.OpenAsync(_dir.Path);
        await using var client = QuiverClient.FromEngine(engine);
        await body(client);
    }

    private static (CliIo Io, StringWriter Out, StringWriter Err) Io(bool json = false)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        return (new CliIo(o, e, json), o, e);
    }

    private TuneOptions Options(string collection) => new() { Target = TargetSpec.Folder(_dir.Path), Collection = collection, Queries = 120, Warmup = 2 };

    [Fact]
    public async Task Tune_Hnsw_ReachesRecallTargetOnHeldOutQueries()
    {
        await WithClientAsync(c => TuneData.CreateAsync(c, "h", "HNSW", TuneData.P(("M", 8), ("efConstruction", 64))));
        var (io, output, _) = Io();

        var r = await TuneOutput.RunAsync(Options("h") with { TargetRecall = 0.97 }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.True(r.Tunable);
        Assert.True(r.SelfExcluded);
        Assert.Equal((60, 60), (r.TuningQueries, r.HeldOutQueries));
        Assert.Equal(10, r.Sweep[0].Params["ef"]);
        var chosen = Assert.Single(r.Sweep, s => s.Chosen);
        Assert.Same(chosen, r.Chosen);
        Assert.True(chosen.Recall >= 0.97, $"tuning recall {chosen.Recall}");
        Assert.True(r.HeldOutRecall >= 0.97, $"held-out recall {r.HeldOutRecall}");
        Assert.True(r.HeldOutMeetsTarget);

        // The cheapest: every smaller ef misses the target.
        Assert.All(r.Sweep.TakeWhile(s => !s.Chosen), s => Assert.True(s.Recall < 0.97));
        Assert.Contains("<== chosen", output.ToString());
        Assert.Contains("held-out", output.ToString());
    }

    [Fact]
    public async Task Tune_IvfFlat_ChoosesSmallestNprobeMeetingTarget_AndExcludesQueryRow()
    {
        await WithClientAsync(c => TuneData.CreateAsync(c, "ivf", "IVF_FLAT", TuneData.P(("nlist", 64))));
        var (io, _, _) = Io(json: true);

        var r = await TuneOutput.RunAsync(Options("ivf") with { TargetRecall = 0.9 }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.Equal([1, 2, 4, 8, 16, 32, 64], r.Sweep.Select(s => s.Params["nprobe"]));

        // nprobe = nlist scans every list: exact, so recall is 1 only if the query's own row is left out of both answers
        // consistently (asking for k + 1 and dropping it).
        Assert.Equal(1.0, r.Sweep[^1].Recall);
        Assert.True(r.Chosen!.Recall >= 0.9);
        Assert.True(r.HeldOutRecall >= 0.9, $"held-out recall {r.HeldOutRecall}");
        Assert.All(r.Sweep.TakeWhile(s => !s.Chosen), s => Assert.True(s.Recall < 0.9));
    }

    [Fact]
    public async Task Tune_UnreachableTarget_ExitsTwo_AndSavesNothing()
    {
        await WithClientAsync(c => TuneData.CreateAsync(c, "ivf", "IVF_FLAT", TuneData.P(("nlist", 32))));
        var (io, output, _) = Io();

        var r = await TuneOutput.RunAsync(Options("ivf") with { TargetLatencyMs = 1e-7, Save = true }, io, default);

        Assert.Equal(ExitCodes.CheckFailed, CliIo.ExitCodeOf(r));
        Assert.Null(r.Chosen);
        Assert.Null(r.SavedProperty);
        Assert.Contains("no setting keeps p95 within", output.ToString());
        await WithClientAsync(async c =>
            Assert.DoesNotContain(SearchRequest.DefaultSearchParamsProperty + "vector", (await c.DescribeCollectionAsync("ivf")).Properties.Keys));
    }

    [Fact]
    public async Task Tune_Save_ChangesSearchesWithoutParams()
    {
        const string key = SearchRequest.DefaultSearchParamsProperty + "vector";
        var probe = TuneData.Clustered(20, seed: 99);
        List<IReadOnlyList<object>> Ids(SearchResult r) => [.. r.Hits.Select(h => (IReadOnlyList<object>)[.. h.Select(x => x.Id)])];
        SearchRequest Request(Dictionary<string, string>? p = null) => new()
        {
            Vectors = [.. Enumerable.Range(0, 20).Select(i => probe.AsSpan(i * TuneData.Dim, TuneData.Dim).ToArray())],
            Limit = 10,
            SearchParams = p ?? [],
        };

        List<IReadOnlyList<object>> before = [];
        await WithClientAsync(async c =>
        {
            await TuneData.CreateAsync(c, "ivf", "IVF_FLAT", TuneData.P(("nlist", 64)));
            await c.AlterCollectionPropertiesAsync("ivf", new Dictionary<string, string> { [key] = "{\"nprobe\": 1}" });
            before = Ids(await c.SearchAsync("ivf", Request()));
        });
        var (io, _, err) = Io();

        var r = await TuneOutput.RunAsync(Options("ivf") with { TargetRecall = 0.95, Save = true }, io, default);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.Equal("{\"nprobe\": 1}", r.PreviousDefaults);
        Assert.Contains("default search parameters", err.ToString());
        var nprobe = r.Chosen!.Params["nprobe"];
        Assert.True(nprobe > 1, "nprobe 1 should miss a 0.95 target on this data");
        Assert.Equal(key, r.SavedProperty);
        Assert.Equal($"{{\"nprobe\":{nprobe}}}", r.SavedValue);
        await WithClientAsync(async c =>
        {
            Assert.Equal(r.SavedValue, (await c.DescribeCollectionAsync("ivf")).Properties[key]);

            // A reopened folder attaches its index files in the background; until then segments are searched exactly.
            await c.WaitForIndexAsync("ivf");
            var after = Ids(await c.SearchAsync("ivf", Request()));
            var explicitly = Ids(await c.SearchAsync("ivf", Request(new() { ["nprobe"] = nprobe.ToString(System.Globalization.CultureInfo.InvariantCulture) })));
            Assert.Equal(explicitly, after);
            Assert.NotEqual(before, after);
        });
    }

    [Fact]
    public async Task Tune_AgainstServer_WithQueryFileAndFilter_WritesPngPlot()
    {
        using var folder = new TempFolder("quiver-tune-server");
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Port = 0 });
        await TuneData.CreateAsync(QuiverClient.FromEngine(server.Engine), "h", "HNSW", TuneData.P(("M", 8), ("efConstruction", 64)), count: 2000);
        var queries = _dir.Sub("queries.npy");
        VectorFile.Write<float>(queries, TuneData.Clustered(80, seed: 77), TuneData.Dim);
        var plot = _dir.Sub("curve.png");
        var (io, output, _) = Io(json: true);

        var r = await TuneOutput.RunAsync(
            new TuneOptions
            {
                Target = TargetSpec.Server($"http://127.0.0.1:{server.Port}"), Collection = "h", QueryFile = queries, Filter = "tag == \"even\"",
                TargetRecall = 0.9, Warmup = 2, Queries = 80,
            },
            io, default, plot);

        Assert.Equal(ExitCodes.Ok, CliIo.ExitCodeOf(r));
        Assert.False(r.SelfExcluded);
        Assert.Equal(queries, r.QuerySource);
        Assert.Equal((40, 40), (r.TuningQueries, r.HeldOutQueries));
        Assert.True(r.HeldOutRecall >= 0.9, $"held-out recall {r.HeldOutRecall}");
        using var doc = JsonDocument.Parse(output.ToString());
        Assert.Equal(r.Chosen!.Recall, doc.RootElement.GetProperty("chosen").GetProperty("recall").GetDouble());
        Assert.Equal(plot, doc.RootElement.GetProperty("plotPath").GetString());
        var png = await File.ReadAllBytesAsync(plot);
        Assert.True(png.Length > 1000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
    }

    [Fact]
    public async Task Tune_FlatOrNoIndex_SaysNothingToTune_ExitsZero()
    {
        await WithClientAsync(async c =>
        {
            await TuneData.CreateAsync(c, "none", null, null, count: 200);
            await TuneData.CreateAsync(c, "flat", "FLAT", null, count: 200);
        });
        var (io, output, _) = Io();

        var none = await TuneOutput.RunAsync(Options("none"), io, default);
        var flat = await TuneOutput.RunAsync(Options("flat"), io, default);

        Assert.Equal((ExitCodes.Ok, false), (CliIo.ExitCodeOf(none), none.Tunable));
        Assert.Equal((ExitCodes.Ok, false, "FLAT"), (CliIo.ExitCodeOf(flat), flat.Tunable, flat.IndexType));
        Assert.Contains("has no index", output.ToString());
        Assert.Contains("nothing to tune", flat.Summary);
    }

    [Fact]
    public async Task Tune_BadOptions_AreRejectedBeforeWork()
    {
        await WithClientAsync(c => TuneData.CreateAsync(c, "ivf", "IVF_FLAT", TuneData.P(("nlist", 16)), count: 300));
        var (io, _, _) = Io();

        var both = await Assert.ThrowsAsync<ToolboxException>(() => TuneOutput.RunAsync(Options("ivf") with { TargetRecall = 0.9, TargetLatencyMs = 1 }, io, default));
        Assert.Contains("not both", both.Message);
        var field = await Assert.ThrowsAsync<ToolboxException>(() => TuneOutput.RunAsync(Options("ivf") with { Field = "tag" }, io, default));
        Assert.Contains("not a vector field", field.Message);
        var bad = _dir.Sub("q.jsonl");
        await File.WriteAllTextAsync(bad, "[1,2,3]\n");
        var dim = await Assert.ThrowsAsync<ToolboxException>(() => TuneOutput.RunAsync(Options("ivf") with { QueryFile = bad }, io, default));
        Assert.Contains("dimension 3", dim.Message);
    }

    [Fact]
    public void SweepPlan_Ladders_CoverEachIndexKind()
    {
        var empty = Quiver.Indexing.IndexParameters.Empty;
        Assert.Equal([10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512], SweepPlan.Settings(Quiver.Indexing.IndexKind.Hnsw, empty, 10, 5000).Select(s => s.Values["ef"]));
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 100], SweepPlan.Settings(Quiver.Indexing.IndexKind.IvfSq8, new(new Dictionary<string, string> { ["nlist"] = "100" }), 10, 5000).Select(s => s.Values["nprobe"]));
        Assert.Equal(8, SweepPlan.Settings(Quiver.Indexing.IndexKind.IvfFlat, empty, 10, 5000).Count); // nlist 128: 1..128
        var pq = SweepPlan.Settings(Quiver.Indexing.IndexKind.IvfPq, empty, 10, 5000);
        Assert.Equal(24, pq.Count);
        Assert.Equal(3, pq.Select(s => s.Values.GetValueOrDefault("refine_k")).Distinct().Count());
        Assert.Equal([20, 40, 80, 160, 320, 640, 1280, 2560, 5120], SweepPlan.Settings(Quiver.Indexing.IndexKind.Annoy, new(new Dictionary<string, string> { ["n_trees"] = "8" }), 10, 5000).Select(s => s.Values["search_k"]));
        Assert.Empty(SweepPlan.Settings(Quiver.Indexing.IndexKind.Flat, empty, 10, 5000));
    }
}
