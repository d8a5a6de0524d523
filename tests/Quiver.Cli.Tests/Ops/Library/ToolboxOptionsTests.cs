using Quiver.Client;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Backup;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Export;
using Quiver.Toolbox.Health;
using Quiver.Toolbox.Import;
using Quiver.Toolbox.Prep;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary>
/// Every range and presence check of the toolbox's options records, made through <see cref="QuiverToolbox"/>: each is a
/// <see cref="ToolboxException"/> of kind <see cref="ToolboxErrorKind.InvalidOptions"/> whose message is the one given
/// here (naming the options property), never an <see cref="ArgumentException"/> nor a <see cref="NullReferenceException"/>.
/// The target of every call is a data folder this test holds open: a call that opened it before checking its options
/// would be refused as <see cref="ToolboxErrorKind.Target"/> (folder in use) instead, so the kind shows the order too;
/// and nothing is written (no backup path, no output file).
/// </summary>
public sealed class ToolboxOptionsTests
{
    private sealed record Scene(TempFolder Folder, string Open)
    {
        /// <summary>The input files the case wrote (the only new files a refused call may leave).</summary>
        public List<string> Inputs { get; } = [];

        /// <summary>The folder the test holds open (a call that opens it is refused as in use).</summary>
        public TargetSpec Locked => TargetSpec.Folder(Open);

        public string File(string name) => System.IO.Path.Combine(Folder.Path, name);

        public string Existing(string name, string text)
        {
            System.IO.File.WriteAllText(File(name), text);
            Inputs.Add(File(name));
            return File(name);
        }
    }

