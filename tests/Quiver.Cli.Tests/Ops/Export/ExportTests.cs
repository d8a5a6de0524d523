using System.Text.Json;
using Quiver.Toolbox.Formats;
using Quiver.Client;
using Quiver.Testing;
using Quiver.Toolbox;
using static Quiver.Cli.Tests.Ops.Import.ImpExp;
using Quiver.Toolbox.Export;

namespace Quiver.Cli.Tests.Ops.Export;

public sealed class ExportTests
{
    [Fact]
    public async Task Scan_ShuffledInt64Keys_EveryRowOnceInKeyOrder_PagesBounded()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path);
        await engine.CreateCollectionAsync("c", Small());
        var rng = new Random(3);
        var keys = Enumerable.Range(1, 2_500).Select(i => (long)i * 7).OrderBy(_ => rng.Next()).ToList();
        foreach (var chunk in keys.Chunk(500))
        {
            await engine.InsertAsync("c", [.. chunk.Select(k => SmallRow(k))]);
        }

        await engine.DeleteAsync("c", [14L, 700L]);
        await using var client = QuiverClient.FromEngine(engine);
        var seen = new List<long>();
        await foreach (var page in CollectionScanner.ScanAsync(client, "c", pageSize: 97))
        {
            Assert.InRange(page.Count, 1, 97);
            seen.AddRange(page.Select(r => (long)r["id"]!));
            Assert.All(page, r => Assert.Equal($"n{r["id"]}", r["name"]));
        }

        Assert.Equal(keys.Where(k => k is not 14 and not 700).Order(), seen);
    }

    [Fact]
    public async Task Scan_MoreKeysThanOneListing_SplitsRanges_AndStaysInOrder()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path);
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2)] };
        await engine.CreateCollectionAsync("c", schema);
        var rng = new Random(5);
        var count = CollectionScanner.ListChunk + 3_000;
        var keys = Enumerable.Range(0, count).Select(i => (long)i * 3 - 20_000).OrderBy(_ => rng.Next()).ToList();
        foreach (var chunk in keys.Chunk(4_000))
        {
            await engine.InsertAsync("c", [.. chunk.Select(k => new Row { ["id"] = k, ["v"] = new[] { 1f, 2f } })]);
        }

        await using var client = QuiverClient.FromEngine(engine);
        var seen = new List<long>(count);
        await foreach (var page in CollectionScanner.ScanAsync(client, "c", pageSize: 5_000, outputFields: ["id"]))
        {
            seen.AddRange(page.Select(r => (long)r["id"]!));
        }

        Assert.Equal(keys.Order(), seen);
    }

    [Fact]
    public async Task Scan_StringKeys_OrdinalOrder()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path);
        var schema = new CollectionSchema { Fields = [FieldSchema.VarCharKey("k", 32), FieldSchema.Vector("v", 2, MetricType.L2)] };
        await engine.CreateCollectionAsync("c", schema);
        var rng = new Random(9);
        var keys = Enumerable.Range(0, 300).Select(i => $"{(char)('A' + (i % 26))}{(i % 3 == 0 ? "é" : "z")}{i}").OrderBy(_ => rng.Next()).ToList();
        keys.Add("");
        await engine.InsertAsync("c", [.. keys.Select(k => new Row { ["k"] = k, ["v"] = new[] { 1f, 0f } })]);
        await using var client = QuiverClient.FromEngine(engine);

        var seen = new List<string>();
        await foreach (var page in CollectionScanner.ScanAsync(client, "c", pageSize: 40))
        {
            seen.AddRange(page.Select(r => (string)r["k"]!));
        }

        Assert.Equal(keys.Order(StringComparer.Ordinal), seen);
    }

    [Fact]
    public async Task Scan_PartitionAndFilter_OnlyThoseRows()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path);
        await engine.CreateCollectionAsync("c", Small());
        await engine.CreatePartitionAsync("c", "p2");
        await engine.InsertAsync("c", [.. Enumerable.Range(1, 100).Select(i => SmallRow(i))]);
        await engine.InsertAsync("c", [.. Enumerable.Range(101, 50).Select(i => SmallRow(i))], partition: "p2");
        await using var client = QuiverClient.FromEngine(engine);

        var inPartition = new List<long>();
        await foreach (var page in CollectionScanner.ScanAsync(client, "c", partition: "p2", pageSize: 8))
        {
            inPartition.AddRange(page.Select(r => (long)r["id"]!));
        }

        Assert.Equal(Enumerable.Range(101, 50).Select(i => (long)i), inPartition);

        var filtered = new List<long>();
        await foreach (var page in CollectionScanner.ScanAsync(client, "c", pageSize: 8, filter: "score % 20 == 0 or id < 3"))
        {
            filtered.AddRange(page.Select(r => (long)r["id"]!));
        }

        Assert.Equal(Enumerable.Range(1, 150).Where(i => i % 2 == 0 || i < 3).Select(i => (long)i), filtered);
    }

    [Fact]
    public async Task Export_FilterPartitionFields_WritesOnlyThose_WithTotalFromCount()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), [.. Enumerable.Range(1, 30).Select(i => SmallRow(i))]);
        var output = dir.Sub("out.jsonl");
        var io = Io();
        var result = await ExportAsync(TargetSpec.Folder(dir.Sub("data")), new ExportOptions
        {
            Collection = "c",
            Out = output,
            Filter = "id > 25",
            Fields = ["name", "id"],
        }, io);

        Assert.Equal(5, result.Rows);
        Assert.Equal(
            [.. Enumerable.Range(26, 5).Select(i => $$"""{"name":"n{{i}}","id":{{i}}}""")],
            File.ReadAllLines(output));
        Assert.Contains("export: 5/5 rows (100%)", io.Err.ToString());

        var csv = dir.Sub("out.csv");
        await ExportAsync(TargetSpec.Folder(dir.Sub("data")), new ExportOptions { Collection = "c", Out = csv, Filter = "id <= 2" });
        Assert.Equal(["id,name,score,v", "1,n1,10,\"[1,0.5,-1,0.25]\"", "2,n2,20,\"[2,0.5,-1,0.25]\""], File.ReadAllLines(csv));
    }

    [Fact]
    public async Task Export_MissingCollection_LeavesExistingFileUntouched()
    {
        using var dir = new TempFolder();
        await SeedAsync(dir.Sub("data"), "c", Small(), []);
        var output = dir.Sub("out.jsonl");
        File.WriteAllText(output, "keep me\n");
        var e = await Assert.ThrowsAsync<ToolboxException>(() => ExportAsync(TargetSpec.Folder(dir.Sub("data")), new ExportOptions { Collection = "nope", Out = output }));
        Assert.Contains("collection 'nope' does not exist", e.Message);
        Assert.Equal("keep me\n", File.ReadAllText(output));
    }

    [Theory]
    [InlineData("jsonl")]
    [InlineData("csv")]
    public async Task Writer_DisposedWithoutComplete_LeavesNoFile(string extension)
    {
        using var dir = new TempFolder();
        var path = dir.Sub("out." + extension);
        await using (var writer = RowFormats.OpenWriter(path, RowFormats.Resolve(path, null), Small(), new FormatOptions()))
        {
            await writer.WriteAsync([SmallRow(1)], CancellationToken.None);
        }

        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task Csv_EmptyStringAndNull_AreDistinct_AndDynamicKeysGoToMeta()
    {
        using var dir = new TempFolder();
        var schema = new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("s", 16, nullable: true), FieldSchema.Vector("v", 2, MetricType.L2)],
            EnableDynamicField = true,
        };
        var path = dir.Sub("t.csv");
        await using (var writer = RowFormats.OpenWriter(path, RowFormat.Csv, schema, new FormatOptions()))
        {
            await writer.WriteAsync(
            [
                new Row { ["id"] = 1L, ["s"] = "", ["v"] = new[] { 1f, 2f } },
                new Row { ["id"] = 2L, ["s"] = null, ["v"] = new[] { 1f, 2f }, ["color"] = JsonDocument.Parse("\"red\"").RootElement },
            ], CancellationToken.None);
            await writer.CompleteAsync(CancellationToken.None);
        }

        Assert.Equal(["id,s,v,$meta", "1,\"\",\"[1,2]\",", "2,,\"[1,2]\",\"{\"\"color\"\":\"\"red\"\"}\""], File.ReadAllLines(path));
        await using var reader = RowFormats.OpenReader(path, RowFormat.Csv, schema, new FormatOptions());
        var rows = new List<SourceRow>();
        await foreach (var row in reader.ReadAsync(0, CancellationToken.None))
        {
            rows.Add(row);
        }

        Assert.Equal([2L, 3], rows.Select(r => r.Number));
        Assert.Equal("", rows[0].Values!["s"]);
        Assert.Null(rows[1].Values!["s"]);
        Assert.Equal("red", ((JsonElement)rows[1].Values!["$meta"]!).GetProperty("color").GetString());
    }

    [Fact]
    public async Task Jsonl_ReadSkip_CountsRowsNotBlankLines()
    {
        using var dir = new TempFolder();
        var path = WriteLines(dir.Sub("t.jsonl"), SmallLine(1), "", "  ", SmallLine(2), SmallLine(3));
        await using var reader = new JsonlReader(path);
        var numbers = new List<long>();
        await foreach (var row in reader.ReadAsync(1, CancellationToken.None))
        {
            numbers.Add(row.Number);
        }

        Assert.Equal([4L, 5], numbers);
    }

    private static Row SmallRow(long id) => new() { ["id"] = id, ["name"] = $"n{id}", ["score"] = id * 10, ["v"] = new[] { id, 0.5f, -1f, 0.25f } };
}
