using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Embeddings;
using Quiver.Embeddings.Tests;
using Quiver.Server.Rest;
using Quiver.Testing;

namespace Quiver.Server.Tests.Embedding;

/// <summary>A TextEmbedding function with the OpenAI-compatible provider, served over REST v2, against the small fake
/// endpoint of tests/Quiver.Embeddings.Tests (<see cref="FakeOpenAi"/>, never a real service): rows inserted as text
/// store exactly the vector the endpoint gave each text, and a search by text answers the brute-force cosine top-k over
/// the stored vectors for the vector the endpoint gives the query text.</summary>
public sealed class OpenAiEmbeddingRestTests
{
    private const int Dim = 4;

    private static readonly string[] Docs =
    [
        "A man is playing a guitar on stage.", "The stock market fell sharply.", "A cat sleeps on a warm windowsill.",
        "Quiver is a vector database.", "Two astronauts are stranded on Mars.", "zebra", "Rain fell all night in Lisbon.",
        "An orchestra tunes before the concert.",
    ];

    [Fact]
    public async Task InsertAndSearchByText_StoreAndFindTheEndpointsVectors()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        await using var server = await TestServer.StartAsync(o =>
            o.Embedding = new EmbeddingOptions { OpenAi = new OpenAiOptions { BaseUrl = fake.BaseUrl, ApiKey = "test-key" } });
        await server.CreateLoadedCollectionAsync("remote", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("doc", 64), FieldSchema.Vector("vec", Dim, MetricType.Cosine)],
            Functions = [CollectionFunction.TextEmbedding("embed", "doc", "vec",
                ImmutableDictionary<string, string>.Empty.Add("provider", "openai").Add("dim", Dim.ToString(CultureInfo.InvariantCulture)))],
        });

        var rows = new JsonArray([.. Docs.Select((d, i) => (JsonNode?)new JsonObject { ["id"] = i, ["doc"] = d })]);
        var inserted = await PostAsync(server, "/entities/insert", new JsonObject { ["collectionName"] = "remote", ["data"] = rows });
        Assert.True(inserted["code"]!.GetValue<int>() == 0, inserted.ToJsonString());
        Assert.Contains(fake.Requests, r => r.Authorization == "Bearer test-key" && r.Body["dimensions"]!.GetValue<int>() == Dim);

        var read = await PostAsync(server, "/entities/query", new JsonObject
        {
            ["collectionName"] = "remote", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("doc", "vec"), ["limit"] = 100,
        });
        Assert.True(read["code"]!.GetValue<int>() == 0, read.ToJsonString());
        var stored = read["data"]!.AsArray().ToDictionary(r => Id(r!), r => r!["vec"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray());
        Assert.Equal(Docs.Length, stored.Count);
        foreach (var (id, vector) in stored)
        {
            Assert.Equal(FakeOpenAi.VectorOf(Docs[id], Dim), vector);
        }

        string[] queries = ["guitar music", "markets and rates", "zebra"];
        var found = await PostAsync(server, "/entities/search", new JsonObject
        {
            ["collectionName"] = "remote", ["data"] = new JsonArray([.. queries.Select(q => (JsonNode?)q)]), ["annsField"] = "vec", ["limit"] = 3,
        });
        Assert.True(found["code"]!.GetValue<int>() == 0, found.ToJsonString());
        // REST answers every query's hits in one list, query after query.
        var hits = found["data"]!.AsArray();
        Assert.Equal(queries.Length * 3, hits.Count);
        for (var q = 0; q < queries.Length; q++)
        {
            var query = FakeOpenAi.VectorOf(queries[q], Dim);
            var expected = BruteForce.TopK(stored.Select(kv => (kv.Key, kv.Value)), query, MetricType.Cosine, 3);
            for (var k = 0; k < 3; k++)
            {
                var hit = hits[(q * 3) + k]!;
                Assert.Equal(expected[k].Score, hit["distance"]!.GetValue<double>(), 1e-5);
                Assert.Equal(expected[k].Score, BruteForce.Score(MetricType.Cosine, query, stored[Id(hit)]), 1e-5);
            }
        }
    }

    /// <summary>A row's Int64 key: REST writes Int64 values as strings (as Milvus does, for JavaScript's precision).</summary>
    private static long Id(JsonNode row) => long.Parse(row["id"]!.ToString(), CultureInfo.InvariantCulture);

    private static async Task<JsonObject> PostAsync(TestServer server, string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
