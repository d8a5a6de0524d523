using Quiver.Client;
using System.Text.Json;
using Quiver.Toolbox.Formats;
using Quiver.Cli.Ops.Import;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using static Quiver.Cli.Tests.Ops.Import.ImpExp;
using Quiver.Toolbox.Import;
using Quiver.Toolbox.Export;
using Quiver.Cli.Ops.Cli;

namespace Quiver.Cli.Tests.Ops.Import;

public sealed class ImportTests
{
    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    public async Task RoundTrip_ExportImportExport_FilesAndRowsEqual(string format)
    {
        using var dir = new TempFolder();
        var source = dir.Sub("a");
        var original = AllTypesRows(60);
        await SeedAsync(source, "items", AllTypes(), original);

        var first = dir.Sub($"first.{format}");
        var schemaFile = dir.Sub("schema.json");
        var exported = await ExportAsync(TargetSpec.Folder(source), new ExportOptions { Collection = "items", Out = first, SchemaOut = schemaFile, PageSize = 7 });
        Assert.Equal(60, exported.Rows);

        // Into a new folder: the collection is created from the schema file export wrote.
        var copy = dir.Sub("b");
        var imported = await ImportAsync(TargetSpec.Folder(copy), new ImportOptions { File = first, Collection = "copy", SchemaFile = schemaFile, BatchSize = 16 });
        Assert.False(imported.Aborted, imported.Error);
        Assert.Equal(60, imported.RowsRead);
        Assert.Equal(60, imported.Imported);
        Assert.Equal(0, imported.Rejected);
        Assert.Equal(4, imported.Batches);
        Assert.False(File.Exists(ImportCheckpoint.DefaultPath(first)));

        var second = dir.Sub($"second.{format}");
        await ExportAsync(TargetSpec.Folder(copy), new ExportOptions { Collection = "copy", Out = second });
        Assert.Equal(File.ReadAllText(first), File.ReadAllText(second));

        // And the rows themselves, value by value, against what was inserted.
        var back = await RowsAsync(copy, "copy");
        Assert.Equal(60, back.Count);
        foreach (var expected in original)
        {
            var actual = back.Single(r => (long)r["id"]! == (long)expected["id"]!);
            AssertRowEqual(expected, actual);
        }
    }

    [Fact]
    public async Task Jsonl_BadJsonLine_SkipReportsLineAndPosition()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var file = WriteLines(dir.Sub("in.jsonl"), SmallLine(1), SmallLine(2), """{"id": 3, "name": "x", "v": [1,2""", "", SmallLine(4));
        var bad = dir.Sub("bad.jsonl");
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", OnError = OnRowError.Skip, BadRowsFile = bad });

        Assert.Equal(4, result.RowsRead);
        Assert.Equal(3, result.Imported);
        var rejected = Assert.Single(result.RejectedRows);
        Assert.Equal(3, rejected.Number);
        Assert.StartsWith("line 3: not valid JSON at byte ", rejected.Error);
        Assert.Equal(ExitCodes.RowsRejected, await ImportCommand.ReportAsync(result, Io()));

        var line = Assert.Single(File.ReadAllLines(bad));
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(3, doc.RootElement.GetProperty("number").GetInt64());
        Assert.Equal("""{"id": 3, "name": "x", "v": [1,2""", doc.RootElement.GetProperty("raw").GetString());
        Assert.Equal([1L, 2, 4], (await RowsAsync(dir.Sub("data"), "c")).Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task RefusedValues_AreNamedByLineAndField_ButNotQuoted()
    {
        using var dir = new TempFolder();
        var schema = new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("level", DataType.Int8), FieldSchema.Array("tags", DataType.Int8, 4), FieldSchema.Vector("v", 2)],
        };
        await SeedAsync(dir.Sub("data"), "c", schema, []);
        var file = WriteLines(dir.Sub("in.jsonl"),
            """{"id":1,"level":1,"tags":[1],"v":[1,2]}""",
            """{"id":2,"level":3001,"tags":[1],"v":[1,2]}""",
            """{"id":3,"level":1,"tags":[1,4002],"v":[1,2]}""");
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", OnError = OnRowError.Skip });

