using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>The bitmaps a sealed segment keeps of scanned filters (FilterBitmapCache) held against the engine's memory
/// budget as <c>FilterCacheBytes</c>: each bitmap at its exact bytes (the object, 32, and its words, 24 + 8 a word),
/// at most two per filter (its rows, and those AND the live rows after a delete) and four filters per segment, given
/// back when a filter is evicted or the collection goes; past the budget nothing is kept and the rows are the same.</summary>
public sealed class MemoryBudgetFilterCacheTests : IDisposable
{
    private const int Rows = 2_000;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>One bitmap over the segment's 2,000 rows: 32 words.</summary>
    private const long BitmapBytes = 32 + 24 + (8 * ((Rows + 63) / 64));

    private static long N(int i) => (i * 37) % 101;

    /// <summary>Filters no scalar index answers (arithmetic on the column): each is scanned.</summary>
    private static readonly (string Text, Func<long, bool> Keep)[] Filters =
    [
        ("n % 7 == 3", n => n % 7 == 3), ("n % 5 == 1", n => n % 5 == 1), ("n % 3 == 0", n => n % 3 == 0),
        ("n % 11 == 2", n => n % 11 == 2), ("n % 13 == 4", n => n % 13 == 4),
    ];

    private async Task CreateAsync()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int64), FieldSchema.Vector("vec", 2, MetricType.L2)],
        });
        await db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["n"] = N(i), ["vec"] = new float[] { i, 1 } })]);
        await db.FlushAsync("c");
    }

    private static async Task AssertRowsAsync(QuiverEngine db, int filter, ISet<long> deleted)
    {
        var (text, keep) = Filters[filter];
        SortedSet<long> expected = [.. Enumerable.Range(0, Rows).Where(i => keep(N(i)) && !deleted.Contains(i)).Select(i => (long)i)];
        SortedSet<long> actual = [.. (await db.QueryAsync("c", new QueryRequest { Filter = text, OutputFields = ["id"] })).Select(r => (long)r["id"]!)];
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task FilterBitmaps_AreHeldAgainstTheBudget_AtTheirBytes_AndGivenBackWhenEvictedOrDropped()
    {
        await CreateAsync();
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var deleted = new HashSet<long>();
        Assert.Equal(0, db.GetMemoryUsage().FilterCacheBytes);

        // A scanned filter keeps its rows: one bitmap; read again, nothing more.
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);

        // After a delete the filter's rows AND the live rows are kept beside them; a second delete replaces that bitmap.
        await db.DeleteAsync("c", [3L]);
        deleted.Add(3);
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(2 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        await db.DeleteAsync("c", [10L]);
        deleted.Add(10);
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(2 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);

        // Four filters, two bitmaps each; a fifth evicts the least recently used and its two bitmaps go with it.
        for (var f = 1; f < 4; f++)
        {
            await AssertRowsAsync(db, f, deleted);
        }

        Assert.Equal(8 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        await AssertRowsAsync(db, 4, deleted);
        Assert.Equal(8 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        Assert.Equal(db.GetMemoryUsage().UsedBytes, db.GetMemoryUsage().DeleteMarkBytes + (8 * BitmapBytes));

        await db.DropCollectionAsync("c");
        Assert.Equal(0, db.GetMemoryUsage().FilterCacheBytes);
    }

    [Fact]
    public async Task FilterBitmap_PastTheBudget_IsNotKept_AndTheRowsAreTheSame()
    {
        await CreateAsync();

        // Room for the filter's rows, not for their AND with the live rows after a delete (a delete mark is 44 bytes).
        var budget = 44 + BitmapBytes + BitmapBytes - 1;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget });
        var deleted = new HashSet<long>();
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        await db.DeleteAsync("c", [3L]);
        deleted.Add(3);
        for (var round = 0; round < 2; round++)
        {
            await AssertRowsAsync(db, 0, deleted);
            Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        }

        // A second filter evicts nothing it could not replace: the first's bitmap goes only when the cache is full, so
        // the second's rows do not fit and are not kept.
        await AssertRowsAsync(db, 1, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        Assert.True(db.Memory.PeakUsedBytes <= budget);
    }

    /// <summary>A delete by filter counts and applies through the collection's plan cache: the segment keeps one bitmap
    /// for a filter that a query scanned before (two when the apply bound a plan of its own).</summary>
    [Fact]
    public async Task DeleteByFilter_TakesTheQuerysBitmap_NotASecondOne()
    {
        await CreateAsync();
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        var deleted = new HashSet<long>();
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);

        var (text, keep) = Filters[0];
        var result = await db.DeleteWhereAsync("c", text);
        deleted.UnionWith(Enumerable.Range(0, Rows).Where(i => keep(N(i))).Select(i => (long)i));
        Assert.Equal(deleted.Count, result.Count);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);

        // A second delete by the same text finds the same bitmap again, and keeps beside it its AND with the live rows.
        Assert.Equal(0, (await db.DeleteWhereAsync("c", text)).Count);
        Assert.Equal(2 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        await AssertRowsAsync(db, 0, deleted);
        await AssertRowsAsync(db, 1, deleted);
    }

    /// <summary>A scalar index larger than the room the budget has even without the filter caches is refused with the
    /// caches kept: dropping them would not have made it fit.</summary>
    [Fact]
    public async Task ScalarIndex_ThatCannotFitEvenWithoutTheCaches_LeavesThemKept()
    {
        await CreateAsync();

        // Room for three filter bitmaps; the sorted index of `n` (2,000 rows) takes far more.
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = 3 * BitmapBytes });
        var deleted = new HashSet<long>();
        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);

        // `n == 5` would be answered from the sorted index; refused, it is scanned, and its bitmap is kept beside the first.
        SortedSet<long> expected = [.. Enumerable.Range(0, Rows).Where(i => N(i) == 5).Select(i => (long)i)];
        for (var round = 0; round < 2; round++)
        {
            SortedSet<long> actual = [.. (await db.QueryAsync("c", new QueryRequest { Filter = "n == 5", OutputFields = ["id"] })).Select(r => (long)r["id"]!)];
            Assert.Equal(expected, actual);
            Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
            Assert.Equal(2 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        }

        await AssertRowsAsync(db, 0, deleted);
        Assert.Equal(2 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
    }

    /// <summary>With the cache full, a new filter's bitmap replaces the least recently used one only if it fits in its
    /// place; when it does not (here the rest of the budget is held by a charge the test makes, standing for other work
    /// admitted meanwhile), the kept bitmap stays and the read uses its own once.</summary>
    [Fact]
    public async Task NewBitmap_ThatDoesNotFit_DoesNotEvictAKeptOne()
    {
        await CreateAsync();
        var budget = 1L << 20;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget });
        var deleted = new HashSet<long>();
        for (var f = 0; f < 4; f++)
        {
            await AssertRowsAsync(db, f, deleted);
        }

        Assert.Equal(4 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        db.Memory.AddIndex(budget);
        try
        {
            await AssertRowsAsync(db, 4, deleted);
            Assert.Equal(4 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        }
        finally
        {
            db.Memory.AddIndex(-budget);
        }

        // With the room back, the fifth filter takes the least recently used one's place.
        await AssertRowsAsync(db, 4, deleted);
        Assert.Equal(4 * BitmapBytes, db.GetMemoryUsage().FilterCacheBytes);
        Assert.Equal(4 * BitmapBytes, db.GetMemoryUsage().UsedBytes);
    }
}