    private static readonly Dictionary<string, (Func<Scene, Task> Call, string Message)> Cases = new(StringComparer.Ordinal)
    {
        ["backup-rows-per-file"] = (s => QuiverToolbox.BackupAsync(new BackupOptions(s.Locked, s.File("bk"), RowsPerFile: 0)), "BackupOptions.RowsPerFile 0: must be at least 1"),
        ["backup-page-size"] = (s => QuiverToolbox.BackupAsync(new BackupOptions(s.Locked, s.File("bk"), PageSize: -3)), "BackupOptions.PageSize -3: must be at least 1"),
        ["backup-target"] = (s => QuiverToolbox.BackupAsync(new BackupOptions(null!, s.File("bk"))), "BackupOptions.Target: give a folder, a server or a client"),
        ["backup-out"] = (s => QuiverToolbox.BackupAsync(new BackupOptions(s.Locked, "")), "BackupOptions.Out: give the path of a new backup folder or archive"),
        ["restore-batch"] = (s => QuiverToolbox.RestoreAsync(new RestoreOptions(s.Locked, s.File("bk"), BatchSize: 0)), "RestoreOptions.BatchSize 0: must be at least 1"),
        ["restore-target"] = (s => QuiverToolbox.RestoreAsync(new RestoreOptions(null!, s.File("bk"))), "RestoreOptions.Target: give a folder, a server or a client"),
        ["restore-path"] = (s => QuiverToolbox.RestoreAsync(new RestoreOptions(s.Locked, null!)), "RestoreOptions.Path: give a backup folder or archive"),
        ["import-batch"] = (s => QuiverToolbox.ImportAsync(new ImportOptions { Target = s.Locked, File = s.Existing("rows.jsonl", "{}\n"), Collection = "docs", BatchSize = 0 }),
            "ImportOptions.BatchSize 0: must be at least 1"),
        ["export-page"] = (s => QuiverToolbox.ExportAsync(new ExportOptions { Target = s.Locked, Collection = "docs", Out = s.File("out.jsonl"), PageSize = 0 }),
            "ExportOptions.PageSize 0: must be at least 1"),
        ["export-target"] = (s => QuiverToolbox.ExportAsync(new ExportOptions { Collection = "docs", Out = s.File("out.jsonl") }), "ExportOptions.Target: give a folder, a server or a client"),
        ["eval-batch"] = (s => QuiverToolbox.EvalAsync(new EvalOptions
            {
                QueriesPath = s.File("q.jsonl"), Collection = "docs", Target = s.Locked, AnnRecall = true, BatchSize = 0,
            }), "EvalOptions.BatchSize 0: must be at least 1"),
        ["eval-k"] = (s => QuiverToolbox.EvalAsync(new EvalOptions { QueriesPath = s.File("q.jsonl"), Collection = "docs", Target = s.Locked, AnnRecall = true, K = 0 }),
            $"EvalOptions.K 0: must be 1..{SearchRequest.MaxTopK}"),
        ["tune-warmup"] = (s => QuiverToolbox.TuneAsync(new TuneOptions { Target = s.Locked, Collection = "docs", Warmup = -1 }), "TuneOptions.Warmup must be 0 or more, got -1"),
        ["tune-k"] = (s => QuiverToolbox.TuneAsync(new TuneOptions { Target = s.Locked, Collection = "docs", K = 0 }), $"TuneOptions.K must be in 1..{SearchRequest.MaxTopK - 1}, got 0"),
        ["tune-queries"] = (s => QuiverToolbox.TuneAsync(new TuneOptions { Target = s.Locked, Collection = "docs", Queries = 1 }),
            "TuneOptions.Queries must be at least 2 (a tuning and a held-out half), got 1"),
        ["tune-recall"] = (s => QuiverToolbox.TuneAsync(new TuneOptions { Target = s.Locked, Collection = "docs", TargetRecall = 1.5 }), "TuneOptions.TargetRecall must be in (0, 1], got 1.5"),
        ["tune-target"] = (s => QuiverToolbox.TuneAsync(new TuneOptions { Target = null!, Collection = "docs" }), "TuneOptions.Target: give a folder, a server or a client"),
        ["health-target"] = (s => QuiverToolbox.HealthAsync(new HealthOptions(null!, TimeSpan.FromSeconds(1), null, 10, HealthThresholds.Defaults())),
            "HealthOptions.Target: give a folder, a server or a client"),
        ["health-thresholds"] = (s => QuiverToolbox.HealthAsync(new HealthOptions(s.Locked, TimeSpan.FromSeconds(1), null, 10, null!)),
            "HealthOptions.Thresholds: give thresholds (HealthThresholds.Defaults() or HealthThresholds.Load)"),
        ["health-window"] = (s => QuiverToolbox.HealthAsync(new HealthOptions(s.Locked, TimeSpan.Zero, null, 10, HealthThresholds.Defaults())), "HealthOptions.Window must be positive, got 0 s"),
        ["health-k"] = (s => QuiverToolbox.HealthAsync(new HealthOptions(s.Locked, TimeSpan.FromSeconds(1), 3, 0, HealthThresholds.Defaults())),
            "HealthOptions.Probes must be 0 or more and HealthOptions.K at least 1 (got 3 and 0)"),
        ["advise-budget"] = (s => QuiverToolbox.AdviseAsync(new AdviseOptions { Target = s.Locked, Collection = "docs", MemoryBudgetBytes = 0 }),
            "AdviseOptions.MemoryBudgetBytes must be at least 1, got 0"),
        ["advise-rows"] = (s => QuiverToolbox.AdviseAsync(new AdviseOptions { Rows = 0, Dimension = 8 }), "AdviseOptions.Rows must be at least 1, got 0"),
        ["advise-sample"] = (s => QuiverToolbox.AdviseAsync(new AdviseOptions { Target = s.Locked, Collection = "docs", Sample = 5 }),
            "AdviseOptions.Sample must be at least 10, AdviseOptions.Queries and AdviseOptions.Threads at least 1, AdviseOptions.K in 1..1000"),
        ["prep-text-min-chars"] = (s => QuiverToolbox.PrepTextAsync(new TextPrepOptions { Input = s.Existing("in.jsonl", "{\"text\": \"a\"}\n"), Output = s.File("out.jsonl"), MinChars = -1 }),
            "TextPrepOptions.MinChars -1: must be 0 or more"),
        ["prep-text-size"] = (s => QuiverToolbox.PrepTextAsync(new TextPrepOptions
            {
                Input = s.Existing("in.jsonl", "{\"text\": \"a\"}\n"), Output = s.File("out.jsonl"), Chunk = ChunkMode.Tokens, Size = 0,
            }), "TextPrepOptions.Size 0: must be 1 or more"),
        ["prep-vectors-dimension"] = (s => QuiverToolbox.PrepVectorsAsync(new VectorPrepOptions
            {
                Input = s.Existing("in.jsonl", "{\"vector\": [1, 2]}\n"), Output = s.File("out.npy"), Dimension = 0,
            }), "VectorPrepOptions.Dimension 0: must be 1 or more"),
        ["prep-vectors-outlier"] = (s => QuiverToolbox.PrepVectorsAsync(new VectorPrepOptions
            {
                Input = s.Existing("in.jsonl", "{\"vector\": [1, 2]}\n"), Output = s.File("out.npy"), OutlierZ = -1,
            }), "VectorPrepOptions.OutlierZ -1: must be 0 (off) or more"),
    };

