using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Rest;

namespace Quiver.Server.Tests.Rest;

public sealed class RestEndpointTests
{
    private static async Task<(HttpResponseMessage Response, JsonObject Body)> PostAsync(TestServer server, string path, string body,
        Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        configure?.Invoke(request);
        var response = await server.Http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return (response, json);
    }

    [Fact]
    public async Task BadJson_Answers1801WithPosition()
    {
        await using var server = await TestServer.StartAsync();
        var (response, body) = await PostAsync(server, "/collections/list", "{\"dbName\": ");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1801, body["code"]!.GetValue<int>());
        Assert.Contains("line 1", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(response.Headers.TryGetValues("X-Request-Id", out var ids));
        Assert.False(string.IsNullOrEmpty(ids.Single()));
    }

    [Fact]
    public async Task MissingParameter_Answers1802NamingIt()
    {
        await using var server = await TestServer.StartAsync();
        var (_, body) = await PostAsync(server, "/collections/describe", "{\"dbName\": \"default\"}");
        Assert.Equal(1802, body["code"]!.GetValue<int>());
        Assert.Contains("'collectionName'", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongParameterType_Answers1801NamingPath()
    {
        await using var server = await TestServer.StartAsync();
        var (_, body) = await PostAsync(server, "/collections/has", "{\"collectionName\": 5}");
        Assert.Equal(1801, body["code"]!.GetValue<int>());
        Assert.Contains("$.collectionName must be a string", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonObjectAndEmptyBodies_Answer1801()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(1801, (await PostAsync(server, "/collections/list", "[1]")).Body["code"]!.GetValue<int>());
        Assert.Equal(1801, (await PostAsync(server, "/collections/list", "")).Body["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task Endpoint_RunsTheRpcThroughThePipeline()
    {
        // Whatever the handler answers (success, or Milvus's "unimplemented" code 10 naming the RPC while the handler
        // is not written), the REST reply carries the RPC's outcome in Milvus's envelope.
        await using var server = await TestServer.StartAsync();
        var (response, body) = await PostAsync(server, "/collections/list", "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var code = body["code"]!.GetValue<int>();
        if (code == 0)
        {
            Assert.IsType<JsonArray>(body["data"]);
        }
        else
        {
            Assert.Equal(10, code);
            Assert.Contains("ShowCollections", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task QuickCreate_WithoutDimension_IsRefusedBeforeAnyRpc()
    {
        await using var server = await TestServer.StartAsync();
        var (_, body) = await PostAsync(server, "/collections/create", "{\"collectionName\": \"c\"}");
        Assert.Equal(1100, body["code"]!.GetValue<int>());
        Assert.Contains("dimension", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(await server.Server.Engine.ListCollectionsAsync());
    }

    [Fact]
    public async Task CreateCollection_BadDataType_Answers1100NamingIt()
    {
        await using var server = await TestServer.StartAsync();
        var (_, body) = await PostAsync(server, "/collections/create",
            """{"collectionName": "c", "schema": {"fields": [{"fieldName": "id", "dataType": "int64", "isPrimary": true}]}}""");
        Assert.Equal(1100, body["code"]!.GetValue<int>());
        Assert.Contains("int64", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownEndpoint_Is404()
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.Http.PostAsync(new Uri("/v2/vectordb/collections/nope", UriKind.Relative),
            new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void Endpoints_CoverMilvusCategories()
    {
        var paths = MilvusRestV2.Paths.ToHashSet();
        foreach (var expected in new[]
        {
            "/collections/create", "/collections/describe", "/entities/search", "/entities/insert", "/partitions/get_stats",
            "/indexes/create", "/aliases/alter", "/users/update_password", "/roles/grant_privilege", "/databases/describe",
        })
        {
            Assert.Contains(expected, paths);
        }
    }

    [Fact]
    public async Task ExprParams_BindFilterTemplates_InQuerySearchAndDelete_AsTheLiteralFilterDoes()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(0, (await PostAsync(server, "/collections/create", "{\"collectionName\": \"t\", \"dimension\": 4}")).Body["code"]!.GetValue<int>());
        var rows = string.Join(",", Enumerable.Range(1, 40).Select(i =>
            $"{{\"id\": {i}, \"vector\": [{i % 7}, {i % 3}, {i % 5}, 1], \"tag\": {i % 5}, \"name\": \"n{i % 4}\", \"score\": {i * 0.5}}}"));
        Assert.Equal(0, (await PostAsync(server, "/entities/insert", $"{{\"collectionName\": \"t\", \"data\": [{rows}]}}")).Body["code"]!.GetValue<int>());

        async Task<string[]> Ids(string path, string body)
        {
            var (_, answer) = await PostAsync(server, path, body);
            Assert.True(answer["code"]!.GetValue<int>() == 0, answer.ToJsonString());
            return answer["data"]!.AsArray().Select(row => row!["id"]!.ToJsonString().Trim('"')).Order(StringComparer.Ordinal).ToArray();
        }

        const string Query = "{\"collectionName\": \"t\", \"consistencyLevel\": \"Strong\", \"limit\": 100, \"outputFields\": [\"id\"], ";
        var literal = await Ids("/entities/query", Query + "\"filter\": \"id in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] and tag >= 2 and name in ['n1', 'n3'] and score > 1.5\"}");
        var templated = await Ids("/entities/query", Query +
            "\"filter\": \"id in {ids} and tag >= {t} and name in {names} and score > {s}\", \"exprParams\": {\"ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], \"t\": 2, \"names\": [\"n1\", \"n3\"], \"s\": 1.5}}");
        Assert.NotEmpty(literal);
        Assert.Equal(literal, templated);

        const string Search = "{\"collectionName\": \"t\", \"consistencyLevel\": \"Strong\", \"data\": [[1, 1, 1, 1]], \"limit\": 5, \"searchParams\": {\"params\": {\"exact\": true}}, ";
        Assert.Equal(
            await Ids("/entities/search", Search + "\"filter\": \"tag == 3\"}"),
            await Ids("/entities/search", Search + "\"filter\": \"tag == {t}\", \"exprParams\": {\"t\": 3}}"));

        var (_, deleted) = await PostAsync(server, "/entities/delete",
            "{\"collectionName\": \"t\", \"filter\": \"id in {ids}\", \"exprParams\": {\"ids\": [1, 2, 3]}}");
        Assert.True(deleted["code"]!.GetValue<int>() == 0, deleted.ToJsonString());
        Assert.Empty(await Ids("/entities/query", Query + "\"filter\": \"id in [1, 2, 3]\"}"));
        Assert.Equal(4, (await Ids("/entities/query", Query + "\"filter\": \"id in [1, 2, 3, 4, 5, 6, 7]\"}")).Length);

        var (_, refused) = await PostAsync(server, "/entities/query", Query + "\"filter\": \"tag == {t}\", \"exprParams\": {\"t\": {\"a\": 1}}}");
        Assert.Equal(1801, refused["code"]!.GetValue<int>());
        Assert.Contains("$.exprParams.t must be a bool, number, string or array", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
