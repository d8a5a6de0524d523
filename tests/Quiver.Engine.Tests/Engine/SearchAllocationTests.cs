using Quiver.Search;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>An unfiltered search over a sealed segment without deletes admits the segment without building a per-row
/// bitmap: the bytes one search allocates do not grow with the segment's rows. Measured as allocated bytes on the
/// calling thread (the executor runs synchronously), never as time.</summary>
public sealed class SearchAllocationTests : IDisposable
{
    private const int Dim = 4;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task UnfilteredSearch_OfSealedSegmentWithoutDeletes_AllocatesTheSameAtAnySize()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never });
        var small = await SealedCollectionAsync(db, "small", 2_000);
        var large = await SealedCollectionAsync(db, "large", 100_000);

        var smallBytes = AllocatedPerSearch(small);
        var largeBytes = AllocatedPerSearch(large);

        // A visibility bitmap of the large segment alone would be 100,000 / 8 = 12,500 bytes.
        Assert.True(largeBytes - smallBytes < 1_000, $"a search allocated {largeBytes} bytes over 100,000 rows and {smallBytes} over 2,000");

        // The same holds for count(*), and the counts are right.
        var count = QueryExecutor.Run(large, new QueryRequest { OutputFields = [QueryExecutor.CountStar] }, CancellationToken.None);
        Assert.Equal(100_000L, count[0][QueryExecutor.CountStar]);
    }

    [Fact]
    public async Task UnfilteredSearch_OfSealedSegmentWithDeletes_SharesOneBitmap_UntilTheNextDelete()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never });
        var shard = await SealedCollectionAsync(db, "c", 5_000);
        await db.DeleteAsync("c", [3L, 4_999L]);
        using var first = shard.AcquireView([]);
        using var second = shard.AcquireView([]);
        var a = first.Segments[0].Visible(first.Timestamp, out var countA);
        var b = second.Segments[0].Visible(second.Timestamp, out var countB);
        Assert.NotNull(a);
        Assert.Same(a, b);
        Assert.Equal(4_998, countA);
        Assert.Equal(4_998, countB);

        // A later delete works on a copy: the views already taken keep seeing rows 0..2 and 5..
        await db.DeleteAsync("c", [0L]);
        Assert.True(a![0]);
        Assert.False(a[3]);
        using var third = shard.AcquireView([]);
        var c = third.Segments[0].Visible(third.Timestamp, out var countC);
        Assert.NotSame(a, c);
        Assert.False(c![0]);
        Assert.Equal(4_997, countC);

        // An older timestamp still sees exactly the rows of then (the view's own timestamp bounds its marks).
        var older = third.Segments[0].Visible(first.Timestamp, out var countOld);
        Assert.Equal(4_998, countOld);
        Assert.True(older![0]);
    }

    private static async Task<Shards.Shard> SealedCollectionAsync(QuiverEngine db, string name, int rows)
    {
        await db.CreateCollectionAsync(name, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        var rng = new Random(5);
        for (var first = 0; first < rows; first += 10_000)
        {
            var batch = Enumerable.Range(first, Math.Min(10_000, rows - first))
                .Select(i => new Row { ["id"] = (long)i, ["vec"] = TestData.Vector(rng, Dim) }).ToList();
            await db.InsertAsync(name, batch);
        }

        await db.FlushAsync(name);
        var shard = db.ShardOf(name);
        Assert.Equal((0, 1), (shard.Statistics().Growing, shard.Statistics().Sealed));
        return shard;
    }

    private static long AllocatedPerSearch(Shards.Shard shard)
    {
        var request = new SearchRequest { Vectors = [new float[] { 0.5f, 0.1f, 0.2f, 0.3f }], Limit = 10 };
        for (var i = 0; i < 5; i++)
        {
            SearchExecutor.Run(shard, request, CancellationToken.None);
        }

        // The least of several runs, so that a one-off allocation (a pool growing, a tier-up) does not count.
        var least = long.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            SearchExecutor.Run(shard, request, CancellationToken.None);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
