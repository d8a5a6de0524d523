using Quiver.Indexing;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

public class HnswIndexTests
{
    private const int Dim = 32;
    private const int Rows = 3000;

    private static readonly float[] Data = IndexTestKit.Clustered(11, Rows, Dim);
    private static readonly float[][] Queries = IndexTestKit.Queries(12, 40, Dim);

    [Theory]
    [InlineData(MetricType.L2, 0.97)]
    [InlineData(MetricType.IP, 0.95)]
    [InlineData(MetricType.Cosine, 0.97)]
    public void Search_AgainstExactOracle_ReachesRecall(MetricType metric, double threshold)
    {
        using var index = Build(metric);
        var recall = IndexTestKit.Recall(index, Data, Queries, 10, new AnnSearchParams(Ef: 64));
        Assert.True(recall >= threshold, $"{metric} recall@10 {recall:F3} < {threshold}");
        Assert.True(index.MemoryBytes > Rows * Dim, "the graph and codes are counted");
    }

    [Theory]
    [InlineData(0.01, 0.90)]
    [InlineData(0.10, 0.90)]
    [InlineData(0.50, 0.95)]
    [InlineData(0.90, 0.95)]
    public void Search_WithAllowList_ReturnsOnlyAllowedRowsWithRecall(double selectivity, double threshold)
    {
        using var index = Build(MetricType.L2);
        var allowed = IndexTestKit.Selectivity(21, Rows, selectivity);

        // Recall checks every hit against the allow-list.
        var recall = IndexTestKit.Recall(index, Data, Queries, 10, new AnnSearchParams(Ef: 128), allowed);
        Assert.True(recall >= threshold, $"selectivity {selectivity}: recall@10 {recall:F3} < {threshold}");
    }

    [Fact]
    public void Search_With30PercentDeleted_KeepsRecall()
    {
        using var index = Build(MetricType.L2);
        var live = IndexTestKit.Selectivity(31, Rows, 0.70);
        var recall = IndexTestKit.Recall(index, Data, Queries, 10, new AnnSearchParams(Ef: 64), live);
        Assert.True(recall >= 0.95, $"recall@10 with 30% deleted {recall:F3} < 0.95");
    }

