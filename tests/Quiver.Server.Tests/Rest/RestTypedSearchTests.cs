using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Clients;
using Quiver.Server.Milvus;
using Quiver.Server.Security;
using static Quiver.Server.Tests.Rest.RestFloatCollection;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (one data path): a REST search or hybrid search hands its settings to the security gate and the search
/// handler as typed values (<see cref="CallInfo.Searches"/>), not as Milvus's <c>search_params</c> pairs with a
/// <c>params</c> JSON text inside a gRPC request. Counted by the gate's and the service's own counters of searches read
/// from pairs (<see cref="SecurityGate.SearchMessagesRead"/>, <see cref="MilvusGrpcService.SearchParamsRead"/>), which
/// a gRPC search still moves; answers against brute force; every limit refused over REST exactly as the same search is
/// refused over gRPC (the gate's pair-reading path is the oracle for code and message).
/// </summary>
public sealed class RestTypedSearchTests
{
    private const int Dim = 6, Rows = 300;

    [Fact]
    public async Task SearchAndHybridSearch_HandTheirSettingsTyped_AndAnswerExactly()
    {
        await using var server = await TestServer.StartAsync();
        var service = server.Server.Services.GetRequiredService<MilvusGrpcService>();
        var gate = (SecurityGate)server.Server.Services.GetRequiredService<ISecurityGate>();
        var (vectors, queries) = await CreateAsync(server, "ty");

        // Search: nq 3, top-4 after an offset of 2 given in searchParams (where Milvus's REST API also reads it).
        const int K = 4, Offset = 2;
        var body = SearchBody("ty", queries, K);
        body["searchParams"] = new JsonObject { ["offset"] = Offset, ["params"] = new JsonObject { ["ef"] = 16 } };
        var hits = (await UnreadAsync("/entities/search", body.ToJsonString()))["data"]!.AsArray();
        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(ExactDistances(vectors, queries[q], Offset + K).Skip(Offset),
                Ids(hits).Skip(q * K).Take(K).Select(id => L2(vectors[id], queries[q])));
        }

        // Hybrid search of two requests on v, RRF: both rank the same exact order, so the fused order is it.
        var sub = new JsonObject { ["data"] = new JsonArray(Vector(queries[0])), ["annsField"] = "v", ["limit"] = K };
        var hybrid = new JsonObject
        {
            ["collectionName"] = "ty",
            ["search"] = new JsonArray(sub, sub.DeepClone()),
            ["rerank"] = new JsonObject { ["strategy"] = "rrf", ["params"] = new JsonObject { ["k"] = 60 } },
            ["limit"] = K,
            ["consistencyLevel"] = "Strong",
        };
        var fused = (await UnreadAsync("/entities/hybrid_search", hybrid.ToJsonString()))["data"]!.AsArray();
        Assert.Equal(ExactDistances(vectors, queries[0], K), Ids(fused).Select(id => L2(vectors[id], queries[0])));

        // A gRPC search is still read from its pairs, once by the gate and once by the handler: the counters are live.
        var (gateBefore, serviceBefore) = (gate.SearchMessagesRead, service.SearchParamsRead);
        var grpc = await server.Milvus.SearchAsync(MilvusRequests.Search("ty", queries[0], Dim, K, "L2", vectorField: "v"));
        Assert.Equal(0, grpc.Status.Code);
        Assert.Equal(ExactDistances(vectors, queries[0], K), grpc.Results.Ids.IntId.Data.Select(id => L2(vectors[id], queries[0])));
        Assert.Equal((gateBefore + 1, serviceBefore + 1), (gate.SearchMessagesRead, service.SearchParamsRead));

