using Quiver.Client;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Backup;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Export;
using Quiver.Toolbox.Import;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Tests.Ops.Library;

/// <summary>The <c>toolbox-</c> rows of docs/errors.md's "Library refusals": each row's refusal made through
/// <see cref="QuiverToolbox"/> as an application calls it, against a folder the test keeps open (a collection
/// <c>docs</c>: Int64 <c>id</c>, VarChar <c>title</c>, a 4-dimensional L2 vector <c>embedding</c>, 20 rows), and the
/// exception's type, <see cref="ToolboxException.Kind"/> and message checked against the row. A row without a case
/// here, or a case without a row, fails.</summary>
public sealed class ToolboxErrorTableTests
{
    private sealed record Scene(IQuiverClient Client, TempFolder Folder, string Open)
    {
        public TargetSpec Target => TargetSpec.Client(Client);

        /// <summary>A path in the scene's temp folder (files are written there, never in the working directory).</summary>
        public string File(string name) => System.IO.Path.Combine(Folder.Path, name);
    }

    private static readonly Dictionary<string, Func<Scene, Task>> Cases = new(StringComparer.Ordinal)
    {
        ["toolbox-options"] = s => QuiverToolbox.ExportAsync(new ExportOptions { Target = s.Target, Collection = "docs", Out = s.File("x.jsonl"), PageSize = 0 }),
        ["toolbox-backup-options"] = s => QuiverToolbox.BackupAsync(new BackupOptions(s.Target, s.File("bk"), RowsPerFile: 0)),
        ["toolbox-options-contradict"] = s => QuiverToolbox.TuneAsync(new TuneOptions { Target = s.Target, Collection = "docs", TargetRecall = 0.9, TargetLatencyMs = 5 }),
        ["toolbox-options-missing"] = s => QuiverToolbox.EvalAsync(new EvalOptions { RunPath = s.File("run.txt") }),
        ["toolbox-no-target"] = s => QuiverToolbox.ImportAsync(new ImportOptions { File = s.File("rows.jsonl"), Collection = "docs" }),
        ["toolbox-file-not-found"] = s => QuiverToolbox.ImportAsync(new ImportOptions { Target = s.Target, File = "missing.csv", Collection = "docs" }),
        ["toolbox-eval-file-not-found"] = s =>
        {
            System.IO.File.WriteAllText(s.File("run.txt"), "q1 Q0 a 1 0.9 demo\n");
            return QuiverToolbox.EvalAsync(new EvalOptions { QrelsPath = "missing.txt", RunPath = s.File("run.txt") });
        },
        ["toolbox-collection-not-found"] = s => QuiverToolbox.ExportAsync(new ExportOptions { Target = s.Target, Collection = "nope", Out = s.File("x.jsonl") }),
        ["toolbox-folder-not-found"] = s => QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Folder(s.File("no-such-folder")), Collection = "docs", Out = s.File("x.jsonl") }),
        ["toolbox-folder-in-use"] = s => QuiverToolbox.ExportAsync(new ExportOptions { Target = TargetSpec.Folder(s.Open), Collection = "docs", Out = s.File("x.jsonl") }),
        ["toolbox-backup-exists"] = s =>
        {
            // An empty folder may be backed up into; one that holds anything is refused.
            Directory.CreateDirectory(s.File("taken"));
            System.IO.File.WriteAllText(Path.Combine(s.File("taken"), "notes.txt"), "mine");
            return QuiverToolbox.BackupAsync(new BackupOptions(s.Target, s.File("taken")));
        },
        ["toolbox-restore-exists"] = async s =>
        {
            await QuiverToolbox.BackupAsync(new BackupOptions(s.Target, s.File("backup"), Collections: ["docs"]));
            await QuiverToolbox.RestoreAsync(new RestoreOptions(s.Target, s.File("backup")));
        },
        ["toolbox-backup-not-found"] = s => QuiverToolbox.RestoreAsync(new RestoreOptions(s.Target, s.File("no-backup"))),
        ["toolbox-malformed-file"] = s =>
        {
            System.IO.File.WriteAllText(s.File("rows.jsonl"), "{\"id\": 100, \"title\": \"t\", \"embedding\": [1, 2, 3, 4]}\n");
            System.IO.File.WriteAllText(s.File("schema.json"), "not json");
            return QuiverToolbox.ImportAsync(new ImportOptions { Target = s.Target, File = s.File("rows.jsonl"), Collection = "fresh", SchemaFile = s.File("schema.json") });
        },
        ["toolbox-import-aborted"] = s =>
        {
            System.IO.File.WriteAllText(s.File("bad.jsonl"), "{\"id\": 500, \"title\": \"ok\", \"embedding\": [1, 2, 3, 4]}\n{\"id\": 501, \"title\": \"short\", \"embedding\": [1, 2]}\n");
            return QuiverToolbox.ImportAsync(new ImportOptions { Target = s.Target, File = s.File("bad.jsonl"), Collection = "docs" });
        },
        ["toolbox-backup-damaged"] = async s =>
        {
            await QuiverToolbox.BackupAsync(new BackupOptions(s.Target, s.File("damaged"), Collections: ["docs"]));
            System.IO.File.Delete(Path.Combine(s.File("damaged"), "manifest.json"));
            await QuiverToolbox.RestoreAsync(new RestoreOptions(s.Target, s.File("damaged"), Renames: new Dictionary<string, string> { ["docs"] = "docs2" }));
        },
    };

    public static TheoryData<string> Rows() => [.. LibraryErrorTable.Read("toolbox-").Select(r => r.Case)];

    [Fact]
    public void Table_HasACaseForEveryRow_AndARowForEveryCase()
    {
        var names = LibraryErrorTable.Read("toolbox-").Select(r => r.Case).ToList();
        Assert.NotEmpty(names);
        Assert.Equal(names.Distinct(StringComparer.Ordinal).Count(), names.Count);
        Assert.True(names.Except(Cases.Keys).ToList() is [], "rows without a case: " + string.Join(", ", names.Except(Cases.Keys)));
        Assert.True(Cases.Keys.Except(names).ToList() is [], "cases without a row: " + string.Join(", ", Cases.Keys.Except(names)));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Row_IsTheRefusalTheCallMakes(string name)
    {
        var row = LibraryErrorTable.Read("toolbox-").Single(r => r.Case == name);
        using var folder = new TempFolder("quiver-toolbox-errors");
        var open = folder.Sub("data");
        await using var client = await QuiverClient.OpenEmbeddedAsync(open, new QuiverOptions { BackgroundMaintenance = false });
        await client.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 64), FieldSchema.Vector("embedding", 4, MetricType.L2)],
        });
        await client.InsertAsync("docs", Enumerable.Range(1, 20)
            .Select(i => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = (long)i, ["title"] = $"doc {i}", ["embedding"] = new[] { i, 1f, 0f, 0f } }).ToList());

        Exception? thrown = null;
        try
        {
            await Cases[name](new Scene(client, folder, open));
        }
        catch (Exception e)
        {
            thrown = e;
        }

        var mismatch = LibraryErrorTable.Mismatch(row, thrown);
        Assert.True(mismatch is null, mismatch);
        switch (thrown)
        {
            case ImportAbortedException aborted:
                // What the import did before it stopped: nothing (the bad row's batch, which holds the good first row
                // too, was never sent).
                Assert.Equal((0L, true), (aborted.Result.Imported, aborted.Result.Aborted));
                break;
            case ToolboxException { Kind: ToolboxErrorKind.Target } inUse:
                // The engine's own refusal is kept inside, for a program that wants the database's code.
                Assert.Equal(QuiverErrorCode.Locked, Assert.IsType<QuiverException>(inUse.InnerException).Code);
                break;
            case BackupDamagedException damaged:
                Assert.StartsWith("manifest.json", Assert.Single(damaged.Problems), StringComparison.Ordinal);
                Assert.False((await client.ListCollectionsAsync()).Contains("docs2"), "a damaged backup restored a collection");
                break;
        }
    }
}
