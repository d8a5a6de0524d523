using Quiver.Search;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>One sealed HNSW segment of seeded clustered rows, tagged 0..99 in turn, shared by the tests of
/// <see cref="PostFilterPlanTests"/> (built once: the index is the slow part).</summary>
public sealed class PostFilterSegment : IAsyncLifetime
{
    public const int Rows = 20_000;
    public const int Dim = 32;
    public const int Queries = 200;
    private readonly TempFolder _dir = new();

    public QuiverEngine Db { get; private set; } = null!;

    public float[][] Vectors { get; private set; } = [];

    public float[][] QueryVectors { get; private set; } = [];

    public async Task InitializeAsync()
    {
        // Queries are drawn from the same clusters as the rows (one seeded stream, the last rows held back).
        var data = Indexing.IndexTestKit.Clustered(31, Rows + Queries, Dim, clusters: 64);
        var all = Enumerable.Range(0, Rows + Queries).Select(i => data.AsSpan(i * Dim, Dim).ToArray()).ToArray();
        Vectors = all[..Rows];
        QueryVectors = all[Rows..];
        Db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await Db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("tag", DataType.Int64), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        await Db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["tag"] = (long)(i % 100), ["vec"] = Vectors[i] })]);
        await Db.FlushAsync("c");
        // A small graph searched with a narrow beam, so that recall is well below 1 and a thinner beam shows.
        await Db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "vec",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "40" },
        });
        await Db.WaitForIndexAsync("c");
    }

    public async Task DisposeAsync()
    {
        await Db.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>The post-filter searched at the pre-filter's recall, and the planner's choice between exact, pre-filter
/// and post-filter, against an exact oracle (brute force over the rows the filter keeps) on one HNSW segment.</summary>
public sealed class PostFilterPlanTests(PostFilterSegment segment) : IClassFixture<PostFilterSegment>, IDisposable
{
    private const int K = 10;
    private static readonly Dictionary<string, string> s_params = new() { ["ef"] = "16" };

    public void Dispose() => SearchPlanner.Override = null;

    /// <summary>Forced post-filter and forced pre-filter on the same queries at selectivities from 5% to 99%: the
    /// post-filter's unfiltered beam, widened by 1 / selectivity over the pre-filter's, holds as many allowed rows as
    /// the pre-filter's beam, so its recall against brute force is at least the pre-filter's less 0.01.</summary>
    [Fact]
    public async Task PostFilter_ReachesThePreFiltersRecall_AtEverySelectivity()
    {
        foreach (var percent in new[] { 5, 10, 20, 50, 90, 99 })
        {
            var pre = await RecallAsync(percent, SegmentStrategy.PreFilter);
            var post = await RecallAsync(percent, SegmentStrategy.PostFilter);
            Assert.True(post.Recall >= pre.Recall - 0.01, $"tag < {percent}: post-filter recall {post.Recall:F3}, pre-filter {pre.Recall:F3}");
            Assert.Equal(PostFilterSegment.Queries, post.Stats.PostFiltered);
            Assert.Equal(0, pre.Stats.PostFiltered);
        }
    }

    /// <summary>The planner's own choice (docs/engine.md, "Filtered search: the planner's choice"), one query per call
    /// unless <paramref name="batched"/>: brute force over a short row list; the pre-filter where the allowed rows are a
    /// bitmap (it holds as many allowed rows in a beam 1 / selectivity narrower than the post-filter's); the post-filter
    /// only for a list of the few rows left out, whose bitmap the pre-filter would first build, and not when the call
    /// carries so many queries that the one bitmap costs each of them little. Every answer keeps the pre-filter's
    /// recall against brute force.</summary>
    [Theory]
    [InlineData(1, false, "exact")]
    [InlineData(5, false, "exact")]
    [InlineData(20, false, "pre")]
    [InlineData(50, false, "pre")]
    [InlineData(90, false, "pre")]
    [InlineData(99, false, "post")]
    [InlineData(99, true, "pre")]
    public async Task Planner_ChoosesTheDocumentedPlan(int percent, bool batched, string plan)
    {
        var chosen = await RecallAsync(percent, null, batched);
        var stats = chosen.Stats;
        var got = stats.PostFiltered > 0 ? "post" : stats.IndexedSegments > 0 ? "pre" : "exact";
        Assert.Equal(plan, got);
        Assert.Equal(plan == "exact" ? chosen.Calls : 0, stats.ExactSegments);
        Assert.Equal(plan == "post" ? PostFilterSegment.Queries : 0, stats.PostFiltered);
        var forced = await RecallAsync(percent, SegmentStrategy.PreFilter, batched);
        Assert.True(chosen.Recall >= forced.Recall - 0.01, $"tag < {percent}: {got} recall {chosen.Recall:F3}, pre-filter {forced.Recall:F3}");
    }

    /// <summary>Recall@K over all queries with the filter <c>tag &lt; percent</c> and the plan forced (null: the
    /// planner's), against brute force over the allowed rows; every hit must be allowed. One query per call, or all in
    /// one call when <paramref name="batched"/>; the statistics are summed over the calls.</summary>
    private async Task<(double Recall, SearchStats Stats, int Calls)> RecallAsync(int percent, SegmentStrategy? forced, bool batched = false)
    {
        SearchPlanner.Override = forced is { } f ? new PlannerOverride(Strategy: f) : null;
        try
        {
            var queries = segment.QueryVectors;
            var calls = batched ? [queries] : queries.Select(q => new[] { q }).ToArray();
            var hits = new List<IReadOnlyList<SearchHit>>();
            var stats = new SearchStats();
            foreach (var vectors in calls)
            {
                var result = await segment.Db.SearchAsync("c", new SearchRequest { Vectors = vectors, Limit = K, Filter = $"tag < {percent}", SearchParams = s_params });
                hits.AddRange(result.Hits);
                stats.IndexedSegments += result.Stats()!.IndexedSegments;
                stats.ExactSegments += result.Stats()!.ExactSegments;
                stats.PostFiltered += result.Stats()!.PostFiltered;
            }

            var allowed = Enumerable.Range(0, PostFilterSegment.Rows).Where(i => i % 100 < percent).Select(i => ((long)i, segment.Vectors[i])).ToList();
            double found = 0;
            for (var q = 0; q < queries.Length; q++)
            {
                var truth = BruteForce.TopK(allowed, queries[q], MetricType.L2, K).Select(t => t.Key).ToHashSet();
                var ids = hits[q].Select(h => (long)h.Id).ToList();
                Assert.All(ids, id => Assert.True(id % 100 < percent, $"row {id} is filtered out"));
                Assert.Equal(K, ids.Count);
                found += ids.Count(truth.Contains);
            }

            return (found / (queries.Length * K), stats, calls.Length);
        }
        finally
        {
            SearchPlanner.Override = null;
        }
    }
}
