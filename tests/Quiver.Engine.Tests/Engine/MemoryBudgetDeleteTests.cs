using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Deletes within the memory budget: a delete whose marks would pass it is refused whole with the quota error
/// (nothing deleted, nothing logged), deletes that mark nothing always pass, growing rows are sealed first when that makes
/// room, and with writers and deleters racing near the budget what is held never passes it. The model: held = growing
/// rows + 44 bytes a mark; a delete of M new marks fits when held + M × 44 stays within the budget.</summary>
public sealed class MemoryBudgetDeleteTests : IDisposable
{
    private const int Dim = 4;

    /// <summary>Bytes one row of <see cref="Schema"/> is counted at while growing: the key, the vector, the timestamp.</summary>
    private const long RowBytes = 8 + (Dim * 4) + 8;

    private const long Mark = Segment.DeleteMarkBytes;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
    };

    private static List<Row> Rows(long first, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Row { ["id"] = first + i, ["vec"] = new float[] { first + i, 1, 2, 3 } })];

    private static async Task<SortedSet<long>> StoredIdsAsync(QuiverEngine db, string name)
    {
        var rows = await db.QueryAsync(name, new QueryRequest { Filter = "id >= 0", OutputFields = ["id"] });
        return [.. rows.Select(r => (long)r["id"]!)];
    }

    [Fact]
    public async Task Delete_WhoseMarksWouldPassTheBudget_IsRefusedWhole_AndDeletesMarkingNothingPass()
    {
        // Room for exactly ten marks (and 20 bytes) beside nothing else held: the rows are sealed to disk.
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = (10 * Mark) + 20 };
        var stored = new SortedSet<long>(Enumerable.Range(0, 100).Select(i => (long)i));
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", Schema());
            for (var first = 0; first < 100; first += 10)
            {
                await db.InsertAsync("c", Rows(first, 10));
                await db.FlushAsync("c");
            }

            Assert.Equal(0, db.GetMemoryUsage().UsedBytes);

            // Seven keys, three of them absent: seven fit by the cheap bound.
            Assert.Equal(4, (await db.DeleteAsync("c", [0L, 1L, 2L, 3L, 500L, 501L, 502L])).Count);
            stored.ExceptWith([0, 1, 2, 3]);
            Assert.Equal(4 * Mark, db.GetMemoryUsage().DeleteMarkBytes);

            // Twelve keys named, but only six with a live row (the others deleted or absent): six marks fit exactly.
            Assert.Equal(6, (await db.DeleteAsync("c", [0L, 1L, 2L, 3L, 600L, 601L, 10L, 11L, 12L, 13L, 14L, 15L])).Count);
            stored.ExceptWith([10, 11, 12, 13, 14, 15]);
            Assert.Equal(10 * Mark, db.GetMemoryUsage().DeleteMarkBytes);

            // One more mark would pass the budget: refused with the quota error, nothing deleted.
            var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.DeleteAsync("c", [50L, 700L]));
            Assert.Equal(QuiverErrorCode.Capacity, refused.Code);
            Assert.Equal(
                "memory quota exceeded, please allocate more resources: delete of 2 primary keys (1 with a live row or rows of writes in flight: 44 bytes of delete marks) from collection 'c' refused, nothing deleted: the engine holds 440 bytes (growing rows 0, in-memory indexes 0, delete marks 440, merges 0, reserved by writes in flight and index builds 0) of its memory budget of 460 bytes after sealing its growing segments; compact deleted rows away (a merge drops their marks), drop an index or a collection, delete fewer rows at a time, or raise MemoryBudgetBytes",
                refused.Message);
            Assert.Equal(Mark, refused.RequestedBytes);
            Assert.Equal(440, refused.UsedBytes);

            var byFilter = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.DeleteWhereAsync("c", "id >= 98"));
            Assert.StartsWith("memory quota exceeded, please allocate more resources: delete by filter 'id >= 98' (2 rows matching it or rows of writes in flight: 88 bytes of delete marks) from collection 'c' refused, nothing deleted: ", byFilter.Message, StringComparison.Ordinal);

            // Deletes that mark nothing pass: absent keys, rows already deleted, a filter matching no live row.
            Assert.Equal(0, (await db.DeleteAsync("c", [800L, 801L, 0L])).Count);
            Assert.Equal(0, (await db.DeleteWhereAsync("c", "id < 4 or id > 1000")).Count);

            Assert.Equal(stored, await StoredIdsAsync(db, "c"));
            Assert.Equal(10 * Mark, db.GetMemoryUsage().DeleteMarkBytes);
            Assert.Equal(0, db.GetMemoryUsage().ReservedBytes);
            Assert.True(db.Memory.PeakUsedBytes <= options.MemoryBudgetBytes);
        }

        // Nothing refused was logged: a reopen with room replays exactly the accepted deletes.
        await using var again = await QuiverEngine.OpenAsync(_dir.Path, options with { MemoryBudgetBytes = 1 << 20 });
        Assert.Equal(stored, await StoredIdsAsync(again, "c"));
        Assert.Equal(10 * Mark, again.GetMemoryUsage().DeleteMarkBytes);
    }

    [Fact]
    public async Task Delete_ThatFitsOnlyOnceGrowingRowsAreSealed_SealsThemFirst_AndIsApplied()
    {
        // 15 growing rows take 480 bytes of a 600-byte budget; five marks (220 bytes) fit only after the rows are sealed.
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = 600 };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c", Rows(0, 15));
        Assert.Equal(15 * RowBytes, db.GetMemoryUsage().GrowingBytes);

        Assert.Equal(5, (await db.DeleteWhereAsync("c", "id < 5")).Count);
        // The filter, on the segment now sealed, built its sorted index of id (15 longs and rows, three arrays), and its
        // rows were kept as a bitmap of one word (64 bytes) once: the count before the marks were reserved and the apply
        // take the same plan from the collection's plan cache. The next write needs the cache's room and drops it.
        Assert.Equal(new EngineMemoryUsage(600, 0, 0, 0) { DeleteMarkBytes = 5 * Mark, ScalarIndexBytes = 72 + (15 * 12), FilterCacheBytes = 64 }, db.GetMemoryUsage());
        Assert.Equal(new SortedSet<long>(Enumerable.Range(5, 10).Select(i => (long)i)), await StoredIdsAsync(db, "c"));

        // Two more marks (88 bytes) fit only without the cached bitmaps: the delete drops them and is applied.
        Assert.Equal(2, (await db.DeleteAsync("c", [5L, 6L])).Count);
        Assert.Equal(new EngineMemoryUsage(600, 0, 0, 0) { DeleteMarkBytes = 7 * Mark, ScalarIndexBytes = 72 + (15 * 12) }, db.GetMemoryUsage());

        // Eight more marks would take 660 bytes in all: refused, sealing cannot help.
        await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.DeleteAsync("c", [.. Enumerable.Range(7, 8).Select(i => (long)i)]));
        Assert.Equal(8, (await StoredIdsAsync(db, "c")).Count);
        Assert.True(db.Memory.PeakUsedBytes <= options.MemoryBudgetBytes);
    }

    [Fact]
    public async Task WritersAndDeleters_RacingNearTheBudget_NeverPassIt_AndEveryRefusalIsTheQuotaError()
    {
        // 800 rows are sealed first; then two writers add 10-row batches of new keys while two deleters delete six of the
        // sealed rows at a time, by key and by filter. The budget holds about 110 rows or 80 marks and the deletes would
        // mark 480 rows, so deletes are refused on the way. Whatever interleaving
        // the machine gives, what is held never passes the budget, every refusal is the quota error, and the stored rows
        // are exactly the accepted inserts less the accepted deletes' rows.
        const long budget = 3600;
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", Schema());
        var inserted = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
        foreach (var first in new[] { 0, 100, 200, 300, 100_000, 100_100, 100_200, 100_300 })
        {
            await db.InsertAsync("c", Rows(first, 100));
            await db.FlushAsync("c");
            foreach (var id in Enumerable.Range(first, 100))
            {
                inserted[id] = true;
            }
        }

        var refusals = 0;

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < 40; b++)
            {
                var first = ((w + 2) * 100_000) + (b * 10);
                try
                {
                    await db.InsertAsync("c", Rows(first, 10));
                    foreach (var id in Enumerable.Range(first, 10))
                    {
                        inserted[id] = true;
                    }
                }
                catch (MemoryQuotaExceededException)
                {
                    Interlocked.Increment(ref refusals);
                }
            }
        }));
        var deleters = Enumerable.Range(0, 2).Select(d => Task.Run(async () =>
        {
            for (var b = 0; b < 40; b++)
            {
                try
                {
                    if (d == 0)
                    {
                        await db.DeleteAsync("c", [.. Enumerable.Range(b * 10, 6).Select(i => (long)i)]);
                    }
                    else
                    {
                        await db.DeleteWhereAsync("c", $"id >= {100_000 + (b * 10)} and id < {100_000 + (b * 10) + 6}");
                    }
                }
                catch (MemoryQuotaExceededException)
                {
                    Interlocked.Increment(ref refusals);
                }
            }
        }));
        await Task.WhenAll(writers.Concat(deleters));

        Assert.True(db.Memory.PeakUsedBytes <= budget, $"peak {db.Memory.PeakUsedBytes} of {budget}");
        Assert.True(refusals > 0, "the budget refused nothing: the case does not test it");
        var stored = await StoredIdsAsync(db, "c");
        Assert.Subset(new SortedSet<long>(inserted.Keys), stored);
        Assert.Equal(stored.Count + (db.GetMemoryUsage().DeleteMarkBytes / Mark), inserted.Count);
        Assert.Equal(0, db.GetMemoryUsage().ReservedBytes);
    }
}
