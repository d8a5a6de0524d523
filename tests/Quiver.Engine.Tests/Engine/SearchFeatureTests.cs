using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Range search, group-by, offset, multiple query vectors, metrics, and errors of the search API.</summary>
public sealed class SearchFeatureTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(QuiverEngine Db, List<Row> Rows)> SetupAsync(MetricType metric, int n = 300)
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, SegmentMaxRows = 100 });
        await db.CreateCollectionAsync("c", TestData.ProductSchema(dim: 16, metric: metric));
        var rng = new Random(11);
        var rows = Enumerable.Range(0, n).Select(i => TestData.ProductRow(rng, i, dim: 16)).ToList();
        await db.InsertAsync("c", rows.Take(n / 2).ToList());
        await db.FlushAsync("c");
        await db.InsertAsync("c", rows.Skip(n / 2).ToList());
        return (db, rows);
    }

    private static float Score(MetricType metric, float[] q, float[] v)
    {
        double dot = 0, l2 = 0, nq = 0, nv = 0;
        for (var i = 0; i < q.Length; i++)
        {
            dot += q[i] * v[i];
            l2 += (q[i] - v[i]) * (q[i] - v[i]);
            nq += q[i] * q[i];
            nv += v[i] * v[i];
        }

        return (float)(metric switch { MetricType.L2 => l2, MetricType.IP => dot, _ => dot / Math.Sqrt(nq * nv) });
    }

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public async Task Search_MatchesBruteForce_ForEachMetric_AcrossSealedAndGrowing(MetricType metric)
    {
        var (db, rows) = await SetupAsync(metric);
        await using var _ = db;
        var rng = new Random(3);
        var queries = Enumerable.Range(0, 7).Select(_ => TestData.Vector(rng, 16)).ToList();
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = 10, Filter = "price > 100" });
        for (var q = 0; q < queries.Count; q++)
        {
            var expected = rows.Where(r => (double)r["price"]! > 100)
                .Select(r => (Id: (long)r["id"]!, S: Score(metric, queries[q], (float[])r["embedding"]!)))
                .OrderBy(x => metric == MetricType.L2 ? x.S : -x.S).Take(10).ToList();
            Assert.Equal(expected.Select(e => e.S), result.Hits[q].Select(h => h.Score), new ToleranceComparer(1e-4f));
            Assert.Equal(expected.Select(e => e.Id), result.Hits[q].Select(h => (long)h.Id));
        }
    }

    [Fact]
    public async Task RangeSearch_KeepsOnlyHitsInsideTheBand()
    {
        var (db, rows) = await SetupAsync(MetricType.L2);
        await using var _ = db;
        var q = (float[])rows[0]["embedding"]!;
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 1000, Radius = 8, RangeFilter = 4 });
        var expected = rows.Select(r => Score(MetricType.L2, q, (float[])r["embedding"]!)).Count(s => s >= 4 && s < 8);
        Assert.Equal(expected, result.Hits[0].Count);
        Assert.All(result.Hits[0], h => Assert.InRange(h.Score, 4f, 8f));
        await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [q], Radius = 4, RangeFilter = 8 }));
    }

    [Fact]
    public async Task GroupBy_ReturnsBestHitsPerGroup()
    {
        var (db, rows) = await SetupAsync(MetricType.IP);
        await using var _ = db;
        var q = TestData.Vector(new Random(9), 16);
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 3, GroupByField = "category", GroupSize = 2, OutputFields = ["category"] });
        var hits = result.Hits[0];
        Assert.Equal(6, hits.Count);
        Assert.Equal(3, hits.Select(h => h.Fields["category"]).Distinct().Count());
        var best = rows.GroupBy(r => (string)r["category"]!)
            .Select(g => (g.Key, Top: g.Select(r => Score(MetricType.IP, q, (float[])r["embedding"]!)).OrderDescending().Take(2).ToList()))
            .OrderByDescending(g => g.Top[0]).Take(3).ToList();
        Assert.Equal(best.SelectMany(b => b.Top), hits.Select(h => h.Score), new ToleranceComparer(1e-4f));
    }

    [Fact]
    public async Task Offset_SkipsTheFirstHits_AndErrorsNameTheProblem()
    {
        var (db, _) = await SetupAsync(MetricType.L2);
        await using var __ = db;
        var q = TestData.Vector(new Random(4), 16);
        var all = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 10 });
        var page = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 5, Offset = 5 });
        Assert.Equal(all.Hits[0].Skip(5).Select(h => h.Id), page.Hits[0].Select(h => h.Id));

        Assert.Contains("dimension 3, expected 16", (await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [[1, 2, 3]] }))).Message);
        Assert.Contains("limit (topk) must be in 1..16384", (await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 16_385 }))).Message);
        Assert.Contains("metric", (await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [q], Metric = MetricType.IP }))).Message);
        var bad = await Assert.ThrowsAsync<FilterException>(() => db.SearchAsync("c", new SearchRequest { Vectors = [q], Filter = "price >> 3" }));
        Assert.Equal(QuiverErrorCode.BadFilter, bad.Code);
    }

    [Fact]
    public async Task TopK_LargerThanRows_ReturnsEveryVisibleRow_AndNeverDeletedOnes()
    {
        var (db, rows) = await SetupAsync(MetricType.L2, n: 120);
        await using var _ = db;
        await db.DeleteAsync("c", [.. Enumerable.Range(0, 60).Select(i => (object)(long)i)]);
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = [TestData.Vector(new Random(1), 16)], Limit = 16_384 });
        Assert.Equal(60, result.Hits[0].Count);
        Assert.All(result.Hits[0], h => Assert.True((long)h.Id >= 60));
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float obj) => 0;
    }
}