    [Fact]
    public void Search_FewAllowedRows_ReturnsAllOfThem()
    {
        using var index = Build(MetricType.L2);
        var allowed = new Quiver.Common.Bitmap(Rows);
        allowed.Set(5);
        allowed.Set(1700);
        allowed.Set(2999);
        var hits = new IndexHit[10];
        var n = index.Search(Queries[0], 10, new AnnSearchParams(Ef: 32), allowed, hits);
        Assert.Equal(3, n);
        Assert.Equal(new[] { 5, 1700, 2999 }, hits.Take(n).Select(h => h.Row).Order().ToArray());
        Assert.True(hits[0].Key <= hits[1].Key && hits[1].Key <= hits[2].Key, "best first");
    }

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.Cosine)]
    public void Save_ThenLoadByMapping_GivesIdenticalResults(MetricType metric)
    {
        using var index = Build(metric);
        using var folder = new TempFolder();
        using var loaded = IndexTestKit.RoundTrip(index, folder);
        Assert.Equal(IndexKind.Hnsw, loaded.Kind);
        Assert.Equal(index.MemoryBytes, loaded.MemoryBytes);
        IndexTestKit.AssertSameResults(index, loaded, Queries, 10, new AnnSearchParams(Ef: 40));
    }

    [Fact]
    public void Search_FromSeveralThreads_MatchesSequential()
    {
        using var index = Build(MetricType.L2);
        var p = new AnnSearchParams(Ef: 50);
        var expected = Queries.Select(q => Run(index, q, p)).ToArray();
        var actual = new (float Key, int Row)[Queries.Length][];
        Parallel.For(0, Queries.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var q = i % Queries.Length;
            actual[q] = Run(index, Queries[q], p);
        });
        for (var i = 0; i < Queries.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    [Fact]
    public void Search_AfterWarmUp_DoesNotAllocate()
    {
        using var index = Build(MetricType.Cosine);
        var hits = new IndexHit[10];
        var allowed = IndexTestKit.Selectivity(51, Rows, 0.5);
        var p = new AnnSearchParams(Ef: 80);

        // Warm up both paths with every query measured below, on this thread: the per-thread buffers are sized on first
        // use and grow to the largest query's needs, and in the full suite this thread may hold buffers another test sized
        // (a warm-up with one query left 5,184 bytes, and once 7,360, to a later query's growth).
        foreach (var q in Queries)
        {
            index.Search(q, 10, p, null, hits);
            index.Search(q, 10, p, allowed, hits);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var q in Queries)
        {
            index.Search(q, 10, p, null, hits);
            index.Search(q, 10, p, allowed, hits);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Build_WithTwoThreads_ReachesRecallAndReportsProgress()
    {
        var progress = new List<double>();
        var options = new IndexBuildOptions(Threads: 2, Seed: 7, Progress: f => { lock (progress) { progress.Add(f); } });
        using var index = IndexFactory.Build(IndexKind.Hnsw, MetricType.L2, Params(), IndexTestKit.View(Data, Dim), options, default);
        var recall = IndexTestKit.Recall(index, Data, Queries, 10, new AnnSearchParams(Ef: 64));
        Assert.True(recall >= 0.97, $"recall@10 {recall:F3} < 0.97");
        Assert.Contains(1.0, progress);
    }

    [Fact]
    public void Build_WithOneThread_IsReproducibleFromTheSeed()
    {
        using var a = Build(MetricType.IP);
        using var b = Build(MetricType.IP);
        IndexTestKit.AssertSameResults(a, b, Queries, 10, new AnnSearchParams(Ef: 30));
    }

    [Fact]
    public void Build_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            IndexFactory.Build(IndexKind.Hnsw, MetricType.L2, Params(), IndexTestKit.View(Data, Dim), IndexBuildOptions.Default, cts.Token));
    }

    [Theory]
    [InlineData("""{"M": 1}""", "'M'")]
    [InlineData("""{"M": 4096}""", "'M'")]
    [InlineData("""{"efConstruction": 0}""", "'efConstruction'")]
    [InlineData("""{"ef_construction": 100}""", "'ef_construction'")]
    [InlineData("""{"M": "sixteen"}""", "'M'")]
    public void Validate_BadParameters_NameTheParameter(string json, string name)
    {
        var e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(IndexKind.Hnsw, MetricType.L2, IndexParameters.FromJson(json), Dim));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void Search_TinyInputs_ReturnsWhatExists(int rows)
    {
        var data = IndexTestKit.Clustered(41, rows, Dim);
        using var index = IndexFactory.Build(IndexKind.Hnsw, MetricType.L2, IndexParameters.Empty, IndexTestKit.View(data, Dim), IndexBuildOptions.Default, default);
        var hits = new IndexHit[10];
        var n = index.Search(Queries[0], 10, default, null, hits);
        Assert.Equal(rows, n);
        Assert.Equal(IndexTestKit.Exact(MetricType.L2, data, Dim, Queries[0], 10), hits.Take(n).Select(h => h.Row).ToArray());
        using var folder = new TempFolder();
        using var loaded = IndexTestKit.RoundTrip(index, folder);
        IndexTestKit.AssertSameResults(index, loaded, Queries, 10, default);
    }

    [Fact]
    public void Search_KeysAreExactDistances()
    {
        using var index = Build(MetricType.L2);
        var hits = new IndexHit[5];
        var n = index.Search(Queries[1], 5, default, null, hits);
        Assert.Equal(5, n);
        foreach (var h in hits)
        {
            var exact = Quiver.Distance.VectorMath.L2Squared(Queries[1], Data.AsSpan(h.Row * Dim, Dim));
            Assert.Equal(exact, h.Key);
        }
    }

    private static IndexParameters Params() => IndexParameters.FromJson("""{"M": 16, "efConstruction": 100}""");

    private static VectorIndex Build(MetricType metric) =>
        IndexFactory.Build(IndexKind.Hnsw, metric, Params(), IndexTestKit.View(Data, Dim), IndexBuildOptions.Default, default);

    private static (float Key, int Row)[] Run(VectorIndex index, float[] q, AnnSearchParams p)
    {
        var hits = new IndexHit[10];
        var n = index.Search(q, 10, p, null, hits);
        return [.. hits.Take(n).Select(h => (h.Key, h.Row))];
    }
}
