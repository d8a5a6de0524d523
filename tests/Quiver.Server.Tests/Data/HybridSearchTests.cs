using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Rest;
using Quiver.Testing;
using static Quiver.Server.Tests.Data.Columns;
using static Quiver.Testing.HybridOracle;
using WireHybrid = Quiver.Protocol.Milvus.HybridSearchRequest;
using WireSearch = Quiver.Protocol.Milvus.SearchRequest;

namespace Quiver.Server.Tests.Data;

/// <summary>HybridSearch over gRPC (rank_params as the SDKs send RRFRanker and WeightedRanker, and Milvus 2.6's
/// function_score) and REST <c>entities/hybrid_search</c>, each answer against <see cref="HybridOracle"/>; the refusals.</summary>
public sealed class HybridSearchTests
{
    private const int Rows = 150;
    private static readonly string[] _colors = ["red", "green", "blue", "black"];

    /// <summary>Rows with a 8-d L2 <c>dense</c> vector, a 6-d IP <c>other</c> vector, a <c>color</c> and an <c>n</c>.</summary>
    private static async Task<List<Row>> SeedAsync(TestServer server)
    {
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                FieldSchema.VarChar("color", 16),
                FieldSchema.Scalar("n", Quiver.DataType.Int64),
                FieldSchema.Vector("dense", 8, MetricType.L2),
                FieldSchema.Vector("other", 6, MetricType.IP),
            ],
        });
        var rows = HybridOracle.Rows(8, Rows, _colors, ("dense", 8), ("other", 6));
        await server.Server.Engine.InsertAsync("docs", rows);
        return rows;
    }

    private static readonly float[] _denseQuery = TestData.Vector(new Random(1), 8);
    private static readonly float[] _otherQuery = TestData.Vector(new Random(2), 6);

    /// <summary>The two searches' oracle hits: <c>dense</c> top 20 of the red/blue rows, <c>other</c> top 15 of n &gt;= 3.</summary>
    private static List<List<Hit>> Oracle(List<Row> rows, int? groupSize = null, int denseLimit = 20, int otherLimit = 15) =>
    [
        HybridOracle.Search(rows.Where(r => (string)r["color"]! is "red" or "blue").Select(Candidate("dense")), _denseQuery, MetricType.L2, denseLimit, groupSize),
        HybridOracle.Search(rows.Where(r => (long)r["n"]! >= 3).Select(Candidate("other")), _otherQuery, MetricType.IP, otherLimit, groupSize),
    ];

    private static Func<Row, HybridOracle.Candidate> Candidate(string field) =>
        r => new HybridOracle.Candidate((long)r["id"]!, (float[])r[field]!, (string)r["color"]!);

    private static readonly MetricType[] _metrics = [MetricType.L2, MetricType.IP];

    /// <summary>A sub-request as the Node SDK builds one (its top-level limit, offset and group-by copied in).</summary>
    private static WireSearch Sub(string field, float[] query, int limit, string expr, int offset = 0) => new()
    {
        CollectionName = "docs",
        Dsl = expr,
        DslType = Protocol.Common.DslType.BoolExprV1,
        Nq = 1,
        PlaceholderGroup = TestPlaceholders.Group([query]),
        SearchParams =
        {
            Kv("anns_field", field), Kv("params", "{}"), Kv("topk", limit.ToString(CultureInfo.InvariantCulture)),
            Kv("offset", offset.ToString(CultureInfo.InvariantCulture)), Kv("metric_type", ""), Kv("ignore_growing", "false"),
        },
        OutputFields = { "color", "n" },
    };

    private static WireHybrid Hybrid(int limit, int offset, params Protocol.Common.KeyValuePair[] rank)
    {
        var request = new WireHybrid
        {
            CollectionName = "docs",
            Requests =
            {
                Sub("dense", _denseQuery, 20, "color in [\"red\", \"blue\"]", offset),
                Sub("other", _otherQuery, 15, "n >= 3", offset),
            },
            OutputFields = { "color", "n" },
            RankParams =
            {
                Kv("round_decimal", "-1"), Kv("limit", limit.ToString(CultureInfo.InvariantCulture)),
                Kv("offset", offset.ToString(CultureInfo.InvariantCulture)),
            },
        };
        request.RankParams.Add(rank);
        return request;
    }

    private static void AssertHits(List<(long Id, float Score)> expected, IReadOnlyList<long> ids, IReadOnlyList<float> scores)
    {
        Assert.Equal(expected.Select(e => e.Id), ids);
        Assert.Equal(expected.Count, scores.Count);
        for (var i = 0; i < scores.Count; i++)
        {
            Assert.Equal(expected[i].Score, scores[i], 1e-4);
        }
    }

    [Fact]
    public async Task Grpc_RrfRankerAsTheSdkSendsIt_EqualsFusedOracle_WithOffsetAndOutputFields()
    {
        await using var server = await TestServer.StartAsync();
        var rows = await SeedAsync(server);
        var response = await server.Milvus.HybridSearchAsync(Hybrid(8, 3, Kv("strategy", "rrf"), Kv("params", "{\"k\":10}")));
        Assert.Equal(0, response.Status.Code);
        var expected = Fuse(Oracle(rows), _metrics, 10, null, false, 8, 3);
        AssertHits(expected, response.Results.Ids.IntId.Data, response.Results.Scores);
        Assert.Equal([8L], response.Results.Topks);
        var byId = rows.ToDictionary(r => (long)r["id"]!);
        Assert.Equal(expected.Select(e => (string)byId[e.Id]["color"]!), response.Results.FieldsData.Get("color").Scalars.StringData.Data);
        Assert.Equal(expected.Select(e => (long)byId[e.Id]["n"]!), response.Results.FieldsData.Get("n").Scalars.LongData.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Grpc_WeightedRanker_RankParamsAndFunctionScore_EqualFusedOracle(bool normalize)
    {
        await using var server = await TestServer.StartAsync();
        var rows = await SeedAsync(server);
        float[] weights = [0.7f, 0.4f];
        var expected = Fuse(Oracle(rows), _metrics, null, weights, normalize, 10, 0);

        var legacy = await server.Milvus.HybridSearchAsync(Hybrid(10, 0, Kv("strategy", "weighted"),
            Kv("params", $"{{\"weights\":[0.7,0.4],\"norm_score\":{(normalize ? "true" : "false")}}}")));
        Assert.Equal(0, legacy.Status.Code);
        AssertHits(expected, legacy.Results.Ids.IntId.Data, legacy.Results.Scores);

        var request = Hybrid(10, 0);
        request.FunctionScore = new Protocol.Schema.FunctionScore
        {
            Functions =
            {
                new Protocol.Schema.FunctionSchema
                {
                    Name = "rerank",
                    Type = Protocol.Schema.FunctionType.Rerank,
                    Params = { Kv("reranker", "weighted"), Kv("weights", "[0.7, 0.4]"), Kv("norm_score", normalize ? "true" : "false") },
                },
            },
        };
        var modern = await server.Milvus.HybridSearchAsync(request);
        Assert.Equal(0, modern.Status.Code);
        AssertHits(expected, modern.Results.Ids.IntId.Data, modern.Results.Scores);
    }

    [Fact]
    public async Task Grpc_GroupByInRankParams_EachSearchGroupsAndGroupValuesAreReturned()
    {
        await using var server = await TestServer.StartAsync();
        var rows = await SeedAsync(server);
        var request = Hybrid(2, 0, Kv("strategy", "rrf"), Kv("params", "{\"k\":60}"), Kv("group_by_field", "color"), Kv("group_size", "2"));
        request.Requests[0].SearchParams.Single(p => p.Key == "topk").Value = "3";
        request.Requests[1].SearchParams.Single(p => p.Key == "topk").Value = "3";
        var response = await server.Milvus.HybridSearchAsync(request);
        Assert.Equal(0, response.Status.Code);
        var expected = Fuse(Oracle(rows, groupSize: 2, denseLimit: 3, otherLimit: 3), _metrics, 60, null, false, 2, 0, groupSize: 2);
        AssertHits(expected, response.Results.Ids.IntId.Data, response.Results.Scores);
        var byId = rows.ToDictionary(r => (long)r["id"]!);
        Assert.Equal(expected.Select(e => (string)byId[e.Id]["color"]!), response.Results.GroupByFieldValue.Scalars.StringData.Data);
    }

    [Fact]
    public async Task Rest_HybridSearch_EqualsFusedOracle()
    {
        await using var server = await TestServer.StartAsync();
        var rows = await SeedAsync(server);
        var body = new JsonObject
        {
            ["collectionName"] = "docs",
            ["search"] = new JsonArray(
                new JsonObject { ["data"] = new JsonArray(new JsonArray([.. _denseQuery.Select(v => (JsonNode?)v)])), ["annsField"] = "dense", ["filter"] = "color in [\"red\", \"blue\"]", ["limit"] = 20 },
                new JsonObject { ["data"] = new JsonArray(new JsonArray([.. _otherQuery.Select(v => (JsonNode?)v)])), ["annsField"] = "other", ["filter"] = "n >= 3", ["limit"] = 15 }),
            ["rerank"] = new JsonObject { ["strategy"] = "weighted", ["params"] = new JsonObject { ["weights"] = new JsonArray(0.3, 0.9), ["norm_score"] = true } },
            ["limit"] = 6,
            ["offset"] = 2,
            ["outputFields"] = new JsonArray("color"),
        };
        var answer = await PostAsync(server, "/entities/hybrid_search", body.ToJsonString());
        Assert.True(answer["code"]!.GetValue<int>() == 0, answer.ToJsonString());
        var data = answer["data"]!.AsArray();
        var expected = Fuse(Oracle(rows), _metrics, null, [0.3f, 0.9f], true, 6, 2);
        AssertHits(expected, [.. data.Select(r => long.Parse(r!["id"]!.ToString(), CultureInfo.InvariantCulture))],
            [.. data.Select(r => r!["distance"]!.GetValue<float>())]);
        var byId = rows.ToDictionary(r => (long)r["id"]!);
        Assert.All(data, r => Assert.Equal(byId[long.Parse(r!["id"]!.ToString(), CultureInfo.InvariantCulture)]["color"], r!["color"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("strategy=bogus", "unsupported rank type bogus")]
    [InlineData("weights=1", "give one weight per request")]
    [InlineData("k=0", "RRF k must be in (0, 16384)")]
    [InlineData("decay", "rerank function 'decay' is not supported")]
    [InlineData("nq", "request 1 has 2 query vectors and request 0 has 1")]
    [InlineData("limit", "rank_params: limit [0] is invalid")]
    public async Task Refusals_Answer1100NamingTheProblem(string mistake, string message)
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server);
        var request = mistake switch
        {
            "strategy=bogus" => Hybrid(5, 0, Kv("strategy", "bogus"), Kv("params", "{}")),
            "weights=1" => Hybrid(5, 0, Kv("strategy", "weighted"), Kv("params", "{\"weights\":[1]}")),
            "k=0" => Hybrid(5, 0, Kv("strategy", "rrf"), Kv("params", "{\"k\":0}")),
            "limit" => Hybrid(0, 0),
            _ => Hybrid(5, 0),
        };
        if (mistake == "decay")
        {
            request.FunctionScore = new Protocol.Schema.FunctionScore
            {
                Functions = { new Protocol.Schema.FunctionSchema { Name = "d", Type = Protocol.Schema.FunctionType.Rerank, Params = { Kv("reranker", "decay") } } },
            };
        }
        else if (mistake == "nq")
        {
            request.Requests[1].PlaceholderGroup = TestPlaceholders.Group([_otherQuery, _otherQuery]);
            request.Requests[1].Nq = 2;
        }

        var response = await server.Milvus.HybridSearchAsync(request);
        Assert.Equal(1100, response.Status.Code);
        Assert.Contains(message, response.Status.Reason, StringComparison.Ordinal);
    }

    private static async Task<JsonObject> PostAsync(TestServer server, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
