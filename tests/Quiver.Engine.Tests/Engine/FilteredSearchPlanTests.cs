using System.Text.Json;
using Quiver.Search;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Filters answered from scalar indexes as row lists, and the planner's pre-filter / post-filter / brute-force
/// choice, against exact oracles: filtered exact search and query against brute force over rows kept here (indexed and
/// scanned fields, nulls, deletes, growing rows), allowed rows at past snapshot timestamps against bitmap evaluation,
/// and post-filtered HNSW search whose survivors fall short against brute force.</summary>
public sealed class FilteredSearchPlanTests : IDisposable
{
    private const int Dim = 8;
    private const int K = 10;
    private readonly TempFolder _dir = new();

    public void Dispose()
    {
        SearchPlanner.Override = null;
        _dir.Dispose();
    }

    /// <summary>Filter, its meaning over a row, and whether the sealed segment answers it as a row list.</summary>
    public static TheoryData<string, bool> Filters => new()
    {
        { "stock < 1", true },
        { "stock >= 1", false },
        { "stock != 5", false },
        { "stock in [3, 4]", true },
        { "not (stock == 5)", false },
        { "title == \"product 17\"", true },
        { "title != \"product 17\"", true },
        { "title in [\"product 3\", \"product 2500\", \"product 99999\"]", true },
        { "price < 3.0", true },
        { "price >= 3.0", true },
        { "price == 150.5 or price > 297", true },
        { "not (price < 297)", true },
        { "id > 3950", true },
        { "id in [1, 2, 3, 4000, 4100]", true },
        { "id < 20 or stock == 50", true },
        { "stock < 3 and price > 295", true },
        { "category == \"tech\"", false },
        { "meta[\"size\"] == 3", false },
        { "stock < 1 and meta[\"size\"] < 5", false },
        { "stock is null", false },
    };

    private static bool Matches(string filter, Row r)
    {
        var stock = r["stock"] is { } st ? Convert.ToInt64(st, System.Globalization.CultureInfo.InvariantCulture) : (long?)null;
        var price = (double)r["price"]!;
        var id = (long)r["id"]!;
        var title = (string)r["title"]!;
        var size = JsonDocument.Parse((string)r["meta"]!).RootElement.GetProperty("size").GetInt32();
        return filter switch
        {
            "stock < 1" => stock < 1,
            "stock >= 1" => stock >= 1,
            "stock != 5" => stock is { } s && s != 5,
            "stock in [3, 4]" => stock is 3 or 4,
            "not (stock == 5)" => stock is { } s2 && s2 != 5,
            "title == \"product 17\"" => title == "product 17",
            "title != \"product 17\"" => title != "product 17",
            "title in [\"product 3\", \"product 2500\", \"product 99999\"]" => title is "product 3" or "product 2500" or "product 99999",
            "price < 3.0" => price < 3.0,
            "price >= 3.0" => price >= 3.0,
            "price == 150.5 or price > 297" => price == 150.5 || price > 297,
            "not (price < 297)" => price >= 297,
            "id > 3950" => id > 3950,
            "id in [1, 2, 3, 4000, 4100]" => id is 1 or 2 or 3 or 4000 or 4100,
            "id < 20 or stock == 50" => id < 20 || stock == 50,
            "stock < 3 and price > 295" => stock < 3 && price > 295,
            "category == \"tech\"" => (string)r["category"]! == "tech",
            "meta[\"size\"] == 3" => size == 3,
            "stock < 1 and meta[\"size\"] < 5" => stock < 1 && size < 5,
            "stock is null" => stock is null,
            _ => throw new ArgumentException(filter),
        };
    }

