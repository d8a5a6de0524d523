using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>What a collection TTL does to statistics and to inserts, as Milvus behaves: the row count
/// (DescribeCollection, GetCollectionStatistics) leaves out rows expired at this moment, like <c>count(*)</c>; and an
/// insert of a key whose row has expired but is not compacted yet succeeds (Milvus never checks inserted keys against
/// stored rows, and the old row is invisible), replacing the old row for good (a later TTL removal does not bring it
/// back), live and after a reopen. The clock is a <see cref="ManualClock"/>.</summary>
public sealed class TtlWriteAndStatsTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new();

    public void Dispose() => _dir.Dispose();

    private QuiverOptions Options => new() { BackgroundMaintenance = false, Time = _clock };

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vec", 2, MetricType.L2)],
    };

    private static Dictionary<string, object?> Row(long id, long tag) => new() { ["id"] = id, ["tag"] = tag, ["vec"] = new float[] { id, tag } };

    private static async Task CreateAsync(QuiverEngine db)
    {
        await db.CreateCollectionAsync("c", Schema);
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = "20" });
    }

    private static async Task<long> CountAsync(QuiverEngine db) =>
        (long)(await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]!;

    [Fact]
    public async Task RowCount_LeavesOutExpiredRows_AsCountStarDoes()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await CreateAsync(db);
        var start = _clock.GetUtcNow();
        await db.InsertAsync("c", [.. Enumerable.Range(0, 30).Select(i => Row(i, 0))]);
        await db.FlushAsync("c");
        _clock.Advance(TimeSpan.FromSeconds(10));
        await db.InsertAsync("c", [.. Enumerable.Range(30, 12).Select(i => Row(i, 1))]);
        await db.DeleteAsync("c", [31L, 32L, 1L]);

        // (ms after the first batch, rows visible): a row expires once its insert time plus the TTL is in the past, so
        // nothing at +20 000, the first (sealed) batch at +20 001, the second at +30 001.
        foreach (var (at, expected) in new[] { (19_999, 39L), (20_000, 39L), (20_001, 10L), (30_000, 10L), (30_001, 0L) })
        {
            _clock.Advance(start.AddMilliseconds(at) - _clock.GetUtcNow());
            Assert.Equal(expected, await CountAsync(db));
            Assert.Equal(expected, db.CountRows("c"));
            Assert.Equal(expected, (await db.DescribeCollectionAsync("c")).RowCount);
        }
    }

    [Fact]
    public async Task Insert_OfKeyWhoseRowExpired_Succeeds_AndReplacesItForGood_AcrossReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await CreateAsync(db);
            await db.InsertAsync("c", [.. Enumerable.Range(0, 10).Select(i => Row(i, 0))]);
            await db.FlushAsync("c");
            _clock.Advance(TimeSpan.FromSeconds(15));
            await db.InsertAsync("c", [Row(10, 0)]);
            _clock.Advance(TimeSpan.FromSeconds(6));

            // Keys 0..9 expired (not compacted), 10 is live: an insert of 10 is still refused, whole.
            var refused = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [Row(3, 7), Row(10, 7)]));
            Assert.Equal(QuiverErrorCode.AlreadyExists, refused.Code);
            Assert.Equal(1L, await CountAsync(db));

            var result = await db.InsertAsync("c", [Row(3, 7), Row(4, 7), Row(20, 7)]);
            Assert.Equal(3, result.Count);
            await AssertStateAsync(db, "live");
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await AssertStateAsync(db, "after replay");

            // Without the TTL, rows no compaction dropped come back, except those the inserts replaced.
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["collection.ttl.seconds"]);
            var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["tag"] });
            var tags = rows.ToDictionary(r => (long)r["id"]!, r => (long)r["tag"]!);
            Assert.Equal(12, tags.Count);
            Assert.Equal(7L, tags[3]);
            Assert.Equal(7L, tags[4]);
            Assert.Equal(0L, tags[5]);
        }

        async Task AssertStateAsync(QuiverEngine db, string when)
        {
            var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["tag"] });
            Assert.True(
                rows.Select(r => ((long)r["id"]!, (long)r["tag"]!)).Order().SequenceEqual([(3L, 7L), (4L, 7L), (10L, 0L), (20L, 7L)]),
                $"{when}: {string.Join(", ", rows.Select(r => $"{r["id"]}:{r["tag"]}"))}");
            Assert.Equal(4L, db.CountRows("c"));
            var got = await db.GetAsync("c", [3L, 5L, 10L]);
            Assert.Equal([3L, 10L], got.Select(r => (long)r["id"]!));
        }
    }
}
