using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Milvus's collection TTL (<c>collection.ttl.seconds</c>, <see cref="Search.RowExpiry"/>): expired rows are
/// invisible to count, query, search and get at once, over sealed, straddling and growing segments, and compaction drops
/// them. The engine's clock is a <see cref="ManualClock"/>, so expiry is exact to the millisecond and nothing waits; every
/// answer is compared with an oracle that keeps each row's insert time.</summary>
public sealed class TtlTests : IDisposable
{
    private const long TtlSeconds = 25;
    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new();
    private readonly List<(long Id, long Tag, float[] Vec, DateTimeOffset At)> _rows = [];
    private readonly HashSet<long> _deleted = [];

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vec", 4, MetricType.L2)],
    };

    private QuiverOptions Options => new() { BackgroundMaintenance = false, Time = _clock };

    [Fact]
    public async Task ExpiredRows_InvisibleToEveryRead_AtTheMillisecond()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await FillAsync(db);
        var start = _rows[0].At;

        // Segment A (batch 0) wholly expired, B (batches 1, 2) straddling, the growing one (3, 4) whole, then in turn.
        foreach (var at in new[] { 40_000, 45_000, 45_001, 50_000, 60_000, 65_000, 65_001 })
        {
            _clock.Advance(start.AddMilliseconds(at) - _clock.GetUtcNow());
            await AssertReadsAsync(db, $"at +{at} ms");
        }
    }

    [Fact]
    public async Task TtlRemoved_RowsComeBackUntilCompacted_ThenCompactionDropsThem()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await FillAsync(db);
        var start = _rows[0].At;
        _clock.Advance(start.AddMilliseconds(50_000) - _clock.GetUtcNow());
        await AssertReadsAsync(db, "before removal");

        // Expiry is a read-time cut: without the TTL the rows no compaction has dropped are visible again.
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["collection.ttl.seconds"]);
        await AssertReadsAsync(db, "TTL removed", ttl: null);
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = $"{TtlSeconds}" });
        await AssertReadsAsync(db, "TTL set again");

        // Both sealed segments are wholly expired at +50 s: compaction drops them, so removing the TTL brings nothing back.
        Assert.True(await db.CompactAsync("c") >= 1);
        var expired = _rows.Where(r => Expired(r.At, TtlSeconds)).Select(r => r.Id).ToList();
        _deleted.UnionWith(expired);
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["collection.ttl.seconds"]);
        await AssertReadsAsync(db, "after compaction, TTL removed", ttl: null);

        // A key whose row compaction dropped is free again.
        await db.InsertAsync("c", [Row(expired[0], 1, [9, 9, 9, 9])]);
        _deleted.Remove(expired[0]);
        var row = _rows.First(r => r.Id == expired[0]);
        _rows[_rows.IndexOf(row)] = (row.Id, 1, [9, 9, 9, 9], _clock.GetUtcNow());
        await AssertReadsAsync(db, "re-inserted", ttl: null);
    }

    [Fact]
    public async Task CompactionRewritesStraddlingSegment_KeepingOnlyLiveRows_AcrossReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await FillAsync(db);
            _clock.Advance(_rows[0].At.AddMilliseconds(40_000) - _clock.GetUtcNow());

            // B holds batch 1 (expired) and batch 2 (live): half its rows count as deleted, so it is rewritten alone.
            Assert.True(await db.CompactAsync("c") >= 1);
            await AssertReadsAsync(db, "after compaction");
            await db.FlushAsync("c");
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await AssertReadsAsync(db, "reopened");
            _deleted.UnionWith(_rows.Where(r => Expired(r.At, TtlSeconds)).Select(r => r.Id));
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["collection.ttl.seconds"]);
            await AssertReadsAsync(db, "reopened, TTL removed", ttl: null);
        }
    }

    [Theory]
    [InlineData("abc", "not a valid positive integer")]
    [InlineData("1.5", "not a valid positive integer")]
    [InlineData("-2", "out of range, expect [-1, 3155760000], got -2")]
    [InlineData("3155760001", "out of range")]
    public async Task BadTtl_IsRefusedAtAlterAndAtCreate(string value, string message)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.CreateCollectionAsync("c", Schema);
        var set = new Dictionary<string, string> { ["collection.ttl.seconds"] = value };
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync("c", set));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Throws<QuiverException>(() => QuiverEngine.CheckCollectionProperties(set));
        Assert.DoesNotContain("collection.ttl.seconds", (await db.DescribeCollectionAsync("c")).Properties.Keys);

        // -1 and 0 are Milvus's "no TTL": accepted, and nothing expires.
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = "-1" });
        await db.InsertAsync("c", [Row(1, 0, [1, 0, 0, 0])]);
        _clock.Advance(TimeSpan.FromDays(400));
        Assert.Single(await db.GetAsync("c", [1L]));
    }

    /// <summary>Batches of 20 rows 10 s apart: batch 0 flushed alone (segment A), batches 1 and 2 flushed together (B), 3
    /// and 4 left growing; one row of B and one growing row deleted. TTL 25 s.</summary>
    private async Task FillAsync(QuiverEngine db)
    {
        await db.CreateCollectionAsync("c", Schema);
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = $"{TtlSeconds}" });
        var rng = new Random(14);
        for (var batch = 0; batch < 5; batch++)
        {
            if (batch > 0)
            {
                _clock.Advance(TimeSpan.FromSeconds(10));
            }

            var rows = new List<Row>();
            for (var i = 0; i < 20; i++)
            {
                long id = (batch * 100) + i;
                long tag = i % 5;
                float[] vec = [(float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble(), (float)rng.NextDouble()];
                rows.Add(Row(id, tag, vec));
                _rows.Add((id, tag, vec, _clock.GetUtcNow()));
            }

            await db.InsertAsync("c", rows);
            if (batch is 0 or 2)
            {
                await db.FlushAsync("c");
            }
        }

        await db.DeleteAsync("c", [205L, 407L]);
        _deleted.UnionWith([205L, 407L]);
    }

    private async Task AssertReadsAsync(QuiverEngine db, string when, long? ttl = TtlSeconds)
    {
        var visible = _rows.Where(r => !_deleted.Contains(r.Id) && (ttl is null || !Expired(r.At, ttl.Value))).ToList();

        var count = await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] });
        Assert.True((long)visible.Count == (long)count[0]["count(*)"]!, $"{when}: count {count[0]["count(*)"]}, expected {visible.Count}");

        var tagged = await db.QueryAsync("c", new QueryRequest { Filter = "tag < 2", OutputFields = ["tag"] });
        Assert.Equal(visible.Where(r => r.Tag < 2).Select(r => r.Id).Order(), tagged.Select(r => (long)r["id"]!).Order());

        // Exact search (no index) over every visible row: the same rows in the oracle's distance order.
        float[] q = [0.5f, 0.5f, 0.5f, 0.5f];
        var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 200 })).Hits[0];
        Assert.Equal(visible.OrderBy(r => L2(r.Vec, q)).Select(r => r.Id), hits.Select(h => (long)h.Id));
        var filtered = (await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 200, Filter = "tag >= 3" })).Hits[0];
        Assert.Equal(visible.Where(r => r.Tag >= 3).OrderBy(r => L2(r.Vec, q)).Select(r => r.Id), filtered.Select(h => (long)h.Id));

        var all = _rows.Select(r => (object)r.Id).ToList();
        var got = await db.GetAsync("c", all);
        Assert.Equal(visible.Select(r => r.Id).Order(), got.Select(r => (long)r["id"]!).Order());
    }

    private bool Expired(DateTimeOffset insertedAt, long ttlSeconds) =>
        insertedAt.ToUnixTimeMilliseconds() + (ttlSeconds * 1000) < _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static float L2(float[] a, float[] b)
    {
        var s = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return s;
    }

    private static Row Row(long id, long tag, float[] vec) => new() { ["id"] = id, ["tag"] = tag, ["vec"] = vec };
}
