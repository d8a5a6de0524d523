using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>The engine's memory budget (<see cref="QuiverOptions.MemoryBudgetBytes"/>): growing rows and in-memory
/// indexes are counted exactly, a write past the budget first seals the growing segments and is refused whole only if
/// that does not make room, and the counts return to zero when the data goes. Background maintenance is off, so that
/// only the writes and the calls made here seal segments.</summary>
public sealed class MemoryBudgetTests : IDisposable
{
    /// <summary>Bytes one row of <see cref="Schema"/> is counted at: the Int64 key, 8 floats, the insert timestamp.</summary>
    private const long RowBytes = 8 + (8 * 4) + 8;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema(int dim = 8) => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", dim, MetricType.L2)],
    };

    private static List<Row> Rows(long first, int count, int dim = 8) =>
        [.. Enumerable.Range(0, count).Select(i => new Row
        {
            ["id"] = first + i,
            ["vec"] = Enumerable.Range(0, dim).Select(d => (float)Math.Sin(((first + i) * 31) + d)).ToArray(),
        })];

    private static async Task<SortedSet<long>> StoredIdsAsync(QuiverEngine db, string name)
    {
        var rows = await db.QueryAsync(name, new QueryRequest { Filter = "id >= 0", OutputFields = ["id"] });
        return [.. rows.Select(r => (long)r["id"]!)];
    }

    [Fact]
    public async Task Writes_PastTheBudget_SealFirst_ThenAreRefusedWhole_ExactlyAsTheModelSays()
    {
        const long budget = 100 * RowBytes;
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget };
        var random = new Random(1301);
        var accepted = new SortedSet<long>();
        long growing = 0, marks = 0, nextId = 0;
        int seals = 0, refusals = 0, acceptedAfterSeal = 0;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", Schema());
            for (var step = 0; step < 80; step++)
            {
                if (step % 9 == 8 && accepted.Count > 0)
                {
                    // Deletes are never refused, and leave the growing rows (and their bytes) where they are; each adds a
                    // delete mark, which stays in memory (no merge runs here) and takes room from later writes.
                    var victim = accepted.ElementAt(random.Next(accepted.Count));
                    await db.DeleteAsync("c", [victim]);
                    accepted.Remove(victim);
                    marks += Segment.DeleteMarkBytes;
                    Assert.Equal(growing, db.GetMemoryUsage().GrowingBytes);
                    Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);
                    continue;
                }

                var n = random.Next(1, 131);
                var bytes = n * RowBytes;
                var sealsNow = false;
                if (growing + marks + bytes > budget && growing > 0)
                {
                    growing = 0;
                    seals++;
                    sealsNow = true;
                }

                var fits = growing + marks + bytes <= budget;
                if (fits)
                {
                    await db.InsertAsync("c", Rows(nextId, n));
                    accepted.UnionWith(Enumerable.Range(0, n).Select(i => nextId + i));
                    growing += bytes;
                    acceptedAfterSeal += sealsNow ? 1 : 0;
                }
                else
                {
                    var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.InsertAsync("c", Rows(nextId, n)));
                    Assert.Equal(QuiverErrorCode.Capacity, refused.Code);
                    Assert.Equal(bytes, refused.RequestedBytes);
                    Assert.Equal(budget, refused.BudgetBytes);
                    refusals++;
                }

                nextId += n;
                var usage = db.GetMemoryUsage();
                Assert.Equal(growing, usage.GrowingBytes);
                Assert.Equal(marks, usage.DeleteMarkBytes);
                Assert.Equal(0, usage.IndexBytes);
                Assert.Equal(0, usage.ReservedBytes);
                Assert.Equal(0, usage.MergeBytes);
                Assert.Equal(seals, (await db.DescribeCollectionAsync("c")).SealedSegments);
            }

            // The run went through every branch: seals that made room, and batches refused even after one.
            Assert.True(acceptedAfterSeal > 0 && refusals > 0, $"accepted after a seal {acceptedAfterSeal}, refused {refusals}");
            Assert.Equal(accepted, await StoredIdsAsync(db, "c"));
        }

        // Refused batches were never logged: a reopen replays exactly the accepted rows since the last seal, and the
        // delete marks come back from the delete files and the WAL.
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            Assert.Equal(accepted, await StoredIdsAsync(db, "c"));
            Assert.Equal(growing, db.GetMemoryUsage().GrowingBytes);
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);
        }
    }

    [Fact]
    public async Task RefusedBatch_StoresNothing_AndSaysWhatTheEngineHolds()
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = 10 * RowBytes };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", Rows(0, 4));
            var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.InsertAsync("c", Rows(100, 11)));
            Assert.Equal(
                "memory quota exceeded, please allocate more resources: insert of 11 rows (528 bytes in memory) into collection 'c' refused, nothing written: " +
                "the engine holds 0 bytes (growing rows 0, in-memory indexes 0, delete marks 0, merges 0, reserved by writes in flight and index builds 0) " +
                "of its memory budget of 480 bytes after sealing its growing segments; write smaller batches, drop an index or a collection, compact " +
                "deleted rows away, or raise MemoryBudgetBytes",
                refused.Message);

            // The 4 rows before it were sealed on the way (the write tried to make room); none of the 11 is anywhere.
            Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
            Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), await StoredIdsAsync(db, "c"));
            Assert.Empty(await db.GetAsync("c", [100L, 105L, 110L]));

            // An upsert is measured the same way; a refused one does not delete the rows it would have replaced.
            await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.UpsertAsync("c", Rows(0, 11)));
            Assert.Equal(4, (await db.GetAsync("c", [0L, 1L, 2L, 3L])).Count);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)i), await StoredIdsAsync(db, "c"));
        }
    }

    [Fact]
    public async Task Writes_SealEveryCollection_WhenOneRunsShort()
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = 10 * RowBytes };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("a", Schema());
        await db.CreateCollectionAsync("b", Schema());
        await db.InsertAsync("a", Rows(0, 6));
        await db.InsertAsync("b", Rows(0, 4));
        Assert.Equal(10 * RowBytes, db.GetMemoryUsage().GrowingBytes);

        // b's write does not fit beside a's rows: both collections are sealed, then it fits.
        await db.InsertAsync("b", Rows(4, 5));
        Assert.Equal(5 * RowBytes, db.GetMemoryUsage().GrowingBytes);
        Assert.Equal(1, (await db.DescribeCollectionAsync("a")).SealedSegments);
        Assert.Equal(1, (await db.DescribeCollectionAsync("b")).SealedSegments);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), await StoredIdsAsync(db, "b"));
    }

    /// <summary>The index bytes the engine's progress reports add up to (each attached index's MemoryBytes, read from the
    /// segments, not from the ledger).</summary>
    private static async Task<long> ReportedIndexBytesAsync(QuiverEngine db, params string[] collections)
    {
        long sum = 0;
        foreach (var name in collections)
        {
            sum += (await db.DescribeIndexesAsync(name)).Sum(i => i.MemoryBytes);
        }

        return sum;
    }

    private static readonly IndexDefinition Hnsw = new() { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "40" } };

    [Fact]
    public async Task IndexBytes_CountAgainstTheBudget()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema(16));
            await db.InsertAsync("c", Rows(0, 3000, 16));
            await db.CreateIndexAsync("c", Hnsw);
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
        }

        // What the index takes once loaded from its file, as the engine reports it.
        long indexBytes;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.WaitForIndexAsync("c");
            indexBytes = await ReportedIndexBytesAsync(db, "c");
            Assert.True(indexBytes > 0);
            Assert.Equal(indexBytes, db.GetMemoryUsage().IndexBytes);
        }

        // Room for the index and 100 bytes: two rows (96 bytes) fit, three do not, with or without a seal.
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = indexBytes + 100 };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.WaitForIndexAsync("c");
            Assert.Equal(indexBytes, db.GetMemoryUsage().IndexBytes);
            var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.InsertAsync("c", Rows(5000, 3, 16)));
            Assert.Contains($"in-memory indexes {indexBytes},", refused.Message, StringComparison.Ordinal);
            await db.InsertAsync("c", Rows(5000, 1, 16));
            await db.InsertAsync("c", Rows(5001, 1, 16));
            Assert.Equal(3002L, (await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]);
        }
    }

    [Fact]
    public async Task Accounting_FollowsEveryChange_AndReturnsToZero()
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, CompactionIdleDelay = TimeSpan.Zero };
        const int dim = 16;
        const long rowBytes = 8 + (dim * 4) + 8;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", Schema(dim));
        await db.CreateCollectionAsync("other", Schema(dim));
        await db.CreatePartitionAsync("c", "p");
        await db.CreateIndexAsync("c", Hnsw);

        async Task Check(long growingRows)
        {
            await db.WaitForIndexAsync("c");
            var usage = db.GetMemoryUsage();
            Assert.Equal(growingRows * rowBytes, usage.GrowingBytes);
            Assert.Equal(await ReportedIndexBytesAsync(db, "c"), usage.IndexBytes);
            Assert.Equal(0, usage.ReservedBytes);
        }

        for (var cycle = 0; cycle < 2; cycle++)
        {
            var b = cycle * 100_000L;
            await db.InsertAsync("c", Rows(b, 700, dim));
            await db.InsertAsync("other", Rows(b, 50, dim));
            await Check(750);
            await db.DeleteAsync("c", [b, b + 1, b + 2]);
            await db.UpsertAsync("c", Rows(b + 10, 20, dim));
            await Check(770);
            await db.FlushAsync("c");
            await Check(50);
            await db.InsertAsync("c", Rows(b + 1000, 600, dim));
            await db.InsertAsync("c", Rows(b + 2000, 30, dim), partition: "p");
            await db.FlushAsync("c");
            await db.InsertAsync("c", Rows(b + 3000, 600, dim));
            await db.FlushAsync("c");
            await Check(50);
            Assert.True(db.GetMemoryUsage().IndexBytes > 0);

            // Merging the sealed segments swaps their indexes for the merged segment's.
            await db.DeleteWhereAsync("c", "id < " + (b + 500));
            Assert.True(await db.CompactAsync("c") > 0);
            await Check(50);

            // Growing rows of a dropped partition leave with it.
            await db.InsertAsync("c", Rows(b + 4000, 40, dim), partition: "p");
            await Check(90);
            await db.DropPartitionAsync("c", "p");
            await Check(50);
            await db.CreatePartitionAsync("c", "p");

            // Dropping the index frees its bytes; creating it again brings them back.
            await db.DropIndexAsync("c");
            Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
            await db.CreateIndexAsync("c", Hnsw);
            await Check(50);
            await db.FlushAsync("other");
            await Check(0);
        }

        // Growing rows and indexes of a dropped collection: nothing left.
        await db.InsertAsync("c", Rows(900_000, 25, dim));
        await db.InsertAsync("other", Rows(900_000, 25, dim));
        await Check(50);
        await db.DropCollectionAsync("c");
        await db.DropCollectionAsync("other");
        Assert.Equal(new EngineMemoryUsage(db.Options.MemoryBudgetBytes, 0, 0, 0), db.GetMemoryUsage());
    }

    [Fact]
    public void Budget_DefaultsToThreeQuartersOfAvailableMemory_AndMustBePositive()
    {
        Assert.Equal((long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.75), new QuiverOptions().MemoryBudgetBytes);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new QuiverOptions { MemoryBudgetBytes = 0 }.Validate());
        Assert.Contains("QuiverOptions.MemoryBudgetBytes must be positive, got 0", bad.Message, StringComparison.Ordinal);
    }
}
