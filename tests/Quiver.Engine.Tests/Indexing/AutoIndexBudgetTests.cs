using Quiver.Indexing;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>AUTOINDEX under the engine's memory budget (<see cref="QuiverOptions.IndexMemoryBudgetBytes"/>): HNSW while
/// its estimated resident memory over all the index's rows fits, DISKANN beyond; the choice is stored in the segment's
/// index file, survives a reopen under another budget and is reported by describe-index; DISKANN chosen this way still
/// answers at recall ≥ 0.95 against the exact search with its calibrated <c>search_list</c>.</summary>
public sealed class AutoIndexBudgetTests : IDisposable
{
    private const int Dim = 32;
    private const int Rows = 6_000;
    private const int K = 10;
    private const int HeldOut = 30;

    /// <summary>One seeded mixture: the first rows are inserted, the last <see cref="HeldOut"/> are the queries.</summary>
    private static readonly float[] Data = IndexTestKit.Clustered(61, Rows + HeldOut, Dim);
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static long HnswEstimate(long rows) =>
        AutoIndex.EstimateRows(IndexKind.Hnsw, MetricType.L2, AutoIndex.Resolve(IndexParameters.Empty, Rows, Dim).Params, rows, Dim);

    [Fact]
    public void Resolve_ComparesHnswResidentMemoryOverAllIndexRows_WithTheBudget()
    {
        var hnsw = HnswEstimate(Rows);
        Assert.Equal(IndexKind.Hnsw, AutoIndex.Resolve(IndexParameters.Empty, MetricType.L2, Rows, Dim, hnsw, Rows).Kind);
        Assert.Equal(IndexKind.DiskAnn, AutoIndex.Resolve(IndexParameters.Empty, MetricType.L2, Rows, Dim, hnsw - 1, Rows).Kind);

        // The segment alone fits, the index over ten such segments does not.
        Assert.Equal(IndexKind.DiskAnn, AutoIndex.Resolve(IndexParameters.Empty, MetricType.L2, Rows, Dim, 2 * hnsw, 10L * Rows).Kind);

        // Small segments stay exact whatever the budget.
        Assert.Equal(IndexKind.Flat, AutoIndex.Resolve(IndexParameters.Empty, MetricType.L2, AutoIndex.ExactRows - 1, Dim, 1, 1L << 40).Kind);

        // Beyond one segment's int range the estimate is extrapolated linearly.
        Assert.Equal(HnswEstimate(1 << 20) * 4096.0, HnswEstimate(1L << 32), 0.001 * HnswEstimate(1L << 32));
    }

    [Fact]
    public void DefaultBudget_IsHalfTheAvailableMemory()
    {
        Assert.Equal(IndexMemoryBudget.AvailableBytes / 2, new QuiverOptions().IndexMemoryBudgetBytes, 1.0);
        Assert.True(new QuiverOptions().IndexMemoryBudgetBytes > 0);
    }

    [Fact]
    public async Task OpenAsync_NonPositiveBudget_IsRefusedNamingTheOption()
    {
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { IndexMemoryBudgetBytes = 0 }));
        Assert.Contains(nameof(QuiverOptions.IndexMemoryBudgetBytes), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AutoIndex_AmpleBudget_ResolvesToHnsw()
    {
        var (type, recall) = await BuildAndSearchAsync(budget: 1L << 40);
        Assert.Equal("HNSW", type);
        Assert.True(recall >= 0.95, $"recall@{K} {recall:F3}");
    }

    [Fact]
    public async Task AutoIndex_BudgetBelowHnsw_ResolvesToDiskAnn_PersistedAcrossReopen()
    {
        // Half of what HNSW would hold: the in-memory index does not fit, DISKANN's PQ codes and cache do.
        var budget = HnswEstimate(Rows) / 2;
        var (type, recall) = await BuildAndSearchAsync(budget);
        Assert.Equal("DISKANN", type);
        Assert.True(recall >= 0.95, $"recall@{K} {recall:F3}");

        // Reopened with an ample budget: the segment's index file holds DISKANN, loaded as it is, not rebuilt as HNSW.
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, IndexMemoryBudgetBytes = 1L << 40 });
        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal("AUTOINDEX", info.IndexType);
        Assert.Equal(new Dictionary<string, long> { ["DISKANN"] = Rows }, info.BuiltTypes);
        Assert.True(info.MemoryBytes < HnswEstimate(Rows) / 2, $"resident {info.MemoryBytes} bytes");
        Assert.True(await RecallAsync(db) >= 0.95);
    }

    private async Task<(string Type, double Recall)> BuildAndSearchAsync(long budget)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, IndexMemoryBudgetBytes = budget });
        await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", Dim, MetricType.L2)] });
        await db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["v"] = Data.AsSpan(i * Dim, Dim).ToArray() })]);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "v", IndexType = "AUTOINDEX" });
        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(Rows, info.IndexedRows);
        var type = Assert.Single(info.BuiltTypes);
        Assert.Equal(Rows, type.Value);
        return (type.Key, await RecallAsync(db));
    }

    /// <summary>Mean recall@10 of the default search (calibrated parameters) against the exact one, on held-out queries
    /// from the same mixture; a limit above the calibrated search_list must still be answered.</summary>
    private static async Task<double> RecallAsync(QuiverEngine db)
    {
        double sum = 0;
        var queries = Enumerable.Range(Rows, HeldOut).Select(i => Data.AsSpan(i * Dim, Dim).ToArray()).ToArray();
        foreach (var q in queries)
        {
            var got = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = K });
            var exact = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = K, SearchParams = new Dictionary<string, string> { ["exact"] = "true" } });
            var truth = exact.Hits[0].Select(h => h.Id).ToHashSet();
            sum += got.Hits[0].Count(h => truth.Contains(h.Id)) / (double)K;
        }

        var wide = await db.SearchAsync("c", new SearchRequest { Vectors = [queries[0]], Limit = 300 });
        Assert.Equal(300, wide.Hits[0].Count);
        return sum / queries.Length;
    }
}
