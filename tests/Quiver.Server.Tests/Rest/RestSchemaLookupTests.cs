using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Milvus;
using static Quiver.Server.Tests.Rest.RestFloatCollection;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (one data path): a REST search, hybrid search, query or get looks the collection's schema up once, in the
/// service's handler, and the REST adapter does its schema-dependent work (the vector field a search names, a get's key
/// filter) on that same lookup, instead of looking the schema up itself first. Counted by the service's own lookup
/// counter (<see cref="MilvusGrpcService.SchemaLookups"/>); each call's answer is checked against brute force.
/// </summary>
public sealed class RestSchemaLookupTests
{
    [Fact]
    public async Task SearchHybridSearchQueryAndGet_EachLookTheSchemaUpOnce_AndAnswerExactly()
    {
        await using var server = await TestServer.StartAsync();
        var service = server.Server.Services.GetRequiredService<MilvusGrpcService>();
        const int Dim = 6, Rows = 300, K = 5;
        var rng = new Random(41);
        var vectors = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 10)).ToArray()).ToArray();
        await CreateAsync(server, "lk", vectors);
        var queries = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 10)).ToArray()).ToArray();

        // Search: nq 3, top-5.
        var search = await CountedAsync("/entities/search", SearchBody("lk", queries, K).ToJsonString());
        var hits = search["data"]!.AsArray();
        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(ExactDistances(vectors, queries[q], K), Ids(hits).Skip(q * K).Take(K).Select(id => L2(vectors[id], queries[q])).ToArray());
        }

        // Hybrid search of one request on v, RRF: the fused order is that request's order, the exact top-5.
        var hybrid = new JsonObject
        {
            ["collectionName"] = "lk",
            ["search"] = new JsonArray(new JsonObject { ["data"] = new JsonArray(Vector(queries[0])), ["annsField"] = "v", ["limit"] = K }),
            ["rerank"] = new JsonObject { ["strategy"] = "rrf", ["params"] = new JsonObject { ["k"] = 60 } },
            ["limit"] = K,
            ["outputFields"] = new JsonArray("tag"),
            ["consistencyLevel"] = "Strong",
        };
        var fused = (await CountedAsync("/entities/hybrid_search", hybrid.ToJsonString()))["data"]!.AsArray();
        Assert.Equal(ExactDistances(vectors, queries[0], K), Ids(fused).Select(id => L2(vectors[id], queries[0])).ToArray());
        Assert.All(fused, h => Assert.Equal(long.Parse(h!["id"]!.ToString(), CultureInfo.InvariantCulture) % Tags,
            long.Parse(h["tag"]!.ToString(), CultureInfo.InvariantCulture)));

        // Query by filter, and get by keys (whose key filter is built from the schema).
        var query = await CountedAsync("/entities/query",
            """{"collectionName": "lk", "filter": "tag == 5", "outputFields": ["id"], "limit": 100, "consistencyLevel": "Strong"}""");
        Assert.Equal(Enumerable.Range(0, Rows).Where(i => i % Tags == 5).Select(i => (long)i), Ids(query["data"]!.AsArray()).Order());
        var get = await CountedAsync("/entities/get", """{"collectionName": "lk", "id": [3, 40, 299], "outputFields": ["tag"]}""");
        Assert.Equal([3L, 40L, 299L], Ids(get["data"]!.AsArray()).Order());

        async Task<JsonObject> CountedAsync(string path, string body)
        {
            var before = service.SchemaLookups;
            var answer = await PostOkAsync(server, path, body);
            Assert.True(service.SchemaLookups - before == 1, $"{path} looked the schema up {service.SchemaLookups - before} times");
            return answer;
        }
    }

    [Fact]
    public async Task DeleteByIdAndByFilter_EachLookTheSchemaUpOnce_AndDeleteExactlyTheirRows()
    {
        await using var server = await TestServer.StartAsync();
        var service = server.Server.Services.GetRequiredService<MilvusGrpcService>();
        const int Dim = 4, Rows = 120;
        var rng = new Random(43);
        await CreateAsync(server, "del", [.. Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)rng.NextDouble()).ToArray())]);
        var model = Enumerable.Range(0, Rows).Select(i => (long)i).ToHashSet();

        // By a list of ids, by one id, and by a filter (tag == 7: ids 7, 44, 81, 118): each the model's rows go.
        Assert.Equal(3, (await CountedAsync("""{"collectionName": "del", "id": [3, 40, 99]}"""))["data"]!["deleteCount"]!.GetValue<long>());
        model.ExceptWith([3, 40, 99]);
        Assert.Equal(1, (await CountedAsync("""{"collectionName": "del", "id": 5}"""))["data"]!["deleteCount"]!.GetValue<long>());
        model.Remove(5);
        await CountedAsync("""{"collectionName": "del", "filter": "tag == 7"}""");
        model.ExceptWith(Enumerable.Range(0, Rows).Where(i => i % Tags == 7).Select(i => (long)i));

        var left = await PostOkAsync(server, "/entities/query",
            """{"collectionName": "del", "filter": "id >= 0", "outputFields": ["id"], "limit": 1000, "consistencyLevel": "Strong"}""");
        Assert.Equal(model.Order(), Ids(left["data"]!.AsArray()).Order());

        // A delete by id of a collection that does not exist is still refused as one (code 100), naming it.
        var missing = await PostAsync(server, "/entities/delete", """{"collectionName": "nowhere", "id": [1]}""");
        Assert.Equal(100, missing["code"]!.GetValue<int>());
        Assert.Contains("nowhere", missing["message"]!.GetValue<string>(), StringComparison.Ordinal);

        async Task<JsonObject> CountedAsync(string body)
        {
            var before = service.SchemaLookups;
            var answer = await PostOkAsync(server, "/entities/delete", body);
            Assert.True(service.SchemaLookups - before == 1, $"/entities/delete {body} looked the schema up {service.SchemaLookups - before} times");
            return answer;
        }
    }
}