        var errors = result.RejectedRows.ToDictionary(r => r.Number, r => r.Error);
        Assert.Equal("line 2, field 'level': value … is out of range for Int8 (-128..127)", errors[2]);
        Assert.StartsWith("line 3, field 'tags': ", errors[3], StringComparison.Ordinal);
        Assert.DoesNotContain("4002", errors[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonl_WrongDimensionMissingFieldUnknownField_EachNamedByLineAndField()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var file = WriteLines(dir.Sub("in.jsonl"),
            SmallLine(1),
            """{"id":2,"name":"n","v":[1,2,3]}""",
            """{"id":3,"v":[1,2,3,4]}""",
            """{"id":4,"name":"n","v":[1,2,3,4],"zzz":1}""",
            """{"id":5,"name":"n","score":"high","v":[1,2,3,4]}""",
            """[1,2]""",
            SmallLine(7));
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", OnError = OnRowError.Skip });

        Assert.Equal(2, result.Imported);
        var errors = result.RejectedRows.ToDictionary(r => r.Number, r => r.Error);
        Assert.Equal([2L, 3, 4, 5, 6], errors.Keys);
        Assert.Equal("line 2, field 'v': vector has dimension 3, expected 4", errors[2]);
        Assert.Equal("line 3, field 'name': missing required field", errors[3]);
        Assert.Equal("line 4, an undeclared key: unknown field, and the collection has no dynamic field", errors[4]);
        Assert.Equal("line 5, field 'score': expected Int64, got JSON String", errors[5]);
        Assert.Equal("line 6: expected a JSON object, got a JSON Array", errors[6]);
    }

    [Fact]
    public async Task Csv_WrongCellType_RowErrorNamesLineAndField()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var file = dir.Sub("in.csv");
        File.WriteAllText(file, """
            id,name,score,v
            1,a,10,"[1,2,3,4]"
            2,b,abc,"[1,2,3,4]"
            3,"multi
            line",,"[1,2,3,4]"
            4,d,40,"[1,2,3,4]",extra
            5,e,50,"[1,2,3
            """ + "\n");
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", OnError = OnRowError.Skip });

        var errors = result.RejectedRows.ToDictionary(r => r.Number, r => r.Error);
        Assert.Equal("line 3, field 'score': expected Int64, got a cell that is not a whole number", errors[3]);
        Assert.Equal("line 6: 5 cells, but the header has 4", errors[6]);
        Assert.StartsWith("line 7, field 'v': ", errors[7]);
        Assert.Equal(3, errors.Count);
        var rows = await RowsAsync(dir.Sub("data"), "c");
        Assert.Equal([1L, 3], rows.Select(r => (long)r["id"]!));
        Assert.Equal("multi\nline", rows[1]["name"]);
        Assert.Null(rows[1]["score"]);
    }

