using Quiver.Engine.Tests.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>An HNSW search re-ranks its best candidates on the segment's raw vectors. It reads them row by row, so the
/// first indexed search after a reopen checksums the pages of the rows it re-ranks, not the segment's whole vector block
/// (session 34: at 1M rows in four segments the first search after the index loads paid ~0.5 s verifying four 128 MB
/// blocks). A damaged vector is still a <see cref="CorruptionException"/> for the search that reads it. The tests count
/// <see cref="MappedBlock.VerifiedBytes"/>, which is process-wide, so they run alone
/// (<see cref="AllocationCountingCollection"/>).</summary>
[Collection(nameof(AllocationCountingCollection))]
public sealed class IndexedSearchPageReadTests(ITestOutputHelper output) : IDisposable
{
    private const int Dim = 32;
    private const int Rows = 20_000;
    private const int K = 10;
    private readonly TempFolder _dir = new("quiver-indexed-pages");

    private static readonly float[] Data = IndexTestKit.Clustered(5, Rows, Dim);
    private static readonly float[][] Queries = IndexTestKit.Queries(6, 5, Dim);

    public void Dispose() => _dir.Dispose();

    private static QuiverOptions Options => new() { BackgroundMaintenance = false, Durability = DurabilityMode.Never };

    private static SearchRequest Request => new()
    {
        Vectors = Queries,
        Limit = K,
        SearchParams = new Dictionary<string, string> { ["ef"] = "32" },
    };

    /// <summary>One sealed segment of <see cref="Rows"/> rows (id = row) with an HNSW index of <paramref name="metric"/>;
    /// returns the indexed answer (the oracle for the same search after a reopen) and the segment file's path.</summary>
    private async Task<(SearchResult Oracle, string Segment)> SetupAsync(MetricType metric)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, metric)],
        });
        await db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["vec"] = Data.AsSpan(i * Dim, Dim).ToArray() })]);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "vec",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "32" },
        });
        await db.WaitForIndexAsync("c");
        var oracle = await IndexedSearchAsync(db);
        Assert.Equal(1, oracle.Stats()!.IndexedSegments);
        return (oracle, Directory.GetFiles(_dir.Path, "*.qseg", SearchOption.AllDirectories).Single());
    }

    /// <summary>A search forced through the index (at this size the planner may rightly prefer brute force).</summary>
    private static Task<SearchResult> IndexedSearchAsync(QuiverEngine db)
    {
        SearchPlanner.Override = new PlannerOverride(Strategy: SegmentStrategy.PreFilter);
        try
        {
            return db.SearchAsync("c", Request);
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }

    /// <summary>Reopens the folder and waits until the segment's index file is loaded and attached.</summary>
    private async Task<QuiverEngine> ReopenLoadedAsync()
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.WaitForIndexAsync("c");
        Assert.Equal(1, db.ShardOf("c").IndexesLoaded);
        return db;
    }

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.Cosine)]
    public async Task FirstIndexedSearchAfterReopen_ChecksumsTheRowsItReranks_NotTheVectorBlock(MetricType metric)
    {
        var (oracle, _) = await SetupAsync(metric);
        await using var db = await ReopenLoadedAsync();
        var before = MappedBlock.VerifiedBytes;
        var result = await IndexedSearchAsync(db);
        var verified = MappedBlock.VerifiedBytes - before;
        output.WriteLine($"{metric}: the first indexed search of {Queries.Length} queries after the reopen checksummed {verified:N0} bytes");

        Assert.Equal(1, result.Stats()!.IndexedSegments);
        for (var q = 0; q < Queries.Length; q++)
        {
            Assert.Equal(oracle.Hits[q].Select(h => ((long)h.Id, h.Score)), result.Hits[q].Select(h => ((long)h.Id, h.Score)));
        }

        // Each query re-ranks at most k x refine rows (one or two pages each, and a page of their norms under cosine);
        // mapping the hits to their keys reads a few pages more. The vector block alone is Rows x Dim x 4 bytes (2.56 MB),
        // which main checksummed whole on this search.
        var pages = Queries.Length * K * global::Quiver.Indexing.HnswIndex.DefaultRefine * 3;
        Assert.True(verified <= pages * (long)SegmentFile.PageSize, $"the first search checksummed {verified} bytes");
    }

    /// <summary>A flipped byte in the vector of a row the search re-ranks (query 0's best hit): the indexed search after the
    /// reopen is a <see cref="CorruptionException"/> naming the file and the damaged page; the damage is not reported as
    /// an answer.</summary>
    [Fact]
    public async Task DamagedVectorOfAHit_IsCorruption_ForTheIndexedSearchThatReranksIt()
    {
        var (oracle, segment) = await SetupAsync(MetricType.L2);
        var row = (int)(long)oracle.Hits[0][0].Id;
        var bytes = await File.ReadAllBytesAsync(segment);
        var (offset, _) = SegmentBlocks.Find(bytes, SegmentFile.BlockKind.Vectors);
        var at = (long)row * Dim * sizeof(float);
        bytes[offset + at + 2] ^= 0x10;
        await File.WriteAllBytesAsync(segment, bytes);

        await using var db = await ReopenLoadedAsync();
        var ex = await Assert.ThrowsAsync<CorruptionException>(() => IndexedSearchAsync(db));
        Assert.Contains(segment, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"page {at / SegmentFile.PageSize} ", ex.Message, StringComparison.Ordinal);
    }
}
