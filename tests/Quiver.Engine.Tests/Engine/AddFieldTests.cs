using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>AddCollectionFieldAsync (Milvus's AddCollectionField) on a collection with sealed and growing rows: rows
/// written before read the default or null, rows after their own values, through filters, searches, deletes, a
/// compaction and a reopen, against an in-memory model; a write validated against the old schema lands with the new
/// field's default; a power loss anywhere in the add leaves the collection with or without the field and every
/// acknowledged row; Milvus's refusals.</summary>
public sealed class AddFieldTests : IDisposable
{
    private const string PowerRoot = "/quiver-addfield";
    private const string PowerFolder = PowerRoot + "/db";
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly CollectionSchema Schema = new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int64), FieldSchema.Vector("v", 2, MetricType.L2)],
    };

    private static FieldSchema Tag => FieldSchema.VarChar("tag", 16, nullable: true);

    private static FieldSchema Score => new()
    {
        Name = "score", DataType = DataType.Int32, Nullable = true, DefaultValue = System.Text.Json.JsonDocument.Parse("100").RootElement,
    };

    private static Row Row(long id) => new() { ["id"] = id, ["n"] = id, ["v"] = new[] { 1f, id } };

    [Fact]
    public async Task AddedFields_OldRowsReadDefaultOrNull_NewRowsTheirValues_ThroughFlushCompactAndReopen()
    {
        // The model: id -> (tag, score) as the engine must answer them.
        var model = new Dictionary<long, (string? Tag, int? Score)>();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema);
            await db.InsertAsync("c", [.. Enumerable.Range(0, 60).Select(i => Row(i))]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(60, 30).Select(i => Row(i))]);
            await db.AddCollectionFieldAsync("c", Tag);
            await db.AddCollectionFieldAsync("c", Score);
            for (var i = 0; i < 90; i++)
            {
                model[i] = (null, 100);
            }

            var described = (await db.DescribeCollectionAsync("c")).Schema.Fields;
            Assert.Equal(["id", "n", "v", "tag", "score"], described.Select(f => f.Name));
            await AssertModelAsync(db, model, "after the add");

            // New rows: values given, omitted (default / null) and null.
            var rows = new List<Row>();
            for (var i = 90; i < 120; i++)
            {
                var row = Row(i);
                if (i % 3 == 0)
                {
                    row["tag"] = $"t{i % 4}";
                    row["score"] = i;
                    model[i] = ($"t{i % 4}", i);
                }
                else
                {
                    row["tag"] = null;
                    model[i] = (null, 100);
                }

                rows.Add(row);
            }

            await db.InsertAsync("c", rows);
            await db.UpsertAsync("c", [new Row { ["id"] = 5L, ["n"] = 5L, ["v"] = new[] { 1f, 5f }, ["tag"] = "up", ["score"] = -1 }]);
            model[5] = ("up", -1);
            await AssertModelAsync(db, model, "after new rows");
            await db.DeleteAsync("c", [7L, 95L]);
            model.Remove(7);
            model.Remove(95);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertModelAsync(db, model, "after a compaction");
            await db.InsertAsync("c", [Row(500)]);
            model[500] = (null, 100);
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await AssertModelAsync(reopened, model, "after a reopen");
    }

    [Fact]
    public async Task SegmentsWrittenBeforeTheAdd_AreReopenedWithTheAddedField()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema);
            await db.InsertAsync("c", [.. Enumerable.Range(0, 10).Select(i => Row(i))]);
            await db.AddCollectionFieldAsync("c", Score);

            // A later checkpoint writes the manifest again from the segments in memory; the sealed one keeps its count.
            await db.InsertAsync("c", [Row(10)]);
            await db.FlushAsync("c");
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var rows = await reopened.QueryAsync("c", new QueryRequest { Filter = "score == 100", OutputFields = ["score"], Limit = 100 });
        Assert.Equal(11, rows.Count);
        Assert.All(rows, r => Assert.Equal(100, r["score"]));
    }

    [Fact]
    public async Task Refusals_AreMilvus()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema);

        async Task<string> Refusal(FieldSchema f) => (await Assert.ThrowsAsync<QuiverException>(() => db.AddCollectionFieldAsync("c", f))).Message;

        Assert.Equal("added field must be nullable, please check it, field name = x", await Refusal(FieldSchema.Scalar("x", DataType.Int64)));
        Assert.Equal("not support to add pk field, field name = x", await Refusal(new FieldSchema { Name = "x", DataType = DataType.Int64, IsPrimaryKey = true, Nullable = true }));
        Assert.Equal("not support to add vector field, field name = x", await Refusal(new FieldSchema { Name = "x", DataType = DataType.FloatVector, Dimension = 2, Nullable = true }));
        Assert.Equal("duplicate field name: n", await Refusal(FieldSchema.Scalar("n", DataType.Int64, nullable: true)));
        Assert.Contains("max_length", await Refusal(new FieldSchema { Name = "s", DataType = DataType.VarChar, Nullable = true }), StringComparison.Ordinal);
        for (var i = Schema.Fields.Length; i < SchemaValidator.MaxFields; i++)
        {
            await db.AddCollectionFieldAsync("c", FieldSchema.Scalar($"f{i}", DataType.Bool, nullable: true));
        }

        Assert.Equal($"The number of fields has reached the maximum value {SchemaValidator.MaxFields}", await Refusal(FieldSchema.Scalar("y", DataType.Bool, nullable: true)));
        Assert.Equal(SchemaValidator.MaxFields, (await db.DescribeCollectionAsync("c")).Schema.Fields.Length);
    }

    [Fact]
    public async Task PowerLossDuringTheAdd_RecoversWithOrWithoutTheField_AndEveryAcknowledgedRow()
    {
        var span = await RunToPowerLossAsync(long.MaxValue);
        Assert.True(span > 0);
        var points = TestTier.Pick(12, 60);
        var with = 0;
        for (var p = 0; p < points; p++)
        {
            var crashAt = (long)Math.Round(p * (double)span / Math.Max(1, points - 1));
            var fs = new PowerLossFileSystem(PowerRoot);
            await RunToPowerLossAsync(crashAt, fs);
            var context = $"power lost after file operation {crashAt} of {span} of the add";
            await using var db = await QuiverEngine.OpenAsync(PowerFolder, new QuiverOptions { BackgroundMaintenance = false, FileSystem = fs.Survive(p) });
            var added = (await db.DescribeCollectionAsync("c")).Schema.Find("score") is not null;
            with += added ? 1 : 0;
            var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = added ? ["n", "score"] : ["n"], Limit = 1000 });
            Assert.True(rows.Count == 40, $"{context}: {rows.Count} rows");
            Assert.All(rows, r => Assert.Equal(r["id"], r["n"]));
            if (added)
            {
                Assert.All(rows, r => Assert.Equal(100, r["score"]));
            }

            // The recovered collection takes writes under whichever schema it has.
            await db.InsertAsync("c", [Row(1000)]);
        }

        Assert.True(with > 0 && with < points, $"{with} of {points} recoveries had the field; the crash points should cover both outcomes");
    }

    /// <summary>20 sealed and 20 growing rows (the growing ones only in the WAL), then the add with a power loss
    /// <paramref name="crashAt"/> file operations into it. Returns the operations the add took.</summary>
    private static async Task<long> RunToPowerLossAsync(long crashAt, PowerLossFileSystem? fs = null)
    {
        fs ??= new PowerLossFileSystem(PowerRoot);
        var db = await QuiverEngine.OpenAsync(PowerFolder, new QuiverOptions { BackgroundMaintenance = false, FileSystem = fs });
        long start;
        try
        {
            await db.CreateCollectionAsync("c", Schema);
            await db.InsertAsync("c", [.. Enumerable.Range(0, 20).Select(i => Row(i))]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(20, 20).Select(i => Row(i))]);
            start = fs.Operations;
            fs.CrashAfter(crashAt == long.MaxValue ? long.MaxValue : start + crashAt);
            try
            {
                await db.AddCollectionFieldAsync("c", Score);
            }
            catch (Exception) when (fs.HasCrashed)
            {
                // The power failed under the add.
            }
        }
        finally
        {
            try
            {
                await db.DisposeAsync();
            }
            catch (Exception) when (fs.HasCrashed)
            {
                // A dead machine does not close cleanly.
            }
        }

        return fs.Operations - start;
    }

    private static async Task AssertModelAsync(QuiverEngine db, Dictionary<long, (string? Tag, int? Score)> model, string when)
    {
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["tag", "score"], Limit = 1000 });
        Assert.Equal(model.Count, rows.Count);
        foreach (var row in rows)
        {
            var (tag, score) = model[(long)row["id"]!];
            Assert.True(Equals(tag, row["tag"]) && Equals(score, row["score"]), $"{when}: row {row["id"]} reads ({row["tag"]}, {row["score"]}), expected ({tag}, {score})");
        }

        // Filters on the added fields, and a search returning them, agree with the model.
        Assert.Equal(model.Count(m => m.Value.Tag is null), (await db.QueryAsync("c", new QueryRequest { Filter = "tag is null", Limit = 1000 })).Count);
        Assert.Equal(model.Count(m => m.Value.Score == 100), (await db.QueryAsync("c", new QueryRequest { Filter = "score == 100", Limit = 1000 })).Count);
        var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [[1f, 2.4f]], Limit = 5, Filter = "score >= 0", OutputFields = ["tag", "score"] })).Hits[0];
        Assert.Equal(model.Where(m => m.Value.Score >= 0).OrderBy(m => Math.Abs(m.Key - 2.4)).Take(5).Select(m => m.Key), hits.Select(h => (long)h.Id));
        Assert.All(hits, h => Assert.Equal(model[(long)h.Id].Score, h.Fields["score"]));
    }
}