    [Fact]
    public async Task Csv_HeaderWithoutRequiredFieldOrWithUnknownColumn_FailsBeforeWriting()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var missing = dir.Sub("missing.csv");
        File.WriteAllText(missing, "id,v\n1,\"[1,2,3,4]\"\n");
        var e = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = missing, Collection = "c" }));
        Assert.Contains("no column for required field 'name'", e.Message);
        Assert.False(File.Exists(ImportCheckpoint.DefaultPath(missing)));

        var unknown = dir.Sub("unknown.csv");
        File.WriteAllText(unknown, "id,name,v,color\n1,a,\"[1,2,3,4]\",red\n");
        e = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = unknown, Collection = "c", CheckpointFile = dir.Sub("elsewhere.json") }));
        Assert.Contains("column 4 of the header is not a field of the collection", e.Message);
        Assert.False(File.Exists(dir.Sub("elsewhere.json")));
        Assert.Empty(await RowsAsync(dir.Sub("data"), "c"));
    }

    [Fact]
    public async Task Abort_BadRow_NothingOfItsBatchWritten_CheckpointKept()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var lines = Enumerable.Range(1, 25).Select(i => SmallLine(i)).ToArray();
        lines[14] = """{"id":15,"name":"n","v":[1,2]}""";
        var file = WriteLines(dir.Sub("in.jsonl"), lines);
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", BatchSize = 10 });

        Assert.True(result.Aborted);
        Assert.Equal(10, result.Imported);
        Assert.Equal(1, result.Batches);
        Assert.Equal("line 15, field 'v': vector has dimension 2, expected 4 (the batch holding it was not sent; 10 rows were imported before it)", result.Error);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), (await RowsAsync(dir.Sub("data"), "c")).Select(r => (long)r["id"]!));
        var checkpoint = ImportCheckpoint.Load(ImportCheckpoint.DefaultPath(file));
        Assert.NotNull(checkpoint);
        Assert.Equal(10, checkpoint.RowsDone);
        Assert.Equal(ExitCodes.Failed, await ImportCommand.ReportAsync(result, Io()));

        // Without --resume the checkpoint stops a second run from importing the first batch twice.
        var again = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c" }));
        Assert.Contains("set ImportOptions.Resume", again.Message, StringComparison.Ordinal);
        Assert.Equal(ToolboxErrorKind.Conflict, again.Kind);
        Assert.Contains("set --resume", CliWording.Flags(again.Message), StringComparison.Ordinal);

        // Resuming with skip imports the rest, except the bad row.
        var rest = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", Resume = true, OnError = OnRowError.Skip, BatchSize = 10 });
        Assert.Equal(10, rest.ResumedAfter);
        Assert.Equal(14, rest.Imported);
        Assert.Equal([15L], rest.RejectedRows.Select(r => r.Number));
        Assert.Equal(24, (await RowsAsync(dir.Sub("data"), "c")).Count);
        Assert.False(File.Exists(ImportCheckpoint.DefaultPath(file)));
    }

    [Fact]
    public async Task Abort_RefusedByTarget_NamesTheLine_WritesNothingOfTheBatch()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), [Row(7)]);
        var file = WriteLines(dir.Sub("in.jsonl"), [.. Enumerable.Range(1, 10).Select(i => SmallLine(i))]);
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", BatchSize = 5 });

        Assert.True(result.Aborted);
        Assert.Equal(5, result.Imported);
        Assert.StartsWith("line 7: primary key … already exists in collection 'c'", result.Error);
        Assert.Equal([1L, 2, 3, 4, 5, 7], (await RowsAsync(dir.Sub("data"), "c")).Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task Resume_AfterARefusedBatch_InsertsAgain_SoExistingKeysAreReportedNotOverwritten()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), [Row(7, "old")]);
        var file = WriteLines(dir.Sub("in.jsonl"), [.. Enumerable.Range(1, 10).Select(i => SmallLine(i))]);
        var first = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", BatchSize = 5 });
        Assert.True(first.Aborted);
        Assert.False(ImportCheckpoint.Load(ImportCheckpoint.DefaultPath(file))!.InFlight);

        // The refused batch is sent again as an insert: key 7 is reported, the row that was there stays as it was.
        var rest = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", Resume = true, OnError = OnRowError.Skip, BatchSize = 5 });
        Assert.Equal([7L], rest.RejectedRows.Select(r => r.Number));
        Assert.StartsWith("line 7: primary key … already exists", rest.RejectedRows[0].Error, StringComparison.Ordinal);
        var rows = await RowsAsync(dir.Sub("data"), "c");
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), rows.Select(r => (long)r["id"]!));
        Assert.Equal("old", rows.Single(r => (long)r["id"]! == 7)["name"]);
    }

    [Fact]
    public async Task Skip_KeysThatExist_FoundByBisection_GoodRowsLand()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), [Row(5, "old"), Row(12, "old"), Row(13, "old")]);
        var lines = Enumerable.Range(1, 20).Select(i => SmallLine(i)).ToList();
        lines.Insert(3, SmallLine(2)); // line 4 repeats key 2 within the first batch
        var file = WriteLines(dir.Sub("in.jsonl"), [.. lines]);
        var bad = dir.Sub("bad.jsonl");
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", BatchSize = 8, OnError = OnRowError.Skip, BadRowsFile = bad });

        Assert.Equal(21, result.RowsRead);
        Assert.Equal(17, result.Imported);
        var errors = result.RejectedRows.OrderBy(r => r.Number).ToList();
        Assert.Equal([4L, 6, 13, 14], errors.Select(r => r.Number));
        Assert.Equal("line 4: the primary key repeats the key of line 2", errors[0].Error);
        Assert.StartsWith("line 6: primary key … already exists", errors[1].Error);
        Assert.StartsWith("line 13: primary key … already exists", errors[2].Error);
        Assert.StartsWith("line 14: primary key … already exists", errors[3].Error);
        Assert.Equal(4, File.ReadAllLines(bad).Length);

        var rows = await RowsAsync(dir.Sub("data"), "c");
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), rows.Select(r => (long)r["id"]!));
        Assert.Equal("old", rows.Single(r => (long)r["id"]! == 12)["name"]);
    }

    [Fact]
    public async Task Upsert_ReplacesExistingRows_AndRepeatedKeysKeepTheLast()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), [Row(1, "old")]);
        var file = WriteLines(dir.Sub("in.jsonl"), SmallLine(1), SmallLine(2), """{"id":2,"name":"second","v":[1,1,1,1]}""", SmallLine(3));
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", Upsert = true });

        Assert.Equal(4, result.Imported);
        Assert.Equal(2, result.Batches);
        var rows = await RowsAsync(dir.Sub("data"), "c");
        Assert.Equal(["n1", "second", "n3"], rows.Select(r => (string)r["name"]!));
    }

    [Fact]
    public async Task Resume_CheckpointBehindByOneBatch_ImportsTheRestExactlyOnce()
    {
        using var dir = new TempFolder();
        var data = dir.Sub("data");
        var file = WriteLines(dir.Sub("in.jsonl"), [.. Enumerable.Range(1, 50).Select(i => SmallLine(i))]);

        // A run that committed rows 1..30 in batches of 10 but was interrupted before checkpointing the third batch.
        await SeedAsync(data, "c", Small(), [.. Enumerable.Range(1, 30).Select(i => new Row(Row(i, $"n{i}")) { ["score"] = i * 10L })]);
        (ImportCheckpoint.Start(file, RowFormat.Jsonl, QuiverEngine.DefaultDatabase, "c", null) with { RowsDone = 20, LastNumber = 20, Imported = 20, InFlight = true, BatchSize = 10 })
            .Save(ImportCheckpoint.DefaultPath(file));

        // The in-flight batch must be re-sent whole: another batch size is refused.
        var other = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(data), new ImportOptions { File = file, Collection = "c", Resume = true, BatchSize = 7 }));
        Assert.Contains("resume with ImportOptions.BatchSize 10", other.Message, StringComparison.Ordinal);
        Assert.Contains("resume with --batch 10", CliWording.Flags(other.Message), StringComparison.Ordinal);

        var result = await ImportAsync(TargetSpec.Folder(data), new ImportOptions { File = file, Collection = "c", Resume = true, BatchSize = 10 });

        Assert.False(result.Aborted, result.Error);
        Assert.Equal(20, result.ResumedAfter);
        Assert.Equal(30, result.RowsRead);
        Assert.Equal(30, result.Imported);
        Assert.Equal(0, result.Rejected);
        var rows = await RowsAsync(data, "c");
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), rows.Select(r => (long)r["id"]!));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long?)i * 10), rows.Select(r => (long?)r["score"]));
        Assert.False(File.Exists(ImportCheckpoint.DefaultPath(file)));
    }

    [Fact]
    public async Task Resume_AfterCancellation_ImportsTheRestExactlyOnce()
    {
        using var dir = new TempFolder();
        var file = WriteLines(dir.Sub("in.jsonl"), [.. Enumerable.Range(1, 50).Select(i => SmallLine(i))]);
        await using var engine = await QuiverEngine.OpenAsync(dir.Sub("data"));
        await engine.CreateCollectionAsync("c", Small());
        await using var client = QuiverClient.FromEngine(engine);
        var settings = new ImportSettings { Collection = "c", BatchSize = 10 };

        using var cancel = new CancellationTokenSource();
        ImportProgress? committed = null;
        var hooks = new ImportHooks
        {
            BatchCommittedAsync = (progress, _) =>
            {
                committed = progress;
                if (progress.Batches == 2)
                {
                    cancel.Cancel();
                }

                return Task.CompletedTask;
            },
        };
        await using (var reader = new JsonlReader(file))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new RowImporter(client, Small(), settings, hooks).RunAsync(reader, cancel.Token));
        }

        Assert.Equal(20, committed!.RowsDone);
        Assert.Equal(20, (await engine.DescribeCollectionAsync("c")).RowCount);

        await using (var reader = new JsonlReader(file))
        {
            var rest = await new RowImporter(client, Small(), settings with { SkipRows = committed.RowsDone, UpsertFirstBatch = true }).RunAsync(reader, CancellationToken.None);
            Assert.Equal(30, rest.Imported);
        }

        var ids = (await engine.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["id"] })).Select(r => (long)r["id"]!).Order();
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), ids);
    }

    [Fact]
    public async Task Resume_ChangedFileOrNoCheckpoint_Refused()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var file = WriteLines(dir.Sub("in.jsonl"), SmallLine(1));
        var e = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", Resume = true }));
        Assert.Contains("no checkpoint", e.Message);

        (ImportCheckpoint.Start(file, RowFormat.Jsonl, QuiverEngine.DefaultDatabase, "c", null) with { RowsDone = 1 }).Save(ImportCheckpoint.DefaultPath(file));
        File.AppendAllText(file, SmallLine(2) + "\n");
        e = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", Resume = true }));
        Assert.Contains("the file changed since", e.Message);
    }

    [Fact]
    public async Task Import_MissingCollectionWithoutSchema_Refused()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "other", Small(), []);
        var file = WriteLines(dir.Sub("in.jsonl"), SmallLine(1));
        var e = await Assert.ThrowsAsync<ToolboxException>(() => ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c" }));
        Assert.Contains("give ImportOptions.SchemaFile to create it", e.Message, StringComparison.Ordinal);
        Assert.Equal(ToolboxErrorKind.NotFound, e.Kind);
        Assert.Contains("give --schema to create it", CliWording.Flags(e.Message), StringComparison.Ordinal);
        Assert.False(File.Exists(ImportCheckpoint.DefaultPath(file)));
    }

    [Fact]
    public async Task Import_DynamicKeysAndAutoId_Stored()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(dynamic: true, autoId: true), []);
        var file = WriteLines(dir.Sub("in.jsonl"),
            """{"name":"a","v":[1,0,0,0],"color":"red","size":3}""",
            """{"name":"b","v":[0,1,0,0],"$meta":{"color":"blue"}}""");
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c" });
        Assert.Equal(2, result.Imported);

        var rows = await RowsAsync(dir.Sub("data"), "c");
        Assert.Equal(["red", "blue"], rows.OrderBy(r => (string)r["name"]!).Select(r => ((JsonElement)r["color"]!).GetString()));
        Assert.Equal(3, ((JsonElement)rows.Single(r => (string)r["name"]! == "a")["size"]!).GetInt32());
    }

    [Fact]
    public async Task Server_ImportAndExport_SameAsFolder_AndBisectsOverTheWire()
    {
        using var dir = new TempFolder();
        var rows = AllTypesRows(40);
        await SeedAsync(dir.Sub("folder"), "items", AllTypes(), rows);
        var expected = dir.Sub("expected.jsonl");
        await ExportAsync(TargetSpec.Folder(dir.Sub("folder")), new ExportOptions { Collection = "items", Out = expected });

        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = dir.Sub("server"), Port = 0 });
        await server.Engine.CreateCollectionAsync("items", AllTypes());
        await server.Engine.InsertAsync("items", [rows[0], rows[1]]);
        var remote = TargetSpec.Server($"http://127.0.0.1:{server.Port}");

        var result = await ImportAsync(remote, new ImportOptions { File = expected, Collection = "items", BatchSize = 16, OnError = OnRowError.Skip });
        Assert.Equal(38, result.Imported);
        Assert.Equal(2, result.Rejected);
        Assert.All(result.RejectedRows, r => Assert.Contains("already exists", r.Error));
        var lines = File.ReadAllLines(expected);
        var expectedNumbers = new[] { rows[0], rows[1] }.Select(r => (long)Array.FindIndex(lines, l => l.StartsWith($"{{\"id\":{r["id"]},", StringComparison.Ordinal)) + 1).Order();
        Assert.Equal(expectedNumbers, result.RejectedRows.Select(r => r.Number).Order());

        var actual = dir.Sub("actual.jsonl");
        var exported = await ExportAsync(remote, new ExportOptions { Collection = "items", Out = actual, PageSize = 9 });
        Assert.Equal(40, exported.Rows);
        Assert.Equal(File.ReadAllText(expected), File.ReadAllText(actual));
    }

    [Fact]
    public async Task Report_Json_HasTheCountsAndRejectedRows()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var file = WriteLines(dir.Sub("in.jsonl"), SmallLine(1), "nope");
        var io = Io(json: true);
        var result = await ImportAsync(TargetSpec.Folder(dir.Sub("data")), new ImportOptions { File = file, Collection = "c", OnError = OnRowError.Skip }, io);
        Assert.Equal(ExitCodes.RowsRejected, await ImportCommand.ReportAsync(result, io));

        using var doc = JsonDocument.Parse(io.Out.ToString()!);
        Assert.Equal(2, doc.RootElement.GetProperty("rowsRead").GetInt64());
        Assert.Equal(1, doc.RootElement.GetProperty("imported").GetInt64());
        var rejected = Assert.Single(doc.RootElement.GetProperty("rejectedRows").EnumerateArray());
        Assert.Equal(2, rejected.GetProperty("number").GetInt64());
        Assert.False(rejected.TryGetProperty("raw", out _));
    }

    private static Row Row(long id, string name = "x") => new() { ["id"] = id, ["name"] = name, ["v"] = new[] { 1f, 2, 3, 4 } };

    /// <summary>Values as the engine returns them against the values inserted, compared as JSON (a dynamic key comes
    /// back as a JsonElement of the value inserted).</summary>
    private static void AssertRowEqual(Row expected, Row actual)
    {
        Assert.Equal(Canonical(expected), Canonical(actual));
    }

    private static string Canonical(Row row) =>
        JsonSerializer.Serialize(new SortedDictionary<string, object?>(row, StringComparer.Ordinal));
}