    public static TheoryData<string> Names() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task BadOption_IsInvalidOptions_NamingTheProperty_BeforeTheTargetIsOpened(string name)
    {
        var (call, message) = Cases[name];
        using var folder = new TempFolder("quiver-toolbox-options");
        var open = folder.Sub("data");
        await using var client = await QuiverClient.OpenEmbeddedAsync(open, new QuiverOptions { BackgroundMaintenance = false });
        var before = Directory.EnumerateFileSystemEntries(folder.Path).Order(StringComparer.Ordinal).ToList();

        var scene = new Scene(folder, open);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => call(scene));

        Assert.True(e is ToolboxException { Kind: ToolboxErrorKind.InvalidOptions },
            $"{name}: expected ToolboxException (InvalidOptions), got {e.GetType().Name} ({(e as ToolboxException)?.Kind}): {e.Message}");
        Assert.Equal(message, e.Message);
        // Nothing written: the temp folder holds what it held before, plus only the input files the case wrote itself.
        var after = Directory.EnumerateFileSystemEntries(folder.Path).Order(StringComparer.Ordinal).ToList();
        Assert.Empty(after.Except(before).Except(scene.Inputs));
    }

    [Fact]
    public async Task FolderInUse_IsTarget_WithTheEnginesLockedRefusalInside()
    {
        using var folder = new TempFolder("quiver-toolbox-options");
        var open = folder.Sub("data");
        await using var client = await QuiverClient.OpenEmbeddedAsync(open, new QuiverOptions { BackgroundMaintenance = false });

        // Every tool that opens a folder: each must refuse it the same way.
        Func<Task>[] calls =
        [
            () => QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Folder(open), Collection = "docs", Out = folder.Sub("x.jsonl") }),
            () => QuiverToolbox.BackupAsync(new BackupOptions(TargetSpec.Folder(open), folder.Sub("bk"))),
            () => QuiverToolbox.TuneAsync(new TuneOptions { Target = TargetSpec.Folder(open), Collection = "docs" }),
            () => QuiverToolbox.HealthAsync(new HealthOptions(TargetSpec.Folder(open), TimeSpan.FromSeconds(1), null, 10, HealthThresholds.Defaults())),
        ];
        foreach (var call in calls)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(call);
            Assert.True(e is ToolboxException { Kind: ToolboxErrorKind.Target }, $"expected ToolboxException (Target), got {e.GetType().Name}: {e.Message}");
            var inner = Assert.IsType<QuiverException>(e.InnerException);
            Assert.Equal(QuiverErrorCode.Locked, inner.Code);
            Assert.Contains(inner.Message, e.Message, StringComparison.Ordinal);
        }

        Assert.False(Directory.Exists(folder.Sub("bk")), "a refused backup left its folder");
    }

    [Fact]
    public async Task CommandLine_BadBackupOrRestoreNumber_IsOneErrorLineNamingTheFlag()
    {
        using var folder = new TempFolder("quiver-toolbox-options");
        var data = folder.Sub("data");
        await (await QuiverClient.OpenEmbeddedAsync(data)).DisposeAsync();

        var (code, _, err) = await QuiverProcess.RunAsync("backup", "--data", data, "--out", folder.Sub("bk"), "--rows-per-file", "0");
        Assert.Equal((1, "quiver backup: error: --rows-per-file 0: must be at least 1"), (code, err.Trim()));
        Assert.False(Directory.Exists(folder.Sub("bk")));

        (code, _, err) = await QuiverProcess.RunAsync("restore", folder.Sub("bk"), "--data", data, "--batch", "0");
        Assert.Equal((1, "quiver restore: error: --batch 0: must be at least 1"), (code, err.Trim()));
    }
}
