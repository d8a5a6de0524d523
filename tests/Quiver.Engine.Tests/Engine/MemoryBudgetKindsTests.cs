using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>The memory budget beyond growing rows: delete marks counted exactly (kept by sealed segments, dropped by a
/// merge, back after a reopen), index builds and loads that would pass the budget deferred with a named refusal, merges
/// that would pass it refused, and several writers near the budget refused only where the model allows (never early)
/// while the held memory never passes it. Background maintenance is off unless said.</summary>
public sealed class MemoryBudgetKindsTests : IDisposable
{
    private const int Dim = 16;

    /// <summary>Bytes one row of <see cref="Schema"/> is counted at: the Int64 key, <see cref="Dim"/> floats, the insert
    /// timestamp.</summary>
    private const long RowBytes = 8 + (Dim * 4) + 8;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema(int dim = Dim) => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", dim, MetricType.L2)],
    };

    private static float[] Vector(long id, int dim = Dim) => [.. Enumerable.Range(0, dim).Select(d => (float)Math.Sin((id * 31) + d))];

    private static List<Row> Rows(long first, int count, int dim = Dim) =>
        [.. Enumerable.Range(0, count).Select(i => new Row { ["id"] = first + i, ["vec"] = Vector(first + i, dim) })];

    private static async Task<SortedSet<long>> StoredIdsAsync(QuiverEngine db, string name)
    {
        var rows = await db.QueryAsync(name, new QueryRequest { Filter = "id >= 0", OutputFields = ["id"] });
        return [.. rows.Select(r => (long)r["id"]!)];
    }

    private static readonly IndexDefinition Hnsw = new() { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "40" } };

    [Fact]
    public async Task DeleteMarks_AreCountedPerMark_KeptBySealedSegments_DroppedByAMerge_AndBackAfterAReopen()
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, CompactionIdleDelay = TimeSpan.Zero };
        long marks = 0;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", Rows(0, 400));
            await db.FlushAsync("c");
            await db.InsertAsync("c", Rows(400, 400));

            // Deletes of present keys (sealed and growing rows) mark one row each; absent keys and rows already deleted
            // mark nothing.
            await db.DeleteAsync("c", [.. Enumerable.Range(0, 30).Select(i => (long)i * 20)]);
            marks += 30 * Segment.DeleteMarkBytes;
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);
            await db.DeleteAsync("c", [0L, 20L, 5000L, 5001L]);
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);
            await db.DeleteWhereAsync("c", "id >= 780");
            marks += 20 * Segment.DeleteMarkBytes;
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);

            // An upsert of an existing key marks its old row; of a new key, nothing.
            await db.UpsertAsync("c", Rows(101, 10));
            await db.UpsertAsync("c", Rows(900, 5));
            marks += 10 * Segment.DeleteMarkBytes;
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);

            // Sealing keeps the marks in memory (the sealed segment answers with them); beside them only the scalar index
            // the delete filter built on the sealed segment.
            await db.FlushAsync("c");
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);
            Assert.Equal(marks + db.GetMemoryUsage().ScalarIndexBytes, db.GetMemoryUsage().UsedBytes);
        }

        // The delete files and the WAL bring every mark back.
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            Assert.Equal(marks, db.GetMemoryUsage().DeleteMarkBytes);

            // A merge drops the deleted rows with their marks; nothing of the merge stays held.
            Assert.True(await db.CompactAsync("c") > 0);
            Assert.Equal(0, db.GetMemoryUsage().DeleteMarkBytes);
            Assert.Equal(0, db.GetMemoryUsage().MergeBytes);
            Assert.True(db.Memory.PeakUsedBytes > marks, "the merge's rows were counted while it wrote them");

            await db.DeleteAsync("c", [1L, 2L]);
            Assert.Equal(2 * Segment.DeleteMarkBytes, db.GetMemoryUsage().DeleteMarkBytes);
            await db.DropCollectionAsync("c");
            Assert.Equal(new EngineMemoryUsage(options.MemoryBudgetBytes, 0, 0, 0), db.GetMemoryUsage());
        }
    }

    [Fact]
    public async Task Merge_ThatWouldPassTheBudget_IsRefused_AndChangesNothing()
    {
        var roomy = new QuiverOptions { BackgroundMaintenance = false, CompactionIdleDelay = TimeSpan.Zero };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, roomy))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", Rows(0, 300));
            await db.FlushAsync("c");
            await db.InsertAsync("c", Rows(300, 300));
            await db.FlushAsync("c");
            await db.DeleteWhereAsync("c", "id < 50");
        }

        // Room for the 50 marks and 1,000 bytes more: the merge gathers 550 rows (over 40 kB) and cannot start.
        var tight = roomy with { MemoryBudgetBytes = (50 * Segment.DeleteMarkBytes) + 1000 };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, tight))
        {
            var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.CompactAsync("c"));
            Assert.Equal(QuiverErrorCode.Capacity, refused.Code);
            Assert.StartsWith("memory quota exceeded, please allocate more resources: merge of 2 segments of collection 'c' (", refused.Message, StringComparison.Ordinal);
            // The replayed delete's filter kept its rows in both segments (300 rows: five words, 96 bytes each; the sorted
            // index of id did not fit): those bitmaps stay, as dropping them could not have made room for the merge.
            Assert.Contains("bytes of rows in memory) deferred: the engine holds 2392 bytes (growing rows 0, in-memory indexes 192, delete marks 2200, merges 0, reserved by writes in flight and index builds 0) of its memory budget of 3200 bytes", refused.Message, StringComparison.Ordinal);
            Assert.True(refused.RequestedBytes > 550 * RowBytes, $"merge counted at {refused.RequestedBytes} bytes");
            Assert.Equal(2, (await db.DescribeCollectionAsync("c")).SealedSegments);
            Assert.Equal(new SortedSet<long>(Enumerable.Range(50, 550).Select(i => (long)i)), await StoredIdsAsync(db, "c"));
            // Beside the marks, the replayed delete's two bitmaps and those the query's filter kept: its rows in both
            // segments, and in the one with deletes those AND its live rows.
            Assert.Equal(new EngineMemoryUsage(tight.MemoryBudgetBytes, 0, 0, 0) { DeleteMarkBytes = 2200, FilterCacheBytes = (2 + 3) * 96 }, db.GetMemoryUsage());
            Assert.True(db.Memory.PeakUsedBytes <= tight.MemoryBudgetBytes);
        }
    }

    /// <summary>The exact k nearest ids by L2 over <paramref name="ids"/>.</summary>
    private static List<long> BruteForce(IEnumerable<long> ids, float[] query, int k) =>
        [.. ids.Select(id => (id, d: Quiver.Distance.VectorMath.L2Squared(Vector(id), query))).OrderBy(p => p.d).ThenBy(p => p.id).Take(k).Select(p => p.id)];

    [Fact]
    public async Task IndexLoad_AndIndexBuild_ThatWouldPassTheBudget_AreDeferred_WithANamedRefusal_AndSearchesStayExact()
    {
        // The index's bytes once built, with room to spare.
        long indexBytes;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", Rows(0, 3000));
            await db.CreateIndexAsync("c", Hnsw);
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
            indexBytes = (await db.DescribeIndexesAsync("c")).Sum(i => i.MemoryBytes);
            Assert.Equal(indexBytes, db.GetMemoryUsage().IndexBytes);
        }

        // One byte short: the index file is loaded, does not fit, and is not attached.
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = indexBytes - 1 };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            var failed = await Assert.ThrowsAsync<QuiverException>(() => db.WaitForIndexAsync("c"));
            Assert.Equal(QuiverErrorCode.Capacity, failed.Code);
            var info = Assert.Single(await db.DescribeIndexesAsync("c"));
            Assert.Equal(IndexState.Failed, info.State);
            Assert.Matches(
                $"^segment \\d+: memory quota exceeded, please allocate more resources: index '{info.IndexName}' of collection 'c' \\({indexBytes} bytes in memory for segment \\d+\\) not loaded from its file: the engine holds 0 bytes \\(.*\\) of its memory budget of {indexBytes - 1} bytes; the build waits and is retried by background maintenance",
                info.FailReason);
            Assert.Equal(0, info.MemoryBytes);
            Assert.Equal(new EngineMemoryUsage(indexBytes - 1, 0, 0, 0), db.GetMemoryUsage());
            Assert.True(db.Memory.PeakUsedBytes <= options.MemoryBudgetBytes);

            // Searches answer without the index: exactly.
            var query = Vector(123_456);
            var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 10 })).Hits[0];
            Assert.Equal(BruteForce(Enumerable.Range(0, 3000).Select(i => (long)i), query, 10), hits.Select(h => (long)h.Id));
        }

        // A collection whose rows fit but whose index build would not: the build is refused before it starts.
        var estimate = IndexMemory.Estimate(IndexKind.Hnsw, MetricType.L2, new IndexParameters(Hnsw.Params), 3000, Dim);
        var buildBudget = (3000 * RowBytes) + 1000;
        Assert.True(estimate > buildBudget, $"estimate {estimate}");
        using var other = new TempFolder();
        await using (var db = await QuiverEngine.OpenAsync(other.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = buildBudget }))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.CreateIndexAsync("c", Hnsw);
            await db.InsertAsync("c", Rows(0, 3000));
            await db.FlushAsync("c");
            var failed = await Assert.ThrowsAsync<QuiverException>(() => db.WaitForIndexAsync("c"));
            Assert.Equal(QuiverErrorCode.Capacity, failed.Code);
            Assert.Contains($"({estimate} bytes in memory for segment ", failed.Message, StringComparison.Ordinal);
            Assert.Contains(") not built: ", failed.Message, StringComparison.Ordinal);
            Assert.Equal(0, db.GetIndexStatistics("c").Built);
            Assert.Equal(new EngineMemoryUsage(buildBudget, 0, 0, 0), db.GetMemoryUsage());
            Assert.True(db.Memory.PeakUsedBytes <= buildBudget);

            // Writes still have the room the index did not take.
            await db.InsertAsync("c", Rows(3000, 12));
            var query = Vector(-7);
            var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 5 })).Hits[0];
            Assert.Equal(BruteForce(Enumerable.Range(0, 3012).Select(i => (long)i), query, 5), hits.Select(h => (long)h.Id));
        }

        // With room, the deferred build runs.
        await using (var db = await QuiverEngine.OpenAsync(other.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.WaitForIndexAsync("c");
            Assert.True(db.GetMemoryUsage().IndexBytes > 0);
        }
    }

    [Fact]
    public async Task ConcurrentWriters_NearTheBudget_AreRefusedOnlyWhereTheModelAllows_AndNeverPassIt()
    {
        // Four writers on two collections, batches of 1..60 rows (at most 2,880 bytes), a budget of 10,000 bytes. What
        // sealing cannot free is at most the other three writers' batches in flight (no index, no delete, no merge), so a
        // batch of B bytes may be refused only when B + 3 x 2,880 > 10,000: batches of 28 rows or fewer never are.
        const int writers = 4;
        const int maxRows = 60;
        const long budget = 10_000;
        const int batchesEach = 50;
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget };
        var accepted = new SortedSet<long>[2] { [], [] };
        var refusedRows = new List<int>();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("a", Schema(8));
            await db.CreateCollectionAsync("b", Schema(8));
            using var start = new Barrier(writers);
            var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var random = new Random(1313 + w);
                var name = w % 2 == 0 ? "a" : "b";
                start.SignalAndWait();
                for (var i = 0; i < batchesEach; i++)
                {
                    var n = random.Next(1, maxRows + 1);
                    var first = (w * 1_000_000L) + (i * 100L);
                    try
                    {
                        await db.InsertAsync(name, Rows(first, n, 8));
                        lock (accepted)
                        {
                            accepted[w % 2].UnionWith(Enumerable.Range(0, n).Select(r => first + r));
                        }
                    }
                    catch (MemoryQuotaExceededException refused)
                    {
                        Assert.Equal(n * 48L, refused.RequestedBytes);
                        lock (accepted)
                        {
                            refusedRows.Add(n);
                        }
                    }
                }
            })).ToArray();
            await Task.WhenAll(tasks);

            var early = refusedRows.Where(n => (n * 48L) + ((writers - 1) * maxRows * 48L) <= budget).ToList();
            Assert.True(early.Count == 0, $"refused early: batches of {string.Join(", ", early)} rows (all refusals: {string.Join(", ", refusedRows)})");
            Assert.True(db.Memory.PeakUsedBytes <= budget, $"held {db.Memory.PeakUsedBytes} bytes at the peak");
            Assert.Equal(accepted[0], await StoredIdsAsync(db, "a"));
            Assert.Equal(accepted[1], await StoredIdsAsync(db, "b"));
            Assert.Equal(0, db.GetMemoryUsage().ReservedBytes);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            Assert.Equal(accepted[0], await StoredIdsAsync(db, "a"));
            Assert.Equal(accepted[1], await StoredIdsAsync(db, "b"));
        }
    }
}
