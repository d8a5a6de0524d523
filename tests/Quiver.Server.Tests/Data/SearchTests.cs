using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using EngineSearch = Quiver.SearchRequest;

namespace Quiver.Server.Tests.Data;

public sealed class SearchTests
{
    private const int Dim = 8;
    private const int Rows = 200;
    private static readonly string[] _categories = ["tech", "food", "travel", "sport"];

    /// <summary>A collection of <see cref="Rows"/> rows with a seeded random vector, a category and a price.</summary>
    private static async Task<float[][]> SeedAsync(TestServer server, string name, MetricType metric)
    {
        await server.CreateLoadedCollectionAsync(name, new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.VarChar("category", 16),
                FieldSchema.Scalar("price", Quiver.DataType.Double),
                FieldSchema.Vector("embedding", Dim, metric),
            ],
            EnableDynamicField = true,
        });
        var random = new Random(42);
        var vectors = new float[Rows][];
        for (var i = 0; i < Rows; i++)
        {
            vectors[i] = [.. Enumerable.Range(0, Dim).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        }

        var r = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = name,
            NumRows = Rows,
            FieldsData =
            {
                Long("id", [.. Enumerable.Range(0, Rows).Select(i => (long)i)]),
                VarChar("category", [.. Enumerable.Range(0, Rows).Select(i => _categories[i % 4])]),
                Double("price", [.. Enumerable.Range(0, Rows).Select(i => (double)(i * 3 % 300))]),
                Vectors("embedding", Dim, vectors),
                Dynamic([.. Enumerable.Range(0, Rows).Select(i => $"{{\"rank\":{i % 7}}}")]),
            },
        });
        Assert.Equal(0, r.Status.Code);
        return vectors;
    }

    /// <summary>A search request as the Node SDK builds it.</summary>
    private static Protocol.Milvus.SearchRequest Request(string collection, IEnumerable<float[]> queries, int topk, string paramsJson = "{}",
        string metric = "", string expr = "", params string[] outputFields)
    {
        var list = queries.ToList();
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            Dsl = expr,
            DslType = Protocol.Common.DslType.BoolExprV1,
            Nq = list.Count,
            PlaceholderGroup = TestPlaceholders.Group(list),
            SearchParams =
            {
                Kv("anns_field", "embedding"),
                Kv("params", paramsJson),
                Kv("topk", topk.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Kv("offset", "0"),
                Kv("metric_type", metric),
                Kv("ignore_growing", "false"),
            },
            ConsistencyLevel = Protocol.Common.ConsistencyLevel.Bounded,
        };
        request.OutputFields.AddRange(outputFields);
        return request;
    }

    [Theory]
    [InlineData(MetricType.L2, "L2")]
    [InlineData(MetricType.Cosine, "COSINE")]
    [InlineData(MetricType.IP, "IP")]
    public async Task Search_WithFilterAndOutputFields_EqualsTheEngineAnswer(MetricType metric, string metricName)
    {
        await using var server = await TestServer.StartAsync();
        var vectors = await SeedAsync(server, "docs", metric);
        var queries = new[] { vectors[3], vectors[77] };
        const string Filter = "category == \"tech\" and price >= 50 and price <= 200";

        var response = await server.Milvus.SearchAsync(Request("docs", queries, 5, metric: metricName, expr: Filter, outputFields: ["category", "price", "rank"]));
        Assert.Equal(0, response.Status.Code);
        var results = response.Results;
        var oracle = await server.Server.Engine.SearchAsync("docs", new EngineSearch
        {
            Vectors = queries,
            Limit = 5,
            Filter = Filter,
            OutputFields = ["category", "price"],
        });

        Assert.Equal(2, results.NumQueries);
        Assert.Equal(5, results.TopK);
        Assert.Equal(oracle.Hits.Select(h => (long)h.Count), results.Topks);
        Assert.Equal(oracle.Hits.SelectMany(h => h).Select(h => (long)h.Id), results.Ids.IntId.Data);
        Assert.Equal(oracle.Hits.SelectMany(h => h).Select(h => h.Score), results.Scores);
        Assert.All(results.FieldsData.Get("category").Scalars.StringData.Data, c => Assert.Equal("tech", c));
        Assert.All(results.FieldsData.Get("price").Scalars.DoubleData.Data, p => Assert.InRange(p, 50, 200));
        Assert.Equal(results.Ids.IntId.Data, results.FieldsData.Get("id").Scalars.LongData.Data);
        Assert.Equal(["id", "category", "price", "rank"], results.OutputFields);
        Assert.Equal("id", results.PrimaryFieldName);
        Assert.Equal(results.Scores.Count, results.FieldsData.Get("$meta").JsonRows().Count);
        // Milvus's score conventions: L2 is the squared distance, ascending; IP and COSINE are similarities, descending.
        var scores = results.Scores.Take((int)results.Topks[0]).ToList();
        Assert.Equal(metric == MetricType.L2 ? scores.Order() : scores.OrderDescending(), scores);
    }

    [Fact]
    public async Task Search_OffsetAndRoundDecimal_SkipAndRoundLikeMilvus()
    {
        await using var server = await TestServer.StartAsync();
        var vectors = await SeedAsync(server, "docs", MetricType.L2);
        var all = (await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 10))).Results;
        var request = Request("docs", [vectors[0]], 5, paramsJson: "{\"round_decimal\":2}");
        request.SearchParams.Add(Kv("round_decimal", "2"));
        request.SearchParams.Single(p => p.Key == "offset").Value = "5";
        var paged = (await server.Milvus.SearchAsync(request)).Results;
        Assert.Equal(all.Ids.IntId.Data.Skip(5), paged.Ids.IntId.Data);
        Assert.Equal(all.Scores.Skip(5).Select(s => (float)Math.Round(s, 2, MidpointRounding.AwayFromZero)), paged.Scores);
    }

    [Fact]
    public async Task Search_GroupBy_ReturnsGroupValuesAndAtMostGroupSizePerGroup()
    {
        await using var server = await TestServer.StartAsync();
        var vectors = await SeedAsync(server, "docs", MetricType.Cosine);
        var request = Request("docs", [vectors[9]], 3, outputFields: ["price"]);
        request.SearchParams.Add(Kv("group_by_field", "category"));
        request.SearchParams.Add(Kv("group_size", "2"));
        request.SearchParams.Add(Kv("strict_group_size", "true"));
        var results = (await server.Milvus.SearchAsync(request)).Results;
        Assert.Equal(6, results.Scores.Count);
        var groups = results.GroupByFieldValue.Scalars.StringData.Data;
        Assert.Equal("category", results.GroupByFieldValue.FieldName);
        Assert.Equal(3, groups.Distinct().Count());
        Assert.All(groups.GroupBy(g => g), g => Assert.Equal(2, g.Count()));
        // The group field is not an output field unless asked for.
        Assert.DoesNotContain(results.FieldsData, f => f.FieldName == "category");
        var ids = results.Ids.IntId.Data;
        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal(_categories[ids[i] % 4], groups[i]);
        }
    }

    [Fact]
    public async Task Search_Range_KeepsScoresBetweenRangeFilterAndRadius()
    {
        await using var server = await TestServer.StartAsync();
        var vectors = await SeedAsync(server, "docs", MetricType.L2);
        var results = (await server.Milvus.SearchAsync(Request("docs", [vectors[5]], 50, paramsJson: "{\"radius\":4.0,\"range_filter\":1.0}"))).Results;
        Assert.NotEmpty(results.Scores);
        Assert.All(results.Scores, s => Assert.InRange(s, 1.0f, 4.0f));
        Assert.DoesNotContain(5L, results.Ids.IntId.Data);
        var exact = (await server.Milvus.SearchAsync(Request("docs", [vectors[5]], Rows))).Results;
        Assert.Equal(exact.Scores.Count(s => s is >= 1.0f and < 4.0f), results.Scores.Count);
    }

    [Fact]
    public async Task SearchIterator_PagesCoverEveryRowOnceInScoreOrder()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("ties", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("embedding", 2, MetricType.L2)],
        });
        // Many exact ties: 30 rows on 6 distinct points.
        var r = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "ties",
            NumRows = 30,
            FieldsData = { Long("id", [.. Enumerable.Range(0, 30).Select(i => (long)i)]), Vectors("embedding", 2, [.. Enumerable.Range(0, 30).Select(i => new float[] { i % 6, 0 })]) },
        });
        Assert.Equal(0, r.Status.Code);

        var seen = new List<long>();
        var scores = new List<float>();
        string? token = null;
        float? bound = null;
        for (var page = 0; page < 20; page++)
        {
            var request = Request("ties", [[0, 0]], 4);
            request.SearchParams.Add(Kv("iterator", "true"));
            request.SearchParams.Add(Kv("search_iter_v2", "true"));
            request.SearchParams.Add(Kv("search_iter_batch_size", "4"));
            if (bound is { } b)
            {
                request.SearchParams.Add(Kv("search_iter_last_bound", ((double)b).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
                request.SearchParams.Add(Kv("search_iter_id", token!));
            }

            var res = await server.Milvus.SearchAsync(request);
            Assert.Equal(0, res.Status.Code);
            if (res.Results.Scores.Count == 0)
            {
                break;
            }

            seen.AddRange(res.Results.Ids.IntId.Data);
            scores.AddRange(res.Results.Scores);
            token = res.Results.SearchIteratorV2Results.Token;
            bound = res.Results.SearchIteratorV2Results.LastBound;
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i).Order(), seen.Order());
        Assert.Equal(scores.Order(), scores);
    }

    [Fact]
    public async Task Search_ByIds_UsesTheRowsOwnVectors()
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server, "docs", MetricType.L2);
        var request = Request("docs", [], 1);
        request.Ids = new Protocol.Schema.IDs { IntId = new Protocol.Schema.LongArray { Data = { 12, 34 } } };
        request.Nq = 2;
        var results = (await server.Milvus.SearchAsync(request)).Results;
        Assert.Equal([12L, 34], results.Ids.IntId.Data);
        Assert.All(results.Scores, s => Assert.Equal(0f, s));
    }

    [Fact]
    public async Task Search_BadInputs_AnswerParameterInvalidNamingTheValue()
    {
        await using var server = await TestServer.StartAsync();
        var vectors = await SeedAsync(server, "docs", MetricType.Cosine);

        var mismatch = await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 5, metric: "L2"));
        Assert.Equal(1100, mismatch.Status.Code);
        Assert.Contains("L2", mismatch.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("COSINE", mismatch.Status.Reason, StringComparison.Ordinal);

        var topk = await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 16_385));
        Assert.Equal(1100, topk.Status.Code);
        Assert.Contains("16385", topk.Status.Reason, StringComparison.Ordinal);

        var dim = await server.Milvus.SearchAsync(Request("docs", [[1f, 2f, 3f]], 5));
        Assert.Equal(1100, dim.Status.Code);
        Assert.Contains("3", dim.Status.Reason, StringComparison.Ordinal);

        var filter = await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 5, expr: "price >>> 3"));
        Assert.Equal(1100, filter.Status.Code);

        var unknown = await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 5, expr: "", outputFields: ["nope"]));
        // The collection has the dynamic field, so an unknown name is a dynamic key: no error, and no value.
        Assert.Equal(0, unknown.Status.Code);

        var anns = Request("docs", [vectors[0]], 5);
        anns.SearchParams.Single(p => p.Key == "anns_field").Value = "price";
        var annsResponse = await server.Milvus.SearchAsync(anns);
        Assert.Equal(1100, annsResponse.Status.Code);
        Assert.Contains("price", annsResponse.Status.Reason, StringComparison.Ordinal);

        var missing = await server.Milvus.SearchAsync(Request("nothing_here", [vectors[0]], 5));
        Assert.Equal(100, missing.Status.Code);

        var ok = await server.Milvus.SearchAsync(Request("docs", [vectors[0]], 5));
        Assert.Equal(0, ok.Status.Code);
        Assert.Equal(0L, ok.Results.Ids.IntId.Data[0]);
    }
}
