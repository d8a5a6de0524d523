using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Data.Columns;
using EngineSearch = Quiver.SearchRequest;

namespace Quiver.Server.Tests.Data;

/// <summary>DISKANN over both wires: created over gRPC and over REST with Milvus's build parameters, searched with
/// <c>search_list</c>, answers checked against a brute-force scan (recall) and the engine's exact search (scores, which
/// DISKANN computes exactly from the full vectors it reads); describe-index reports the type and parameters; the
/// refusals (search_list below the limit, beam_width_ratio as a build parameter) carry code 1100.</summary>
public sealed class DiskAnnServerTests
{
    private const int Dim = 16;
    private const int Rows = 3000;
    private const int K = 10;
    private const string Build = "{\"max_degree\":24,\"search_list_size\":64}";

    private static readonly float[][] Data = Seeded(71, Rows + 20);

    private static float[][] Seeded(int seed, int count)
    {
        // Clustered like embeddings: 24 centres, points spread around them.
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray()).ToArray();
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var c = centres[rng.Next(centres.Length)];
            return c.Select(x => x + (float)((rng.NextDouble() - 0.5) * 0.4)).ToArray();
        })];
    }

    private static async Task SeedAsync(TestServer server, string name)
    {
        await server.Server.Engine.CreateCollectionAsync(name, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("embedding", Dim, MetricType.L2)],
        });
        var r = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = name,
            NumRows = Rows,
            FieldsData = { Long("id", [.. Enumerable.Range(0, Rows).Select(i => (long)i)]), Vectors("embedding", Dim, Data[..Rows]) },
        });
        Assert.Equal(0, r.Status.Code);

        // Sealed, so the index is built (growing segments are searched exactly).
        await server.Server.Engine.FlushAsync(name);
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name })).Code);
    }

    private static HashSet<long> BruteForce(float[] q) =>
        [.. Enumerable.Range(0, Rows).OrderBy(i => L2Squared(q, Data[i])).ThenBy(i => i).Take(K).Select(i => (long)i)];

    private static double L2Squared(float[] a, float[] b)
    {
        double sum = 0;
        for (var d = 0; d < a.Length; d++)
        {
            var diff = (double)a[d] - b[d];
            sum += diff * diff;
        }

        return sum;
    }

    private static IEnumerable<float[]> Queries => Data[Rows..];

    private static async Task<Dictionary<long, float>> ExactScoresAsync(TestServer server, string name, float[] q)
    {
        var exact = await server.Server.Engine.SearchAsync(name, new EngineSearch
        {
            Vectors = [q], Limit = Rows, SearchParams = new Dictionary<string, string> { ["exact"] = "true" },
        });
        return exact.Hits[0].ToDictionary(h => (long)h.Id, h => h.Score);
    }

    private static Protocol.Milvus.SearchRequest GrpcSearch(string collection, float[] q, string paramsJson) => new()
    {
        CollectionName = collection,
        DslType = Protocol.Common.DslType.BoolExprV1,
        Nq = 1,
        PlaceholderGroup = TestPlaceholders.Group([q]),
        SearchParams =
        {
            Kv("anns_field", "embedding"), Kv("params", paramsJson), Kv("topk", K.ToString(CultureInfo.InvariantCulture)), Kv("metric_type", "L2"),
        },
    };

    private static async Task<JsonObject> PostAsync(TestServer server, string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static JsonObject RestSearch(string collection, float[] q, int searchList) => new()
    {
        ["collectionName"] = collection,
        ["data"] = new JsonArray(new JsonArray([.. q.Select(x => (JsonNode)JsonValue.Create(x))])),
        ["annsField"] = "embedding",
        ["limit"] = K,
        ["searchParams"] = new JsonObject { ["metricType"] = "L2", ["params"] = new JsonObject { ["search_list"] = searchList } },
    };

    [Fact]
    public async Task DiskAnn_CreatedOverGrpc_SearchedWithSearchList_MatchesBruteForce()
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server, "g");
        static CreateIndexRequest Create(string paramsJson)
        {
            var create = new CreateIndexRequest { CollectionName = "g", FieldName = "embedding", IndexName = "emb_idx" };
            create.ExtraParams.Add(Kv("index_type", "DISKANN"));
            create.ExtraParams.Add(Kv("metric_type", "L2"));
            create.ExtraParams.Add(Kv("params", paramsJson));
            return create;
        }

        var beam = await server.Milvus.CreateIndexAsync(Create("{\"max_degree\":24,\"beam_width_ratio\":4}"));
        Assert.Equal(1100, beam.Code);
        Assert.Contains("beam_width_ratio", beam.Reason, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(Create(Build))).Code);
        await server.Server.Engine.WaitForIndexAsync("g");

        var described = Assert.Single((await server.Milvus.DescribeIndexAsync(new DescribeIndexRequest { CollectionName = "g" })).IndexDescriptions);
        Assert.Equal("DISKANN", described.Params.Single(p => p.Key == "index_type").Value);
        var built = JsonNode.Parse(described.Params.Single(p => p.Key == "params").Value)!.AsObject();
        Assert.Equal("24", built["max_degree"]!.ToString());
        Assert.Equal("64", built["search_list_size"]!.ToString());
        Assert.Equal(Rows, described.IndexedRows);
        var info = Assert.Single(await server.Server.Engine.DescribeIndexesAsync("g"));
        Assert.Equal(new Dictionary<string, long> { ["DISKANN"] = Rows }, info.BuiltTypes);

        double recall = 0;
        foreach (var q in Queries)
        {
            var response = await server.Milvus.SearchAsync(GrpcSearch("g", q, "{\"search_list\": 40}"));
            Assert.Equal(0, response.Status.Code);
            var ids = response.Results.Ids.IntId.Data;
            Assert.Equal(K, ids.Count);
            recall += ids.Count(BruteForce(q).Contains) / (double)K;
            var exact = await ExactScoresAsync(server, "g", q);
            for (var i = 0; i < ids.Count; i++)
            {
                Assert.Equal(exact[ids[i]], response.Results.Scores[i], 1e-4f);
            }
        }

        recall /= Queries.Count();
        Assert.True(recall >= 0.95, $"recall@{K} {recall:F3}");

        var below = await server.Milvus.SearchAsync(GrpcSearch("g", Data[Rows], "{\"search_list\": 5}"));
        Assert.Equal(1100, below.Status.Code);
        Assert.Contains("search_list", below.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiskAnn_CreatedOverRest_SearchedWithSearchList_MatchesBruteForce()
    {
        await using var server = await TestServer.StartAsync();
        await SeedAsync(server, "r");
        var created = await PostAsync(server, "/indexes/create", new JsonObject
        {
            ["collectionName"] = "r",
            ["indexParams"] = new JsonArray(new JsonObject
            {
                ["fieldName"] = "embedding",
                ["indexName"] = "emb_idx",
                ["metricType"] = "L2",
                ["indexType"] = "DISKANN",
                ["params"] = JsonNode.Parse(Build),
            }),
        });
        Assert.Equal(0, created["code"]!.GetValue<int>());
        await server.Server.Engine.WaitForIndexAsync("r");

        var described = await PostAsync(server, "/indexes/describe", new JsonObject { ["collectionName"] = "r", ["indexName"] = "emb_idx" });
        Assert.Equal(0, described["code"]!.GetValue<int>());
        var index = Assert.Single(described["data"]!.AsArray())!.AsObject();
        Assert.Equal("DISKANN", index["indexType"]!.GetValue<string>());
        Assert.Equal(Rows, index["indexedRows"]!.GetValue<long>());
        var info = Assert.Single(await server.Server.Engine.DescribeIndexesAsync("r"));
        Assert.Equal("24", info.Params["max_degree"]);
        Assert.Equal("64", info.Params["search_list_size"]);

        double recall = 0;
        foreach (var q in Queries)
        {
            var answer = await PostAsync(server, "/entities/search", RestSearch("r", q, 40));
            Assert.Equal(0, answer["code"]!.GetValue<int>());
            var hits = answer["data"]!.AsArray().Select(h => (Id: long.Parse(h!["id"]!.ToString(), CultureInfo.InvariantCulture), Distance: h["distance"]!.GetValue<float>())).ToList();
            Assert.Equal(K, hits.Count);
            recall += hits.Count(h => BruteForce(q).Contains(h.Id)) / (double)K;
            var exact = await ExactScoresAsync(server, "r", q);
            Assert.All(hits, h => Assert.Equal(exact[h.Id], h.Distance, 1e-4f));
        }

        recall /= Queries.Count();
        Assert.True(recall >= 0.95, $"recall@{K} {recall:F3}");

        var below = await PostAsync(server, "/entities/search", RestSearch("r", Data[Rows], 5));
        Assert.Equal(1100, below["code"]!.GetValue<int>());
    }
}
