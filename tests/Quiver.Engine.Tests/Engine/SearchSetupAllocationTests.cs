using Quiver.Indexing;
using Quiver.Search;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Engine;

/// <summary>What one search allocates besides its answer, measured as bytes allocated on the calling thread (the
/// executor runs synchronously), never as time: the per-search set-up (parameters, views, result assembly) must not
/// allocate what a repeated search can reuse. The answers are checked against brute force and the parser.</summary>
public sealed class SearchSetupAllocationTests(ITestOutputHelper output) : IDisposable
{
    private const int Dim = 8;
    private const int Rows = 3_000;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task SearchParams_SeenBefore_AreFoundWithoutAllocating_AndEachSetKeepsItsOwnValue()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never });
        await db.CreateCollectionAsync("c", Schema);
        var shard = db.ShardOf("c");

        // More parameter sets than the cache keeps in its fast slots, each asked for several times and in both orders
        // of its names: every answer is what the parser makes of that set (the oracle), whichever set shared its slot.
        var sets = new List<Dictionary<string, string>>();
        for (var ef = 1; ef <= 40; ef++)
        {
            sets.Add(new Dictionary<string, string> { ["ef"] = ef.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            sets.Add(new Dictionary<string, string> { ["ef"] = ef.ToString(System.Globalization.CultureInfo.InvariantCulture), ["nprobe"] = "2" });
            sets.Add(new Dictionary<string, string> { ["nprobe"] = "2", ["ef"] = ef.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        sets.Add([]);
        for (var round = 0; round < 3; round++)
        {
            foreach (var given in sets)
            {
                Assert.Equal(AnnSearchParams.Parse(new IndexParameters(given)), shard.Plans.SearchParams(shard, "vec", given));
            }
        }

        // A set seen before, in a new dictionary as every request brings: nothing allocated to find it.
        var warm = new Dictionary<string, string> { ["ef"] = "64" };
        shard.Plans.SearchParams(shard, "vec", warm);
        var again = new Dictionary<string, string> { ["ef"] = "64" };
        var least = long.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var found = shard.Plans.SearchParams(shard, "vec", again);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(new AnnSearchParams(Ef: 64), found);
        }

        Assert.True(least == 0, $"looking up search parameters seen before allocated {least} bytes");
    }

    [Fact]
    public async Task IndexedSearch_AllocatesLittleBesidesItsHits_AndAnswersAsTheIndexDoes()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never });
        await IndexedCollectionAsync(db);
        var query = TestData.Vector(new Random(11), Dim);
        var request = new SearchRequest { Vectors = [query], Limit = 10, SearchParams = new Dictionary<string, string> { ["ef"] = "32" } };

        // The answer is the segment's own graph searched directly with the same parameters, rows mapped to their keys
        // (and the engine reports that it searched the index).
        var result = await db.SearchAsync("c", request);
        Assert.Equal(1, ((SearchStats)result.EngineStats!).IndexedSegments);
        var shard = db.ShardOf("c");
        using (var view = shard.AcquireView([]))
        {
            var snap = Assert.Single(view.Segments);
            var handle = snap.Segment.AcquireIndex(shard.Schema.IndexOf("vec"))!;
            try
            {
                var hits = new IndexHit[10];
                var n = handle.Index.Search(query, 10, new AnnSearchParams(Ef: 32), null, hits);
                var keys = snap.GetColumn(shard.Schema.IndexOf("id"));
                Assert.Equal(hits.Take(n).Select(h => (long)keys.GetValue(h.Row)!), result.Hits[0].Select(h => (long)h.Id));
                Assert.Equal(hits.Take(n).Select(h => h.Key), result.Hits[0].Select(h => h.Score));
            }
            finally
            {
                handle.Release();
            }
        }

        var rows = AllocatedPerCall(() => db.SearchAsync("c", request).GetAwaiter().GetResult());
        var columns = AllocatedPerCall(() => db.SearchColumnsAsync("c", request).GetAwaiter().GetResult());
        output.WriteLine($"SearchAsync {rows} bytes, SearchColumnsAsync {columns} bytes per search (k = 10, one HNSW segment)");
        Assert.True(rows <= SearchBudget, $"SearchAsync allocated {rows} bytes per search; at most {SearchBudget} expected");
        Assert.True(columns <= ColumnsBudget, $"SearchColumnsAsync allocated {columns} bytes per search; at most {ColumnsBudget} expected");
    }

    /// <summary>Bytes per <c>SearchAsync</c> of top-10 over one HNSW segment, the request built before.</summary>
    private const long SearchBudget = 5_000;

    /// <summary>Bytes per <c>SearchColumnsAsync</c> of top-10 over one HNSW segment.</summary>
    private const long ColumnsBudget = 2_600;

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vec", Dim, MetricType.L2)],
    };

    private static async Task IndexedCollectionAsync(QuiverEngine db)
    {
        await db.CreateCollectionAsync("c", Schema);
        var rng = new Random(3);
        var vectors = Enumerable.Range(0, Rows).Select(_ => TestData.Vector(rng, Dim)).ToArray();
        await db.InsertAsync("c", Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["tag"] = (long)(i % 7), ["vec"] = vectors[i] }).ToList());
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "100" } });
        await db.WaitForIndexAsync("c");
    }

    /// <summary>The least bytes one call allocated on this thread over several calls (after a warm-up), so that a
    /// one-off allocation (a pool growing, a method tiering up) is not counted.</summary>
    private static long AllocatedPerCall(Action call)
    {
        for (var i = 0; i < 50; i++)
        {
            call();
        }

        var least = long.MaxValue;
        for (var i = 0; i < 10; i++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            call();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
