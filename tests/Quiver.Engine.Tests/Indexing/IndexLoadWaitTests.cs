using Quiver.Catalog;
using Quiver.Search;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>After a reopen, a search that finds index files of its collection still loading waits for them (at most
/// <see cref="QuiverOptions.IndexLoadWait"/>) and walks the indexes, instead of answering every row of those segments
/// exactly; loads never wait behind a build. The loads are held by a file system that blocks the mapping of index files
/// until the test lets it go, so nothing here depends on timing.</summary>
public sealed class IndexLoadWaitTests : IDisposable
{
    private const int Dim = 16;
    private const int RowsPerSegment = 300;
    private const int Segments = 2;
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly float[] Data = IndexTestKit.Clustered(7, RowsPerSegment * Segments, Dim);
    private static readonly float[][] Queries = IndexTestKit.Queries(8, 5, Dim);

    private static SearchRequest Request => FieldRequest(null);

    private static SearchRequest FieldRequest(string? field) => new()
    {
        Vectors = Queries,
        AnnsField = field,
        Limit = 10,
        SearchParams = new Dictionary<string, string> { ["ef"] = "32" },
    };

    /// <summary>Two sealed segments with an HNSW index each, written and closed; returns the indexed answer to
    /// <see cref="Request"/> (the oracle a search walking the same graphs must give again).</summary>
    private async Task<SearchResult> SetupAsync()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        for (var s = 0; s < Segments; s++)
        {
            var rows = Enumerable.Range(s * RowsPerSegment, RowsPerSegment)
                .Select(i => new Row { ["id"] = (long)i, ["vec"] = Data.AsSpan(i * Dim, Dim).ToArray() }).ToList();
            await db.InsertAsync("c", rows);
            await db.FlushAsync("c");
        }

        await db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "vec",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "32" },
        });
        await db.WaitForIndexAsync("c");
        var oracle = await IndexedSearchAsync(db);
        Assert.Equal(Segments, oracle.Stats()!.IndexedSegments);
        return oracle;
    }

    /// <summary>A search forced through an index where one is attached (at these sizes the planner may rightly prefer
    /// brute force); the override flows into the search's own task.</summary>
    private static Task<SearchResult> IndexedSearchAsync(QuiverEngine db, CancellationToken cancellationToken = default, string? field = null) =>
        Indexed(() => db.SearchAsync("c", FieldRequest(field), cancellationToken: cancellationToken));

    private static Task<T> Indexed<T>(Func<Task<T>> search)
    {
        SearchPlanner.Override = new PlannerOverride(Strategy: SegmentStrategy.PreFilter);
        try
        {
            return search();
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }

    private static void AssertSameAnswers(SearchResult expected, SearchResult actual)
    {
        Assert.Equal(expected.Hits.Length, actual.Hits.Length);
        for (var q = 0; q < expected.Hits.Length; q++)
        {
            Assert.Equal(expected.Hits[q].Select(h => ((long)h.Id, h.Score)), actual.Hits[q].Select(h => ((long)h.Id, h.Score)));
        }
    }

    /// <summary>The exact top 10 of every query over all rows, by brute force: (id, squared L2 distance).</summary>
    private static List<(long Id, double Score)>[] BruteForce()
    {
        var answers = new List<(long, double)>[Queries.Length];
        for (var q = 0; q < Queries.Length; q++)
        {
            answers[q] = [.. Enumerable.Range(0, RowsPerSegment * Segments)
                .Select(i => ((long)i, global::Quiver.Distance.VectorMathReference.L2Squared(Queries[q], Data.AsSpan(i * Dim, Dim))))
                .OrderBy(x => x.Item2).ThenBy(x => x.Item1).Take(10)];
        }

        return answers;
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        using var guard = new CancellationTokenSource(Guard);
        while (!condition())
        {
            Assert.False(guard.IsCancellationRequested, $"gave up waiting: {what}");
            await Task.Yield();
            await Task.Delay(1, CancellationToken.None);
        }
    }

    /// <summary>Reopens the collection over <paramref name="fs"/> and returns once its first index load is held.</summary>
    private async Task<QuiverEngine> OpenHeldAsync(LoadGateFileSystem fs, TimeSpan? wait = null)
    {
        var options = new QuiverOptions { BackgroundMaintenance = false, FileSystem = fs };
        var db = await QuiverEngine.OpenAsync(_dir.Path, wait is { } w ? options with { IndexLoadWait = w } : options);
        Assert.True(fs.Entered.Wait(Guard), "no index load started after the reopen");
        return db;
    }

    /// <summary>Starts an indexed search and returns it once it waits for the held load (failing if it answers first).</summary>
    private static Task<Task<SearchResult>> SearchWaitingAsync(QuiverEngine db, CancellationToken cancellationToken, string? field = null) =>
        WaitingAsync(db, () => IndexedSearchAsync(db, cancellationToken, field));

    private static async Task<Task<T>> WaitingAsync<T>(QuiverEngine db, Func<Task<T>> start)
    {
        var shard = db.ShardOf("c");
        var waited = shard.SearchesWaitedForIndexLoads;
        var search = start();
        await UntilAsync(() => search.IsCompleted || shard.SearchesWaitedForIndexLoads > waited, "the search to end or to wait");
        Assert.False(search.IsCompleted, "the search answered while the index load was held");
        return search;
    }

    [Fact]
    public async Task Search_FindingItsIndexStillLoading_WaitsForTheLoad_AndWalksTheIndex()
    {
        var oracle = await SetupAsync();
        var fs = new LoadGateFileSystem();
        await using var db = await OpenHeldAsync(fs);

        // Disposed first (declared last): a failing test lets the load go before the engine's dispose waits for it.
        using var releaseOnExit = fs;
        var shard = db.ShardOf("c");
        Assert.NotNull(shard.IndexLoadsPending("vec"));
        var search = await SearchWaitingAsync(db, CancellationToken.None);
        fs.Release();

        var result = await search.WaitAsync(Guard);
        Assert.Equal(Segments, result.Stats()!.IndexedSegments);
        AssertSameAnswers(oracle, result);
        Assert.Equal(1, shard.SearchesWaitedForIndexLoads);
        Assert.Null(shard.IndexLoadsPending("vec"));
        Assert.Equal(Segments, shard.IndexesLoaded);
        Assert.Equal(0, shard.IndexesBuilt);
    }

    [Fact]
    public async Task Search_CancelledWhileWaitingForALoad_Throws_AndTheNextSearchWalksTheIndex()
    {
        var oracle = await SetupAsync();
        var fs = new LoadGateFileSystem();
        await using var db = await OpenHeldAsync(fs);
        using var releaseOnExit = fs;
        using var cancel = new CancellationTokenSource();
        var search = await SearchWaitingAsync(db, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search.WaitAsync(Guard));

        fs.Release();
        var result = await IndexedSearchAsync(db).WaitAsync(Guard);
        Assert.Equal(Segments, result.Stats()!.IndexedSegments);
        AssertSameAnswers(oracle, result);
    }

    [Fact]
    public async Task Search_WithIndexLoadWaitZero_DoesNotWait_AndAnswersExactly()
    {
        await SetupAsync();
        var fs = new LoadGateFileSystem();
        await using var db = await OpenHeldAsync(fs, TimeSpan.Zero);
        using var releaseOnExit = fs;
        var shard = db.ShardOf("c");

        // The load is held: a search that waited would not end before the guard.
        var result = await IndexedSearchAsync(db).WaitAsync(Guard);
        Assert.Equal(0, result.Stats()!.IndexedSegments);
        Assert.Equal(0, shard.SearchesWaitedForIndexLoads);
        var truth = BruteForce();
        for (var q = 0; q < Queries.Length; q++)
        {
            Assert.Equal(truth[q].Select(t => t.Id).Order(), result.Hits[q].Select(h => (long)h.Id).Order());
        }
    }

    /// <summary>A collection with two vector fields, "a" and "b", each with an HNSW index (a's created first, so its
    /// loads are queued first after a reopen) over the same two sealed segments; returns the indexed answers of a search
    /// on each field and of a hybrid search over a alone, and the id of b's index.</summary>
    private async Task<(SearchResult A, SearchResult B, SearchResult HybridA, long IndexB)> SetupTwoFieldsAsync()
    {
        var other = IndexTestKit.Clustered(11, RowsPerSegment * Segments, Dim);
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("a", Dim, MetricType.L2), FieldSchema.Vector("b", Dim, MetricType.L2)],
        });
        for (var s = 0; s < Segments; s++)
        {
            var rows = Enumerable.Range(s * RowsPerSegment, RowsPerSegment).Select(i => new Row
            {
                ["id"] = (long)i,
                ["a"] = Data.AsSpan(i * Dim, Dim).ToArray(),
                ["b"] = other.AsSpan(i * Dim, Dim).ToArray(),
            }).ToList();
            await db.InsertAsync("c", rows);
            await db.FlushAsync("c");
        }

        foreach (var field in new[] { "a", "b" })
        {
            await db.CreateIndexAsync("c", new IndexDefinition
            {
                FieldName = field,
                IndexName = field + "_hnsw",
                IndexType = "HNSW",
                Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "32" },
            });
        }

        await db.WaitForIndexAsync("c");
        var a = await IndexedSearchAsync(db, field: "a");
        var b = await IndexedSearchAsync(db, field: "b");
        var hybrid = await Indexed(() => db.HybridSearchAsync("c", HybridOverA));
        Assert.Equal(Segments, a.Stats()!.IndexedSegments);
        Assert.Equal(Segments, b.Stats()!.IndexedSegments);
        return (a, b, hybrid, db.ShardOf("c").Meta.Indexes.Single(i => i.FieldName == "b").Id);
    }

    private static HybridRequest HybridOverA => new()
    {
        Requests = [FieldRequest("a"), FieldRequest("a") with { SearchParams = new Dictionary<string, string> { ["ef"] = "48" } }],
    };

    [Fact]
    public async Task Search_OnAField_DoesNotWaitForAnotherFieldsHeldLoad_WhileThatFieldsSearchWaits()
    {
        var (oracleA, oracleB, oracleHybrid, indexB) = await SetupTwoFieldsAsync();

        // Only b's index files are held; the loads' lane runs one load at a time in the order queued, so a's loads (both
        // segments) have ended and attached before b's first load is held.
        var prefixB = IndexMeta.FileName(indexB, 0)[..21];
        var fs = new LoadGateFileSystem(name => name.StartsWith(prefixB, StringComparison.Ordinal));
        await using var db = await OpenHeldAsync(fs);
        using var releaseOnExit = fs;
        var shard = db.ShardOf("c");
        Assert.Equal(Segments, shard.IndexesLoaded);

        // The default IndexLoadWait (30 s): a search waiting for b's load would answer only after it, counted as waited.
        var a = await IndexedSearchAsync(db, field: "a").WaitAsync(Guard);
        var hybridA = await Indexed(() => db.HybridSearchAsync("c", HybridOverA)).WaitAsync(Guard);
        Assert.Equal(0, shard.SearchesWaitedForIndexLoads);
        Assert.Equal(Segments, a.Stats()!.IndexedSegments);
        AssertSameAnswers(oracleA, a);
        AssertSameAnswers(oracleHybrid, hybridA);

        // A search on b, and a hybrid search that walks b too, still wait for b's load and then walk its index.
        var b = await SearchWaitingAsync(db, CancellationToken.None, "b");
        var hybridAB = await WaitingAsync(db, () => Indexed(() => db.HybridSearchAsync("c", new HybridRequest { Requests = [FieldRequest("a"), FieldRequest("b")] })));
        fs.Release();
        var answerB = await b.WaitAsync(Guard);
        Assert.Equal(Segments, answerB.Stats()!.IndexedSegments);
        AssertSameAnswers(oracleB, answerB);
        Assert.Equal(Queries.Length, (await hybridAB.WaitAsync(Guard)).Hits.Length);
        Assert.Equal(2, shard.SearchesWaitedForIndexLoads);
        Assert.Equal(2 * Segments, shard.IndexesLoaded);
    }

    /// <summary>Each field's loads have their own lane: with a's index files held (a's index created first, so its loads
    /// are queued first after a reopen), b's loads still run and attach, a search on b answers through b's index without
    /// waiting, and a search on a waits for a's held load, then walks a's index.</summary>
    [Fact]
    public async Task LoadsOfAField_DoNotWaitBehindAnotherFieldsHeldLoad()
    {
        var (oracleA, oracleB, _, indexB) = await SetupTwoFieldsAsync();
        // Every index file but b's is a's.
        var prefixB = IndexMeta.FileName(indexB, 0)[..21];
        var fs = new LoadGateFileSystem(name => !name.StartsWith(prefixB, StringComparison.Ordinal));
        await using var db = await OpenHeldAsync(fs);
        using var releaseOnExit = fs;
        var shard = db.ShardOf("c");

        // One lane for every field: b's two loads end while a's first is held (one lane for all would hold them behind it).
        await UntilAsync(() => shard.IndexesLoaded == Segments, "b's loads to attach while a's load is held");
        var b = await IndexedSearchAsync(db, field: "b").WaitAsync(Guard);
        Assert.Equal(0, shard.SearchesWaitedForIndexLoads);
        Assert.Equal(Segments, b.Stats()!.IndexedSegments);
        AssertSameAnswers(oracleB, b);

        var a = await SearchWaitingAsync(db, CancellationToken.None, "a");
        fs.Release();
        var answerA = await a.WaitAsync(Guard);
        Assert.Equal(Segments, answerA.Stats()!.IndexedSegments);
        AssertSameAnswers(oracleA, answerA);
        Assert.Equal(1, shard.SearchesWaitedForIndexLoads);
        Assert.Equal(2 * Segments, shard.IndexesLoaded);
    }

    [Fact]
    public void IndexLoadWait_BelowZero_IsRefusedByName()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new QuiverOptions { IndexLoadWait = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Contains("IndexLoadWait", ex.Message, StringComparison.Ordinal);
        new QuiverOptions { IndexLoadWait = Timeout.InfiniteTimeSpan }.Validate();
    }

    /// <summary>The real file system, except that mapping an index file (<c>.qidx</c>: what a load does; with
    /// <c>hold</c>, only the files whose name it accepts) blocks until <see cref="Release"/> (or dispose);
    /// <see cref="Entered"/> is set when the first one is blocked.</summary>
    private sealed class LoadGateFileSystem(Func<string, bool>? hold = null) : IFileSystem, IDisposable
    {
        private readonly IFileSystem _inner = PhysicalFileSystem.Instance;
        private readonly ManualResetEventSlim _open = new(false);

        public ManualResetEventSlim Entered { get; } = new(false);

        public void Release() => _open.Set();

        public void Dispose() => Release();

        public MappedFile MapReadOnly(string path)
        {
            if (path.EndsWith(".qidx", StringComparison.Ordinal) && (hold is null || hold(Path.GetFileName(path))))
            {
                Entered.Set();
                if (!_open.Wait(Guard))
                {
                    throw new IOException("the test never released the index load");
                }
            }

            return _inner.MapReadOnly(path);
        }

        public bool FileExists(string path) => _inner.FileExists(path);

        public bool DirectoryExists(string path) => _inner.DirectoryExists(path);

        public void CreateDirectory(string path) => _inner.CreateDirectory(path);

        public IReadOnlyList<string> ListFiles(string directory, string pattern = "*") => _inner.ListFiles(directory, pattern);

        public IReadOnlyList<string> ListDirectories(string directory) => _inner.ListDirectories(directory);

        public long GetLength(string path) => _inner.GetLength(path);

        public Stream OpenRead(string path) => _inner.OpenRead(path);

        public WritableFile Create(string path) => _inner.Create(path);

        public WritableFile OpenAppend(string path) => _inner.OpenAppend(path);

        public void Rename(string source, string destination) => _inner.Rename(source, destination);

        public void Delete(string path) => _inner.Delete(path);

        public void DeleteDirectory(string path) => _inner.DeleteDirectory(path);

        public void SyncDirectory(string path) => _inner.SyncDirectory(path);

        public IDisposable LockExclusive(string path) => _inner.LockExclusive(path);
    }
}