    /// <summary>4,000 sealed rows (one segment), 10% of them deleted, and 200 growing rows.</summary>
    private async Task<(QuiverEngine Db, Dictionary<long, Row> Alive)> SetupAsync()
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
        var rng = new Random(11);
        var rows = Enumerable.Range(0, 4200).Select(i => TestData.ProductRow(rng, i, Dim)).ToList();
        await db.InsertAsync("c", rows[..4000]);
        await db.FlushAsync("c");
        Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
        await db.InsertAsync("c", rows[4000..]);
        var deleted = rows.Where(_ => rng.Next(10) == 0).Select(r => (long)r["id"]!).ToHashSet();
        await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
        return (db, rows.Where(r => !deleted.Contains((long)r["id"]!)).ToDictionary(r => (long)r["id"]!));
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task FilteredExactSearchAndQuery_MatchBruteForce(string filter, bool rowList)
    {
        var (db, alive) = await SetupAsync();
        await using var _ = db;
        var allowed = alive.Values.Where(r => Matches(filter, r)).ToList();
        var rng = new Random(filter.Length);
        var queries = Enumerable.Range(0, 3).Select(_ => TestData.Vector(rng, Dim)).ToArray();
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = queries, Limit = K, Filter = filter });
        for (var q = 0; q < queries.Length; q++)
        {
            var truth = BruteForce.TopK(allowed.Select(r => ((long)r["id"]!, (float[])r["embedding"]!)), queries[q], MetricType.L2, K);
            Assert.Equal(truth.Select(t => t.Key), result.Hits[q].Select(h => (long)h.Id));
        }

        Assert.Equal(rowList ? 1 : 0, result.Stats()!.RowListSegments);

        // Query: the same rows, count(*) the same count, and a limit the same first rows as bitmap evaluation gives.
        var ids = (await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["id"] })).Select(r => (long)r["id"]!).Order();
        Assert.Equal(allowed.Select(r => (long)r["id"]!).Order(), ids);
        var count = (await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["count(*)"] }))[0]["count(*)"];
        Assert.Equal((long)allowed.Count, count);
        var limited = new QueryRequest { Filter = filter, OutputFields = ["id"], Limit = 7, Offset = 2 };
        var first = (await db.QueryAsync("c", limited)).Select(r => (long)r["id"]!).ToList();
        SearchPlanner.Override = new PlannerOverride(RowSets: false);
        Assert.Equal((await db.QueryAsync("c", limited)).Select(r => (long)r["id"]!), first);
    }

    [Fact]
    public async Task AllowedRows_AtPastTimestamps_MatchBitmapEvaluation()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
        var rng = new Random(4);
        var inserted = await db.InsertAsync("c", [.. Enumerable.Range(0, 3000).Select(i => TestData.ProductRow(rng, i, Dim))]);
        await db.FlushAsync("c");
        var first = await db.DeleteAsync("c", [.. Enumerable.Range(0, 3000).Where(i => i % 7 == 0).Select(i => (object)(long)i)]);
        var second = await db.DeleteWhereAsync("c", "stock < 2 or price < 5");
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var snap = Assert.Single(view.Segments);
        long[] timestamps = [inserted.Timestamp, first.Timestamp - 1, first.Timestamp, second.Timestamp - 1, second.Timestamp, view.Timestamp];
        foreach (var (filter, _) in Filters.Select(d => ((string)d[0], (bool)d[1])))
        {
            var bound = shard.Plans.Filter(filter, shard.Schema, null);
            foreach (var ts in timestamps)
            {
                SearchPlanner.Override = new PlannerOverride(RowSets: false);
                var expected = QueryExecutor.Allowed(snap, ts, bound);
                SearchPlanner.Override = null;
                var actual = QueryExecutor.Allowed(snap, ts, bound);
                Assert.Equal(expected.Count, actual.Count);
                var want = Enumerable.Range(0, snap.RowCount).Where(expected.Contains).ToArray();
                Assert.Equal(want, Enumerable.Range(0, snap.RowCount).Where(actual.Contains).ToArray());
                var walked = new List<int>();
                for (var row = actual.Next(0); row >= 0; row = actual.Next(row + 1))
                {
                    walked.Add(row);
                }

                Assert.Equal(want, walked);
                var bits = actual.AsBitmap(snap.RowCount);
                Assert.Equal(want, bits is null ? Enumerable.Range(0, snap.RowCount).ToArray() : Enumerable.Range(0, snap.RowCount).Where(r => bits[r]).ToArray());
            }
        }
    }

    /// <summary>HNSW over clustered rows; the query sits on row 0. A filter that leaves out the rows nearest the query
    /// (and deletes among them) makes an unfiltered search for k' hits find too few survivors: the search asks again for
    /// more, then pre-filters, and the answer still matches brute force; a harmless filter post-filters in one go. Both
    /// are lists of the rows left out, on a segment large enough that the planner post-filters them itself.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PostFilter_WithTooFewSurvivors_SearchesAgain_ThenPreFilters(bool forced)
    {
        const int rows = 20_000;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("bucket", DataType.Int64), FieldSchema.Vector("vec", 16, MetricType.L2)],
        });
        var data = Indexing.IndexTestKit.Clustered(9, rows, 16, clusters: 8);
        var vectors = Enumerable.Range(0, rows).Select(i => data.AsSpan(i * 16, 16).ToArray()).ToArray();
        await db.InsertAsync("c", [.. Enumerable.Range(0, rows).Select(i => new Row { ["id"] = (long)i, ["bucket"] = (long)(i % 100), ["vec"] = vectors[i] })]);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "100" } });
        await db.WaitForIndexAsync("c");
        var query = vectors[0];
        var nearest = BruteForce.TopK(Enumerable.Range(0, rows).Select(i => ((long)i, vectors[i])), query, MetricType.L2, 60).Select(t => t.Key).ToList();
        // The 40 rows nearest the query are filtered out, and 10 more behind them deleted.
        var excluded = nearest.Take(40).ToHashSet();
        var deleted = nearest.Skip(40).Take(10).ToHashSet();
        await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
        var parameters = new Dictionary<string, string> { ["ef"] = "64" };
        SearchPlanner.Override = forced ? new PlannerOverride(Strategy: SegmentStrategy.PostFilter) : null;

        async Task<SearchStats> CheckAsync(string filter, Func<long, bool> allowed)
        {
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = K, Filter = filter, SearchParams = parameters });
            var truth = BruteForce.TopK(Enumerable.Range(0, rows).Where(i => allowed(i) && !deleted.Contains(i)).Select(i => ((long)i, vectors[i])), query, MetricType.L2, K)
                .Select(t => t.Key).ToHashSet();
            var got = result.Hits[0].Select(h => (long)h.Id).ToList();
            Assert.Equal(K, got.Count);
            Assert.All(got, id => Assert.True(allowed(id) && !deleted.Contains(id), $"row {id} is filtered out or deleted"));
            Assert.True(got.Count(truth.Contains) >= K - 1, $"`{filter}`: {got.Count(truth.Contains)} of the true top {K}");
            return result.Stats()!;
        }

        var hostile = await CheckAsync($"not (id in [{string.Join(", ", excluded)}])", id => !excluded.Contains(id));
        Assert.Equal(1, hostile.RowListSegments);
        Assert.Equal(1, hostile.PostFiltered);
        Assert.Equal(1, hostile.PostFilterRetries);
        Assert.Equal(1, hostile.PostFilterGaveUp);

        var harmless = await CheckAsync("bucket != 99", id => id % 100 != 99);
        Assert.Equal(1, harmless.PostFiltered);
        Assert.Equal(0, harmless.PostFilterGaveUp);

        // Far below the post-filter's range the planner never post-filters on its own.
        var narrow = await CheckAsync("bucket < 2", id => id % 100 < 2);
        Assert.Equal(forced ? 1 : 0, narrow.PostFiltered);
    }
}
