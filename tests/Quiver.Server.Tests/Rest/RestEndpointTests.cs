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
}
