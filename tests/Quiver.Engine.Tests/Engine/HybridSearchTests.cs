using Quiver.Testing;
using static Quiver.Testing.HybridOracle;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Hybrid search against <see cref="HybridOracle"/>: each search by brute force over the live rows that match
/// its filter, fused in the test (RRF, weighted with and without normalization, mixed metrics, offset, grouping,
/// partitions), over sealed and growing segments with deletes; and the refusals.</summary>
public sealed class HybridSearchTests : IDisposable
{
    private const int Rows = 240;
    private static readonly string[] _colors = ["red", "green", "blue", "black", "white"];
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three vector fields with three metrics: <c>dense</c> (8-d L2), <c>other</c> (6-d IP), <c>third</c>
    /// (4-d COSINE); a VarChar <c>color</c> and an Int64 <c>n</c>. Half the rows are sealed, every ninth deleted.</summary>
    private async Task<(QuiverEngine Db, Dictionary<long, Row> Live)> SetupAsync(string partition = "")
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.VarChar("color", 16),
                FieldSchema.Scalar("n", DataType.Int64),
                FieldSchema.Vector("dense", 8, MetricType.L2),
                FieldSchema.Vector("other", 6, MetricType.IP),
                FieldSchema.Vector("third", 4, MetricType.Cosine),
            ],
        });
        if (partition.Length > 0)
        {
            await db.CreatePartitionAsync("c", partition);
        }

        var rows = HybridOracle.Rows(5, Rows, _colors, ("dense", 8), ("other", 6), ("third", 4));
        await db.InsertAsync("c", rows.Take(Rows / 2).ToList());
        await db.FlushAsync("c");
        await db.InsertAsync("c", rows.Skip(Rows / 2).ToList(), partition.Length > 0 ? partition : null);
        var deleted = rows.Where((_, i) => i % 9 == 4).Select(r => (object)r["id"]!).ToList();
        await db.DeleteAsync("c", deleted);
        return (db, rows.Where(r => !deleted.Contains(r["id"]!)).ToDictionary(r => (long)r["id"]!));
    }

    private static readonly Dictionary<string, MetricType> _metrics = new() { ["dense"] = MetricType.L2, ["other"] = MetricType.IP, ["third"] = MetricType.Cosine };

    /// <summary>A search of a field whose filter the test also applies as a predicate (Keep).</summary>
    private sealed record Sub(string Field, float[][] Queries, int Limit, string Filter, Func<Row, bool> Keep);

    private static List<List<Hit>> OracleHits(Dictionary<long, Row> live, Sub sub, int query, int? groupSize) =>
        [HybridOracle.Search(live.Values.Where(sub.Keep).Select(r => new Candidate((long)r["id"]!, (float[])r[sub.Field]!, (string)r["color"]!)),
            sub.Queries[query], _metrics[sub.Field], sub.Limit, groupSize)];

    private static HybridRequest Request(IEnumerable<Sub> subs, HybridRanker ranker, int limit, int offset = 0, string? groupBy = null, int groupSize = 1) => new()
    {
        Requests = [.. subs.Select(s => new SearchRequest { Vectors = s.Queries, AnnsField = s.Field, Limit = s.Limit, Filter = s.Filter })],
        Ranker = ranker,
        Limit = limit,
        Offset = offset,
        OutputFields = ["color", "n"],
        GroupByField = groupBy,
        GroupSize = groupSize,
    };

    private static void AssertEqualsOracle(SearchResult result, Dictionary<long, Row> live, IReadOnlyList<Sub> subs, double? rrfK, float[]? weights,
        bool normalize, int limit, int offset, int? groupSize = null)
    {
        Assert.Equal(subs[0].Queries.Length, result.Hits.Length);
        for (var q = 0; q < result.Hits.Length; q++)
        {
            var perSearch = subs.Select(s => OracleHits(live, s, q, groupSize)[0]).ToList();
            var expected = Fuse(perSearch, [.. subs.Select(s => _metrics[s.Field])], rrfK, weights, normalize, limit, offset, groupSize);
            var hits = result.Hits[q];
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => (long)h.Id));
            for (var i = 0; i < hits.Count; i++)
            {
                Assert.Equal(expected[i].Score, hits[i].Score, 1e-4);
                Assert.Equal(live[(long)hits[i].Id]["color"], hits[i].Fields["color"]);
                Assert.Equal(live[(long)hits[i].Id]["n"], hits[i].Fields["n"]);
            }
        }
    }

    private static float[][] Queries(int seed, int dim, int count)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => TestData.Vector(rng, dim))];
    }

    private static List<Sub> ThreeSearches(int nq) =>
    [
        new("dense", Queries(1, 8, nq), 20, "color in [\"red\", \"blue\"]", r => (string)r["color"]! is "red" or "blue"),
        new("other", Queries(2, 6, nq), 15, "n >= 3", r => (long)r["n"]! >= 3),
        new("third", Queries(3, 4, nq), 25, "", _ => true),
    ];

    [Theory]
    [InlineData(60.0, 10, 0)]
    [InlineData(5.0, 7, 4)]
    [InlineData(0.5, 30, 12)]
    public async Task Rrf_ThreeFieldsWithOwnFiltersAndLimits_EqualsFusedOracle(double k, int limit, int offset)
    {
        var (db, live) = await SetupAsync();
        await using var _ = db;
        var subs = ThreeSearches(nq: 3);
        var result = await db.HybridSearchAsync("c", Request(subs, HybridRanker.Rrf(k), limit, offset));
        AssertEqualsOracle(result, live, subs, k, null, false, limit, offset);
        Assert.All(result.Hits, h => Assert.Equal(limit, h.Count));
    }

    [Theory]
    [InlineData(false, new[] { "dense", "other", "third" })]
    [InlineData(true, new[] { "dense", "other", "third" })]
    [InlineData(false, new[] { "other", "third" })]
    [InlineData(true, new[] { "dense" })]
    [InlineData(false, new[] { "dense", "dense" })]
    public async Task Weighted_NormalizedOrRaw_OverMixedAndSingleMetrics_EqualsFusedOracle(bool normalize, string[] fields)
    {
        var (db, live) = await SetupAsync();
        await using var _ = db;
        var all = ThreeSearches(nq: 2);
        var subs = fields.Select((f, i) => all.Single(s => s.Field == f) with { Queries = Queries(10 + i, all.Single(s => s.Field == f).Queries[0].Length, 2) }).ToList();
        float[] weights = [.. subs.Select((_, i) => 0.9f - (0.3f * i))];
        var result = await db.HybridSearchAsync("c", Request(subs, HybridRanker.Weighted(weights, normalize), 12, 2));
        AssertEqualsOracle(result, live, subs, null, weights, normalize, 12, 2);
        // Raw L2 distances alone fuse to weighted distances: smallest first.
        var scores = result.Hits[0].Select(h => h.Score).ToList();
        Assert.Equal(!normalize && fields.All(f => f == "dense") ? scores.Order() : scores.OrderDescending(), scores);
    }

    [Theory]
    [InlineData(true, 1, 0)]
    [InlineData(true, 2, 1)]
    [InlineData(false, 3, 0)]
    public async Task GroupBy_EachSearchGroupsAndTheFusedGroupsAreLimited_EqualsFusedOracle(bool rrf, int groupSize, int offset)
    {
        var (db, live) = await SetupAsync();
        await using var _ = db;
        var subs = ThreeSearches(nq: 2).Select(s => s with { Limit = 3 }).ToList();
        float[] weights = [0.2f, 0.5f, 1f];
        HybridRanker ranker = rrf ? HybridRanker.Rrf() : HybridRanker.Weighted(weights, normalizeScores: true);
        var result = await db.HybridSearchAsync("c", Request(subs, ranker, 3, offset, groupBy: "color", groupSize: groupSize));
        AssertEqualsOracle(result, live, subs, rrf ? 60 : null, weights, true, 3, offset, groupSize);
        foreach (var hits in result.Hits)
        {
            var groups = hits.GroupBy(h => h.Fields["color"]).ToList();
            Assert.InRange(groups.Count, 1, 3);
            Assert.All(groups, g => Assert.InRange(g.Count(), 1, groupSize));
        }
    }

    [Fact]
    public async Task Partitions_RestrictEverySearch()
    {
        var (db, live) = await SetupAsync(partition: "p1");
        await using var _ = db;
        var subs = ThreeSearches(nq: 1).Take(2).ToList();
        var inP1 = live.Where(p => p.Key >= Rows / 2).ToDictionary();
        var result = await db.HybridSearchAsync("c", Request(subs, HybridRanker.Rrf(), 10) with { Partitions = ["p1"] });
        AssertEqualsOracle(result, inP1, subs, 60, null, false, 10, 0);
    }

    [Fact]
    public async Task Refusals_NameTheProblem()
    {
        var (db, _) = await SetupAsync();
        await using var __ = db;
        var subs = ThreeSearches(nq: 1);
        async Task<string> Refused(HybridRequest request) =>
            (await Assert.ThrowsAsync<QuiverException>(() => db.HybridSearchAsync("c", request))).Message;

        Assert.Contains("give one weight per request", await Refused(Request(subs, HybridRanker.Weighted([0.5f]), 5)));
        Assert.Contains("weights must be in [0, 1]", await Refused(Request(subs, HybridRanker.Weighted([0.5f, 1.5f, 0f]), 5)));
        Assert.Contains("RRF k must be in (0, 16384)", await Refused(Request(subs, HybridRanker.Rrf(0), 5)));
        Assert.Contains("limit must be in 1..16384", await Refused(Request(subs, HybridRanker.Rrf(), 0)));
        Assert.Contains("offset + limit must be at most 16384", await Refused(Request(subs, HybridRanker.Rrf(), 10, offset: 16_380)));
        Assert.Contains("0 search requests", await Refused(Request([], HybridRanker.Rrf(), 5)));
        Assert.Contains("request 1 has 2 query vectors and request 0 has 1", await Refused(Request(
            [subs[0], subs[1] with { Queries = Queries(9, 6, 2) }], HybridRanker.Rrf(), 5)));
        var withOffset = Request(subs, HybridRanker.Rrf(), 5);
        withOffset = withOffset with { Requests = [withOffset.Requests[0], withOffset.Requests[1] with { Offset = 3 }] };
        Assert.Contains("request 1 sets Offset, which belongs to the hybrid search request", await Refused(withOffset));
        Assert.Contains("group-by field 'nope' does not exist", await Refused(Request(subs, HybridRanker.Rrf(), 5, groupBy: "nope")));
        Assert.Contains("hybrid search: request 2: search: anns_field 'color' is not a vector field",
            await Refused(Request([subs[0], subs[1], subs[2] with { Field = "color" }], HybridRanker.Rrf(), 5)));
    }
}
