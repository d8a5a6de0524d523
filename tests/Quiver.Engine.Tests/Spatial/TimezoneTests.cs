using System.Globalization;
using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Spatial;

/// <summary>Milvus's <c>timezone</c> (collection property, database property copied at create, per-read parameter) as it
/// applies to TIMESTAMPTZ: text without an offset read in the zone on insert, in defaults and in <c>ISO '...'</c>
/// literals; values written back in the zone. The oracle is .NET's own zone conversion of each naive local time
/// (<see cref="TimeZoneInfo.ConvertTimeToUtc(DateTime, TimeZoneInfo)"/>), independent of the engine's parser, and
/// RFC 3339 text built from <see cref="TimeZoneInfo.ConvertTime(DateTimeOffset, TimeZoneInfo)"/>.</summary>
public sealed class TimezoneTests : IDisposable
{
    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };
    private static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema(JsonElement? tszDefault = null) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            new FieldSchema { Name = "tsz", DataType = DataType.Timestamptz, Nullable = tszDefault is null, DefaultValue = tszDefault },
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
    };

    /// <summary>Local wall-clock times spread over a year (both sides of New York's and no DST change in Shanghai).</summary>
    private static DateTime Local(int i) => new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Unspecified).AddHours(i * 61 + 0.5);

    private static string Naive(DateTime local) => local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static long UtcMicros(DateTime local, TimeZoneInfo zone) =>
        (TimeZoneInfo.ConvertTimeToUtc(local, zone).Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>RFC 3339 of an instant in a zone, as Milvus writes it: Z for a zero offset, else ±hh:mm.</summary>
    private static string Rfc3339(long micros, TimeZoneInfo zone)
    {
        var t = TimeZoneInfo.ConvertTime(DateTimeOffset.UnixEpoch.AddTicks(micros * 10), zone);
        var text = t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return text + (t.Offset == TimeSpan.Zero ? "Z" : t.ToString("zzz", CultureInfo.InvariantCulture));
    }

    private static long Stored(object? text) =>
        DateTimeOffset.Parse((string)text!, CultureInfo.InvariantCulture).UtcTicks is var ticks ? (ticks - DateTime.UnixEpoch.Ticks) / 10 : 0;

    [Fact]
    public async Task CollectionZone_ReadsNaiveInsertsAndLiterals_AndWritesValuesInIt()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["timezone"] = "Asia/Shanghai" });
        var rows = Enumerable.Range(0, 200).Select(i => new Row { ["id"] = (long)i, ["tsz"] = Naive(Local(i)), ["v"] = new[] { (float)i, 0f } }).ToList();
        await db.InsertAsync("c", rows.Take(120).ToList());
        await db.FlushAsync("c");
        await db.InsertAsync("c", rows.Skip(120).ToList()); // beside the sealed rows, in a growing segment

        var back = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["tsz"] });
        Assert.Equal(200, back.Count);
        foreach (var row in back)
        {
            var i = (int)(long)row["id"]!;
            var expected = UtcMicros(Local(i), Shanghai);
            Assert.Equal(Rfc3339(expected, Shanghai), row["tsz"]);
            Assert.Equal(expected, Stored(row["tsz"]));
        }

        // A literal without an offset is read in the collection's zone; one with an offset is absolute.
        var pivot = Local(77);
        var after = await db.QueryAsync("c", new QueryRequest { Filter = $"tsz > ISO '{Naive(pivot)}'", OutputFields = ["id"] });
        var expectedAfter = Enumerable.Range(0, 200).Where(i => UtcMicros(Local(i), Shanghai) > UtcMicros(pivot, Shanghai)).Order();
        Assert.Equal(expectedAfter, after.Select(r => (int)(long)r["id"]!).Order());
        var absolute = await db.QueryAsync("c", new QueryRequest { Filter = $"tsz == ISO '{Rfc3339(UtcMicros(pivot, Shanghai), NewYork)}'", OutputFields = ["id"] });
        Assert.Equal([77L], absolute.Select(r => (long)r["id"]!));

        // The read's own timezone overrides the collection's, for literals and for the values written back.
        var ny = await db.QueryAsync("c", new QueryRequest { Filter = $"tsz <= ISO '{Naive(pivot)}'", OutputFields = ["tsz"], Timezone = "America/New_York" });
        var expectedNy = Enumerable.Range(0, 200).Where(i => UtcMicros(Local(i), Shanghai) <= UtcMicros(pivot, NewYork)).Order().ToList();
        Assert.Equal(expectedNy, ny.Select(r => (int)(long)r["id"]!).Order());
        Assert.All(ny, r => Assert.Equal(Rfc3339(UtcMicros(Local((int)(long)r["id"]!), Shanghai), NewYork), r["tsz"]));

        // Columns carry the zone, and so do search hits.
        var columns = await db.QueryColumnsAsync("c", new QueryRequest { Filter = "id < 5", OutputFields = ["tsz"], Timezone = "America/New_York" });
        Assert.Equal(NewYork.Id, columns.Find("tsz")!.TimeZone!.Id);
        Assert.All(columns.ToRows(Schema()), r => Assert.Equal(Rfc3339(UtcMicros(Local((int)(long)r["id"]!), Shanghai), NewYork), r["tsz"]));
        var hits = await db.SearchAsync("c", new SearchRequest
        {
            Vectors = [[150f, 0f]], Limit = 5, OutputFields = ["tsz"], Filter = $"tsz < ISO '{Naive(Local(150))}'", Timezone = "UTC",
        });
        // Read in UTC, the literal is 8 hours later than in Shanghai: row 150 itself now falls before it.
        Assert.Equal([150L, 149L, 148L, 147L, 146L], hits.Hits[0].Select(h => (long)h.Id));
        Assert.All(hits.Hits[0], h => Assert.Equal(Rfc3339(UtcMicros(Local((int)(long)h.Id), Shanghai), TimeZoneInfo.Utc), h.Fields["tsz"]));
        var gets = await db.GetAsync("c", [3L]);
        Assert.Equal(Rfc3339(UtcMicros(Local(3), Shanghai), Shanghai), gets[0]["tsz"]);
    }

    [Fact]
    public async Task DatabaseZone_IsCopiedIntoNewCollections_AndReadsTheirDefaults()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateDatabaseAsync("east");
        await db.AlterDatabasePropertiesAsync("east", new Dictionary<string, string> { ["timezone"] = "Asia/Shanghai" });
        var noon = new DateTime(2025, 6, 1, 12, 0, 0, DateTimeKind.Unspecified);
        await db.CreateCollectionAsync("c", Schema(JsonSerializer.SerializeToElement(Naive(noon))), "east");
        Assert.Equal("Asia/Shanghai", (await db.DescribeCollectionAsync("c", "east")).Properties["timezone"]);

        // A later change of the database's zone leaves the collection, and its default, as they were.
        await db.AlterDatabasePropertiesAsync("east", new Dictionary<string, string> { ["timezone"] = "America/New_York" });
        await db.InsertAsync("c", [new Row { ["id"] = 1L, ["v"] = new[] { 0f, 0f } }, new Row { ["id"] = 2L, ["tsz"] = Naive(noon), ["v"] = new[] { 1f, 0f } }], database: "east");
        var back = await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["tsz"], Timezone = "UTC" }, "east");
        Assert.All(back, r => Assert.Equal(Rfc3339(UtcMicros(noon, Shanghai), TimeZoneInfo.Utc), r["tsz"]));

        // Changing the collection's own zone does not move the default either (fixed when the collection was created),
        // but does move how new naive text is read.
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["timezone"] = "America/New_York" }, database: "east");
        await db.InsertAsync("c", [new Row { ["id"] = 3L, ["v"] = new[] { 2f, 0f } }, new Row { ["id"] = 4L, ["tsz"] = Naive(noon), ["v"] = new[] { 3f, 0f } }], database: "east");
        var later = (await db.QueryAsync("c", new QueryRequest { Filter = "id > 2", OutputFields = ["tsz"], Timezone = "UTC" }, "east"))
            .ToDictionary(r => (long)r["id"]!, r => r["tsz"]);
        Assert.Equal(Rfc3339(UtcMicros(noon, Shanghai), TimeZoneInfo.Utc), later[3]);
        Assert.Equal(Rfc3339(UtcMicros(noon, NewYork), TimeZoneInfo.Utc), later[4]);

        // A collection in a database without a zone records UTC, as Milvus 2.6 records a zone on every new collection.
        await db.CreateCollectionAsync("plain", Schema());
        Assert.Equal("UTC", (await db.DescribeCollectionAsync("plain")).Properties["timezone"]);
    }

    [Fact]
    public async Task DeleteByFilter_ReplaysInTheZoneItWasIssuedIn()
    {
        var rows = Enumerable.Range(0, 100).Select(i => new Row { ["id"] = (long)i, ["tsz"] = Naive(Local(i)), ["v"] = new[] { (float)i, 0f } }).ToList();
        var pivot = Local(40);
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["timezone"] = "Asia/Shanghai" });
            await db.InsertAsync("c", rows);
            var deleted = await db.DeleteWhereAsync("c", $"tsz < ISO '{Naive(pivot)}'");
            Assert.Equal(40L, deleted.Count);
            // The zone changes after the delete; the delete's record still says Shanghai.
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["timezone"] = "Pacific/Kiritimati" });
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var left = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["id"] });
            Assert.Equal(Enumerable.Range(40, 60).Select(i => (long)i), left.Select(r => (long)r["id"]!).Order());
        }
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("Pacific Standard Time")]
    [InlineData("")]
    [InlineData("+08:00")]
    public async Task UnknownZone_IsRefusedWithMilvusMessage_AndNothingChanges(string zone)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", Schema());
        var message = $"unknown or invalid IANA Time Zone ID: {zone}";
        var e1 = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["timezone"] = zone }));
        Assert.Equal((QuiverErrorCode.InvalidArgument, message), (e1.Code, e1.Message));
        Assert.Equal("UTC", (await db.DescribeCollectionAsync("c")).Properties["timezone"]);
        var e2 = await Assert.ThrowsAsync<QuiverException>(() => db.AlterDatabasePropertiesAsync("default", new Dictionary<string, string> { ["timezone"] = zone }));
        Assert.Equal((QuiverErrorCode.InvalidArgument, message), (e2.Code, e2.Message));
        Assert.False((await db.DescribeDatabaseAsync("default")).Properties.ContainsKey("timezone"));
        var e3 = Assert.Throws<QuiverException>(() => QuiverEngine.CheckCollectionProperties(new Dictionary<string, string> { ["timezone"] = zone }));
        Assert.Equal(message, e3.Message);
        await db.InsertAsync("c", [new Row { ["id"] = 1L, ["tsz"] = "2025-01-01 00:00:00", ["v"] = new[] { 0f, 0f } }]);
        var e4 = await Assert.ThrowsAsync<QuiverException>(() => db.QueryAsync("c", new QueryRequest { Filter = "id > 0", Timezone = zone }));
        Assert.Equal((QuiverErrorCode.InvalidArgument, message), (e4.Code, e4.Message));
        var e5 = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [[0f, 0f]], Timezone = zone }));
        Assert.Equal(message, e5.Message);
    }
}
