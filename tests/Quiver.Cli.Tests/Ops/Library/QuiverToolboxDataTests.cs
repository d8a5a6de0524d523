using System.Reflection;
using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Tests.Ops.Import;
using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Backup;
using Quiver.Toolbox.Export;
using Quiver.Toolbox.Health;
using Quiver.Toolbox.Import;
using Quiver.Toolbox.Prep;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary>import, export, backup, restore and prep called as a library (<see cref="QuiverToolbox"/>, issue 15 item 5),
/// with the command-line tests' oracles: export then import gives the same rows, backup then restore gives the same
/// rows, prep's output computed by hand; targets over a client the caller keeps open (embedded and remote), not
/// disposed by the toolbox; refusals as <see cref="ToolboxException"/> naming options properties, never flags.</summary>
public sealed class QuiverToolboxDataTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-toolbox-data");

    public void Dispose() => _dir.Dispose();

    private sealed class Recorder : IProgress<ToolboxProgress>
    {
        public List<ToolboxProgress> Reports { get; } = [];

        public void Report(ToolboxProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    private static string Canonical(IEnumerable<Row> rows) =>
        string.Join("\n", rows.Select(r => JsonSerializer.Serialize(new SortedDictionary<string, object?>(r, StringComparer.Ordinal))));

    private static async Task<string> DumpAsync(IQuiverClient client, string collection)
    {
        var rows = new List<Row>();
        await foreach (var page in CollectionScanner.ScanAsync(client, collection, pageSize: 64))
        {
            rows.AddRange(page);
        }

        return Canonical(rows);
    }

    [Fact]
    public async Task ExportThenImport_ThroughTheLibrary_SameRows_AndProgressToTheEnd()
    {
        var source = _dir.Sub("src");
        await ImpExp.SeedAsync(source, "items", ImpExp.AllTypes(), ImpExp.AllTypesRows(120));
        var file = _dir.Sub("items.jsonl");
        var schema = _dir.Sub("items.schema.json");
        var progress = new Recorder();

        var exported = await QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Folder(source), Collection = "items", Out = file, SchemaOut = schema }, progress);
        var imported = await QuiverToolbox.ImportAsync(new ImportOptions { Target = TargetSpec.Folder(_dir.Sub("dst")), File = file, Collection = "items", SchemaFile = schema }, progress);

        Assert.Equal((120L, 120L, 0L), (exported.Rows, imported.Imported, imported.Rejected));
        Assert.False(imported.Aborted);
        Assert.Equal(Canonical(await ImpExp.RowsAsync(source, "items")), Canonical(await ImpExp.RowsAsync(_dir.Sub("dst"), "items")));
        var last = progress.Reports.Last(p => p.Stage == "import");
        Assert.Equal((120L, true), (last.Value, last.Done));
        Assert.Contains(progress.Reports, p => p.Note?.Contains("created collection 'items'", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task BackupThenRestore_ThroughTheLibrary_SameRows()
    {
        var source = _dir.Sub("src");
        await ImpExp.SeedAsync(source, "items", ImpExp.AllTypes(), ImpExp.AllTypesRows(90));
        var backup = _dir.Sub("backup.tar.gz");

        var written = await QuiverToolbox.BackupAsync(new BackupOptions(TargetSpec.Folder(source), backup));
        var restored = await QuiverToolbox.RestoreAsync(new RestoreOptions(TargetSpec.Folder(_dir.Sub("dst")), backup));

        Assert.Equal((90L, true), (written.Rows, written.Archive));
        Assert.Equal(90L, Assert.Single(restored.Collections).Rows);
        Assert.Equal(Canonical(await ImpExp.RowsAsync(source, "items")), Canonical(await ImpExp.RowsAsync(_dir.Sub("dst"), "items")));
    }

    [Fact]
    public async Task Import_BadRowWithAbort_ThrowsImportAborted_WithWhatWasDone()
    {
        await ImpExp.SeedAsync(_dir.Sub("data"), "c", ImpExp.Small(), []);
        var file = ImpExp.WriteLines(_dir.Sub("rows.jsonl"), ImpExp.SmallLine(1), ImpExp.SmallLine(2), """{"id":3,"name":"x","v":[1,2]}""", ImpExp.SmallLine(4));

        var e = await Assert.ThrowsAsync<ImportAbortedException>(() => QuiverToolbox.ImportAsync(
            new ImportOptions { Target = TargetSpec.Folder(_dir.Sub("data")), File = file, Collection = "c", BatchSize = 2 }));

        Assert.Equal(ToolboxErrorKind.ImportAborted, e.Kind);
        Assert.True(e.Result.Aborted);
        Assert.Equal(2L, e.Result.Imported);
        Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
        Assert.Equal([1L, 2L], (await ImpExp.RowsAsync(_dir.Sub("data"), "c")).Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task Refusals_NameTheOptionsProperty_NotAFlag_AndTheCommandLineRewordsThem()
    {
        var file = ImpExp.WriteLines(_dir.Sub("rows.jsonl"), ImpExp.SmallLine(1));
        var batch = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.ImportAsync(
            new ImportOptions { Target = TargetSpec.Folder(_dir.Sub("data")), File = file, Collection = "c", BatchSize = 0 }));
        var page = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.ExportAsync(
            new ExportOptions { Target = TargetSpec.Folder(_dir.Sub("data")), Collection = "c", Out = _dir.Sub("o.jsonl"), PageSize = 0 }));
        var folder = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.ExportAsync(
            new ExportOptions { Target = TargetSpec.Folder(_dir.Sub("nowhere")), Collection = "c", Out = _dir.Sub("o.jsonl") }));
        var window = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.HealthAsync(
            new HealthOptions(TargetSpec.Folder(_dir.Sub("nowhere")), TimeSpan.Zero, null, 10, HealthThresholds.Defaults())));

        Assert.Equal(("ImportOptions.BatchSize 0: must be at least 1", ToolboxErrorKind.InvalidOptions), (batch.Message, batch.Kind));
        Assert.Equal("--batch 0: must be at least 1", CliWording.Flags(batch.Message));
        Assert.Equal(("ExportOptions.PageSize 0: must be at least 1", ToolboxErrorKind.InvalidOptions), (page.Message, page.Kind));
        Assert.Equal(ToolboxErrorKind.NotFound, folder.Kind);
        Assert.Contains("give TargetSpec.Folder an existing folder, or TargetSpec.Server a running server", folder.Message, StringComparison.Ordinal);
        Assert.Contains("give --data an existing folder, or --uri a running server", CliWording.Flags(folder.Message), StringComparison.Ordinal);
        Assert.StartsWith("HealthOptions.Window must be positive", window.Message, StringComparison.Ordinal);
        foreach (var e in new[] { batch, page, folder, window })
        {
            Assert.DoesNotContain("--", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PrepVectors_L2_WritesEachVectorOverItsNorm_AndRejectsTheZeroOne()
    {
        var input = ImpExp.WriteLines(_dir.Sub("v.jsonl"), """{"vector":[3,4]}""", """{"vector":[0,0]}""", """{"vector":[1,0]}""", """{"vector":[0,-2]}""");
        var output = _dir.Sub("out.jsonl");

        var report = await QuiverToolbox.PrepVectorsAsync(new VectorPrepOptions
        {
            Input = input, Output = output, Format = VectorFormat.Jsonl, Normalization = VectorNormalization.L2, OutlierZ = 0,
        });

        Assert.Equal((4L, 3L, 1L), (report.Rows, report.Written, report.Rejected));
        Assert.Equal(2L, Assert.Single(report.Rejections).Number);
        var written = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("vector").EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
        Assert.Equal(3, written.Count);
        Assert.Equal([0.6f, 0.8f], written[0]);
        Assert.Equal([1f, 0f], written[1]);
        Assert.Equal([0f, -1f], written[2]);
    }

    [Fact]
    public async Task PrepText_CleansAndChunks_AsComputedByHand()
    {
        var input = ImpExp.WriteLines(_dir.Sub("t.jsonl"), """{"id":"a","text":"<b>One</b>  two three four five"}""", """{"id":"b","text":""}""");
        var output = _dir.Sub("out.jsonl");

        var report = await QuiverToolbox.PrepTextAsync(new TextPrepOptions
        {
            Input = input, Output = output, IdField = "id", Clean = new TextCleanOptions(StripHtml: true), Chunk = ChunkMode.Tokens, Size = 3, Overlap = 1,
        });

        Assert.Equal((2L, 1L, 1L), (report.Lines, report.Documents, report.Rejected));
        var texts = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()).ToList();
        Assert.Equal(["One two three", "three four five"], texts);
    }

    [Fact]
    public async Task OpenEmbeddedClient_ExportAndImport_WhileTheCallerHoldsTheFolder_AndTheClientStaysOpen()
    {
        var folder = _dir.Sub("data");
        await ImpExp.SeedAsync(folder, "items", ImpExp.AllTypes(), ImpExp.AllTypesRows(50));
        await using var client = await QuiverClient.OpenEmbeddedAsync(folder);
        var file = _dir.Sub("items.jsonl");

        // A folder target cannot open the folder this process holds; the open client can be used as it is.
        var inUse = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Folder(folder), Collection = "items", Out = file }));
        Assert.Equal((ToolboxErrorKind.Target, QuiverErrorCode.Locked), (inUse.Kind, Assert.IsType<QuiverException>(inUse.InnerException).Code));
        var exported = await QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Client(client), Collection = "items", Out = file });
        await client.CreateCollectionAsync("copy", ImpExp.AllTypes());
        var imported = await QuiverToolbox.ImportAsync(new ImportOptions { Target = TargetSpec.Client(client), File = file, Collection = "copy" });
        var health = await QuiverToolbox.HealthAsync(new HealthOptions(TargetSpec.Client(client), TimeSpan.FromSeconds(1), 3, 5, HealthThresholds.Load(null, ["probe.p99_ms.fail=none"])));

        Assert.Equal((50L, 50L), (exported.Rows, imported.Imported));
        Assert.Equal(await DumpAsync(client, "items"), await DumpAsync(client, "copy"));
        Assert.Null(health.Traffic); // a folder's report: the embedded client is used as the folder
        Assert.Equal(2, health.Collections.Count);
        Assert.True(await client.HasCollectionAsync("items")); // still open: the toolbox did not dispose it
    }

    [Fact]
    public async Task OpenRemoteClient_BackupRestoreAndHealth_ThroughTheClientsServer_AndTheClientStaysOpen()
    {
        using var serverData = new TempFolder("quiver-toolbox-remote");
        await ImpExp.SeedAsync(serverData.Path, "items", ImpExp.AllTypes(), ImpExp.AllTypesRows(60));
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = serverData.Path, Port = 0 });
        await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{server.Port}" });
        var backup = _dir.Sub("backup");

        var written = await QuiverToolbox.BackupAsync(new BackupOptions(TargetSpec.Client(client), backup));
        var restored = await QuiverToolbox.RestoreAsync(new RestoreOptions(TargetSpec.Client(client), backup, Renames: new Dictionary<string, string> { ["items"] = "copy" }));
        var health = await QuiverToolbox.HealthAsync(new HealthOptions(TargetSpec.Client(client), TimeSpan.FromMilliseconds(200), 0, 10, HealthThresholds.Defaults()));

        await client.LoadCollectionAsync("items");
        await client.LoadCollectionAsync("copy");
        Assert.Equal(60L, written.Rows);
        Assert.Equal(("items", "copy", 60L), (restored.Collections[0].Source, restored.Collections[0].Name, restored.Collections[0].Rows));
        Assert.Equal(await DumpAsync(client, "items"), await DumpAsync(client, "copy"));
        Assert.NotNull(health.Traffic); // a server's report: /metrics read at the client's address
        Assert.True(await client.HasCollectionAsync("copy")); // still open
    }

    [Fact]
    public async Task OtherClient_ServesClientOnlyCalls_AndAServerHealthReportSaysWhatIsMissing()
    {
        var folder = _dir.Sub("data");
        await ImpExp.SeedAsync(folder, "items", ImpExp.AllTypes(), ImpExp.AllTypesRows(30));
        await using var inner = await QuiverClient.OpenEmbeddedAsync(folder);
        var wrapped = Forwarder.Wrap(inner);

        var exported = await QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Client(wrapped), Collection = "items", Out = _dir.Sub("o.jsonl") });
        var e = await Assert.ThrowsAsync<ToolboxException>(() => QuiverToolbox.HealthAsync(
            new HealthOptions(TargetSpec.Client(wrapped), TimeSpan.FromMilliseconds(100), 0, 10, HealthThresholds.Defaults())));

        Assert.Equal(30L, exported.Rows);
        Assert.Equal(ToolboxErrorKind.Target, e.Kind);
        Assert.Contains("/metrics", e.Message, StringComparison.Ordinal);
        Assert.True(await inner.HasCollectionAsync("items"));
    }

    /// <summary>An <see cref="IQuiverClient"/> of no kind the toolbox knows, forwarding every call.</summary>
    public class Forwarder : DispatchProxy
    {
        private IQuiverClient _inner = null!;

        public static IQuiverClient Wrap(IQuiverClient inner)
        {
            var proxy = Create<IQuiverClient, Forwarder>();
            ((Forwarder)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            try
            {
                return targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