        async Task<JsonObject> UnreadAsync(string path, string json)
        {
            var (gateAt, serviceAt) = (gate.SearchMessagesRead, service.SearchParamsRead);
            var answer = await PostOkAsync(server, path, json);
            Assert.True(gate.SearchMessagesRead == gateAt && service.SearchParamsRead == serviceAt,
                $"{path}: the gate read {gate.SearchMessagesRead - gateAt} search messages, the handler {service.SearchParamsRead - serviceAt} search_params lists");
            return answer;
        }
    }

    [Fact]
    public async Task Limits_AreRefusedOverRestExactlyAsOverGrpc()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Security.MaxTopK = 100;
            o.Security.MaxNq = 2;
            o.Security.MaxDimension = 8;
        });
        var (_, queries) = await CreateAsync(server, "lim");
        var q = queries[0];
        var nine = new float[9];

        // Each case: the REST body's search, and the same search sent over gRPC.
        (JsonObject Body, Protocol.Milvus.SearchRequest Grpc)[] cases =
        [
            (Search(b => b["limit"] = 101), MilvusRequests.Search("lim", q, Dim, 101, "L2", vectorField: "v")),
            (Search(b => b["searchParams"] = new JsonObject { ["offset"] = 50, ["params"] = new JsonObject() }, 60),
                WithPair(MilvusRequests.Search("lim", q, Dim, 60, "L2", vectorField: "v"), "offset", "50")),
            (Search(b => b["searchParams"] = new JsonObject { ["params"] = new JsonObject { ["topk"] = 500 } }),
                MilvusRequests.Search("lim", q, Dim, 10, "L2", """{"topk":500}""", "v")),
            (Search(b => b["data"] = new JsonArray(Vector(q), Vector(q), Vector(q))),
                MilvusRequests.Search("lim", [.. q, .. q, .. q], Dim, 10, "L2", vectorField: "v")),
            (Search(b => b["data"] = new JsonArray(Vector(nine))), MilvusRequests.Search("lim", nine, 9, 10, "L2", vectorField: "v")),
            (Search(b => b["searchParams"] = new JsonObject { ["params"] = new JsonObject { ["radius"] = "far" } }),
                MilvusRequests.Search("lim", q, Dim, 10, "L2", """{"radius":"far"}""", "v")),
        ];
        foreach (var (rest, grpc) in cases)
        {
            var expected = (await server.Milvus.SearchAsync(grpc)).Status;
            Assert.NotEqual(0, expected.Code);
            var answer = await PostAsync(server, "/entities/search", rest.ToJsonString());
            Assert.Equal((expected.Code, expected.Reason), (answer["code"]!.GetValue<int>(), answer["message"]!.GetValue<string>()));

            // The same search as the second request of a hybrid search is refused the same way.
            var hybrid = new JsonObject
            {
                ["collectionName"] = "lim",
                ["search"] = new JsonArray(new JsonObject { ["data"] = new JsonArray(Vector(q)), ["annsField"] = "v", ["limit"] = 5 }, Sub(rest)),
                ["rerank"] = new JsonObject { ["strategy"] = "rrf", ["params"] = new JsonObject() },
                ["limit"] = 5,
            };
            var fused = await PostAsync(server, "/entities/hybrid_search", hybrid.ToJsonString());
            Assert.Equal((expected.Code, expected.Reason), (fused["code"]!.GetValue<int>(), fused["message"]!.GetValue<string>()));
        }

        JsonObject Search(Action<JsonObject> change, int limit = 10)
        {
            var body = new JsonObject { ["collectionName"] = "lim", ["data"] = new JsonArray(Vector(q)), ["annsField"] = "v", ["limit"] = limit };
            change(body);
            return body;
        }

        static JsonObject Sub(JsonObject search)
        {
            var sub = (JsonObject)search.DeepClone();
            sub.Remove("collectionName");
            return sub;
        }

        static Protocol.Milvus.SearchRequest WithPair(Protocol.Milvus.SearchRequest request, string key, string value)
        {
            request.SearchParams.Add(new Protocol.Common.KeyValuePair { Key = key, Value = value });
            return request;
        }
    }

    private static async Task<(float[][] Vectors, float[][] Queries)> CreateAsync(TestServer server, string name)
    {
        var rng = new Random(47);
        var vectors = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 10)).ToArray()).ToArray();
        await RestFloatCollection.CreateAsync(server, name, vectors);
        var queries = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 10)).ToArray()).ToArray();
        return (vectors, queries);
    }
}
