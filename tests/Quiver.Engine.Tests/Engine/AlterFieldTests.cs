using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>AlterCollectionFieldAsync: max_length and max_capacity raised on a collection with rows (sealed and
/// growing), checked on the next write and kept across reopen; the refusals.</summary>
public sealed class AlterFieldTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly CollectionSchema _schema = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("name", 5),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 2, maxLength: 4),
            FieldSchema.Scalar("n", DataType.Int64),
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
    };

    private static Row Row(long id, string name, params string[] tags) =>
        new() { ["id"] = id, ["name"] = name, ["tags"] = tags, ["n"] = id, ["v"] = new[] { 1f, id } };

    private Task<QuiverEngine> OpenAsync() => QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });

    [Fact]
    public async Task RaisedLimits_AdmitLongerValues_AndSurviveReopen()
    {
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", _schema);
            await db.InsertAsync("c", [Row(1, "abcde", "ab", "cd")]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [Row(2, "xy", "e")]);
            var before = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [Row(3, "abcdefgh")]));
            Assert.Contains("exceeds max_length 5", before.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [Row(3, "a", "a", "b", "c")]));

            await db.AlterCollectionFieldAsync("c", "name", maxLength: 8);
            await db.AlterCollectionFieldAsync("c", "tags", maxLength: 6, maxCapacity: 3);
            await db.InsertAsync("c", [Row(3, "abcdefgh", "abcdef", "b", "c")]);
            var after = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [Row(4, "abcdefghi")]));
            Assert.Contains("exceeds max_length 8", after.Message, StringComparison.Ordinal);
        }

        await using (var db = await OpenAsync())
        {
            var name = (await db.DescribeCollectionAsync("c")).Schema.Find("name")!;
            var tags = (await db.DescribeCollectionAsync("c")).Schema.Find("tags")!;
            Assert.Equal((8, 6, 3), (name.MaxLength!.Value, tags.MaxLength!.Value, tags.MaxCapacity!.Value));
            await db.InsertAsync("c", [Row(5, "12345678", "uvwxyz", "a", "b")]);
            var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["name"] });
            Assert.Equal(["abcde", "xy", "abcdefgh", "12345678"], rows.OrderBy(r => (long)r["id"]!).Select(r => (string)r["name"]!));
        }
    }

    [Theory]
    [InlineData("name", 3, null, "max_length can only grow (5 to 3 asked)")]
    [InlineData("n", 10, null, "max_length applies to VarChar fields and arrays of VarChar, and the field is Int64")]
    [InlineData("name", null, 4, "max_capacity applies to Array fields, and the field is VarChar")]
    [InlineData("name", 70_000, null, "max_length must be in 1..65535, got 70000")]
    [InlineData("tags", null, 1, "max_capacity can only grow (2 to 1 asked)")]
    public async Task Refusals_NameTheFieldAndTheRule(string field, int? maxLength, int? maxCapacity, string message)
    {
        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", _schema);
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionFieldAsync("c", field, maxLength, maxCapacity));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains($"alter field '{field}': {message}", e.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionFieldAsync("c", "nope", maxLength: 9));
        Assert.Equal(QuiverErrorCode.NotFound, missing.Code);
        Assert.Equal(5, (await db.DescribeCollectionAsync("c")).Schema.Find("name")!.MaxLength);
    }
}
