using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Approximate search through the engine against the exact oracle: every index type at filter selectivities
/// from 0.1% to 99% and unfiltered, after deleting 30% of the rows (unfiltered and filtered), across reopen, and with searches running while indexes are built,
/// dropped and compacted.</summary>
public sealed class AnnSearchTests : IDisposable
{
    private const int Dim = 16;
    private const int Rows = 16_000;
    private const int K = 10;
    private const int HeldOut = 40;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, string, string> Indexes => new()
    {
        { "HNSW", """{"M":16,"efConstruction":100}""", """{"ef":128}""" },
        { "IVF_FLAT", """{"nlist":64}""", """{"nprobe":12}""" },
        { "IVF_SQ8", """{"nlist":64}""", """{"nprobe":12}""" },
        { "IVF_PQ", """{"nlist":64,"m":8,"nbits":8}""", """{"nprobe":12,"refine_k":8}""" },
        { "ANNOY", """{"n_trees":16}""", """{"search_k":4000}""" },
        { "AUTOINDEX", "{}", "{}" },
    };

    private static CollectionSchema Schema => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("bucket", DataType.Int64),
            FieldSchema.Vector("vec", Dim, MetricType.L2),
        ],
    };

    private static Dictionary<string, string> Map(string json) =>
        new(Quiver.Indexing.IndexParameters.FromJson(json).Values);

    private async Task<(QuiverEngine Db, float[] Data)> SetupAsync(string type, string build, QuiverOptions? options = null)
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, options ?? new QuiverOptions { BackgroundMaintenance = false, SegmentMaxRows = Rows / 2 });
        await db.CreateCollectionAsync("c", Schema);
        // Held-out queries: the last rows of the same mixture, never inserted.
        var data = IndexTestKit.Clustered(17, Rows + HeldOut, Dim);
        var rng = new Random(3);
        var rows = new List<Row>(Rows);
        for (var i = 0; i < Rows; i++)
        {
            rows.Add(new Row { ["id"] = (long)i, ["bucket"] = (long)rng.Next(1000), ["vec"] = data.AsSpan(i * Dim, Dim).ToArray() });
        }

        await db.InsertAsync("c", rows);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = type, Params = Map(build) });
        await db.WaitForIndexAsync("c");
        return (db, data);
    }

    /// <summary>Mean recall@K of the engine's answers against the exact top-K among rows passing <paramref name="allowed"/>.</summary>
    private static async Task<(double Recall, Search.SearchStats Stats)> RecallAsync(
        QuiverEngine db, float[] data, Func<long, bool> allowed, string? filter, string search, int queries = HeldOut)
    {
        var qs = Enumerable.Range(Rows, Math.Min(queries, HeldOut)).Select(r => data.AsSpan(r * Dim, Dim).ToArray()).ToArray();
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = qs, Limit = K, Filter = filter ?? "", SearchParams = Map(search), OutputFields = ["bucket"] });
        double sum = 0;
        for (var q = 0; q < qs.Length; q++)
        {
            var truth = Enumerable.Range(0, Rows).Where(r => allowed(r))
                .Select(r => (Row: r, D: BruteForce.Score(MetricType.L2, qs[q], data.AsSpan(r * Dim, Dim))))
                .OrderBy(x => x.D).ThenBy(x => x.Row).Take(K).Select(x => (long)x.Row).ToHashSet();
            var got = result.Hits[q].Select(h => (long)h.Id).ToList();
            Assert.All(got, id => Assert.True(allowed(id), $"row {id} does not pass the filter or is deleted"));
            Assert.Equal(Math.Min(K, truth.Count), got.Count);
            sum += truth.Count == 0 ? 1 : got.Count(truth.Contains) / (double)truth.Count;
        }

        return (sum / qs.Length, result.Stats()!);
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public async Task FilteredSearch_KeepsRecallAtEverySelectivity(string type, string build, string search)
    {
        var (db, data) = await SetupAsync(type, build);
        await using var _ = db;
        var buckets = await BucketsAsync(db);
        foreach (var threshold in new[] { 1, 10, 100, 500, 900, 990 })
        {
            var (recall, stats) = await RecallAsync(db, data, id => buckets[id] < threshold, $"bucket < {threshold}", search);
            Assert.True(recall >= 0.95, $"{type}: recall@{K} {recall:F3} at selectivity {threshold / 10.0}% (indexed segments {stats.IndexedSegments}, exact {stats.ExactSegments}, fallbacks {stats.Fallbacks})");
        }

        var (all, allStats) = await RecallAsync(db, data, _ => true, null, search);
        Assert.True(all >= 0.95, $"{type}: unfiltered recall@{K} {all:F3}");
        if (type != "AUTOINDEX")
        {
            Assert.True(allStats.IndexedSegments > 0, $"{type}: the planner never used the index without a filter");
        }
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public async Task AfterDeleting30Percent_DeletedRowsNeverReturn_AndRecallHolds(string type, string build, string search)
    {
        var (db, data) = await SetupAsync(type, build);
        await using var _ = db;
        var rng = new Random(8);
        var deleted = Enumerable.Range(0, Rows).Where(_ => rng.NextDouble() < 0.3).Select(i => (long)i).ToHashSet();
        await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
        var (recall, stats) = await RecallAsync(db, data, id => !deleted.Contains(id), null, search);
        Assert.True(recall >= 0.95, $"{type}: recall@{K} {recall:F3} after deleting 30% (indexed {stats.IndexedSegments}, fallbacks {stats.Fallbacks})");

        // A filter over segments with deletes: the filter's rows AND the segment's shared live bitmap.
        var buckets = await BucketsAsync(db);
        foreach (var threshold in new[] { 10, 500 })
        {
            var (filtered, fs) = await RecallAsync(db, data, id => !deleted.Contains(id) && buckets[id] < threshold, $"bucket < {threshold}", search);
            Assert.True(filtered >= 0.95, $"{type}: recall@{K} {filtered:F3} after deleting 30%, filter keeping {threshold / 10.0}% (indexed {fs.IndexedSegments}, fallbacks {fs.Fallbacks})");
        }

        // Compaction rewrites the segments without the deleted rows and builds their indexes anew.
        await db.FlushAsync("c");
        await db.CompactAsync("c");
        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(Rows - deleted.Count, info.IndexedRows);
        Assert.True(info.MemoryBytes > 0, $"{type}: an index over {info.IndexedRows} rows reports no memory");
        var (after, _) = await RecallAsync(db, data, id => !deleted.Contains(id), null, search);
        Assert.True(after >= 0.95, $"{type}: recall@{K} {after:F3} after compaction");
    }

    [Theory]
    [InlineData("HNSW", """{"M":16,"efConstruction":100}""", """{"ef":64}""")]
    [InlineData("IVF_PQ", """{"nlist":64,"m":8}""", """{"nprobe":12,"refine_k":8}""")]
    public async Task Reopen_LoadsIndexes_AndGivesTheSameResults(string type, string build, string search)
    {
        var qs = IndexTestKit.Queries(5, 20, Dim);
        var request = new SearchRequest { Vectors = qs, Limit = K, SearchParams = Map(search) };
        SearchResult before;
        {
            var (db, _) = await SetupAsync(type, build);
            await using var __ = db;
            before = await db.SearchAsync("c", request);
            Assert.True(before.Stats()!.IndexedSegments > 0);
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await reopened.WaitForIndexAsync("c");
        Assert.Equal(0, reopened.GetIndexStatistics("c").Built);
        var after = await reopened.SearchAsync("c", request);
        Assert.True(after.Stats()!.IndexedSegments > 0);
        for (var q = 0; q < qs.Length; q++)
        {
            Assert.Equal(before.Hits[q].Select(h => (h.Id, h.Score)), after.Hits[q].Select(h => (h.Id, h.Score)));
        }
    }

    [Fact]
    public async Task SearchesRunning_WhileIndexesAreBuiltDroppedAndCompacted_AlwaysAnswerCorrectly()
    {
        var (db, data) = await SetupAsync("FLAT", "{}");
        await using var _ = db;
        using var stop = new CancellationTokenSource();
        var qs = IndexTestKit.Queries(21, 4, Dim);
        var errors = 0;
        var searches = 0;
        var worst = 1.0;

        async Task SearchLoop()
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await db.SearchAsync("c", new SearchRequest { Vectors = qs, Limit = K, Filter = "bucket >= 0", SearchParams = Map("""{"ef":64}""") });
                foreach (var hits in r.Hits)
                {
                    if (hits.Count != K)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }

                Interlocked.Increment(ref searches);
            }
        }

        var loops = Enumerable.Range(0, 2).Select(_ => Task.Run(SearchLoop)).ToArray();
        for (var round = 0; round < 2; round++)
        {
            await db.DropIndexAsync("c");
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = Map("""{"M":8,"efConstruction":40}""") });
            await db.WaitForIndexAsync("c");
            await db.DeleteWhereAsync("c", $"id % 7 == {round}");
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await db.WaitForIndexAsync("c");
            await db.DropIndexAsync("c");
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "FLAT" });
        }

        await db.WaitForIndexAsync("c");
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        Assert.Equal(0, errors);
        Assert.True(searches > 0);
        var (recall, _) = await RecallAsync(db, data, id => id % 7 > 1, null, "{}");
        worst = Math.Min(worst, recall);
        Assert.Equal(1.0, worst);
    }

    private static async Task<Dictionary<long, long>> BucketsAsync(QuiverEngine db)
    {
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["bucket"], Limit = Rows });
        return rows.ToDictionary(r => (long)r["id"]!, r => (long)r["bucket"]!);
    }
}
