using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Server.Tests.Ops;
using Quiver.Server.Tests.Security;
using Quiver.Testing;

namespace Quiver.Server.Tests.Rest;

/// <summary>One REST data call is one call for the security gate, the metrics and the audit log, under the RPC it
/// stands for: the endpoints read the schema inside that call instead of calling DescribeCollection first.</summary>
public sealed class RestCountingTests
{
    private static async Task<JsonObject> PostAsync(TestServer server, string path, string body, string? credential = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        using var response = await server.Http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static string Rest(string method, int code = 0) => $"quiver_rpc_requests_total{{method=\"{method}\",transport=\"rest\",code=\"{code}\"}}";

    [Fact]
    public async Task EachDataEndpoint_CountsOneCall_UnderItsRpc()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", TestData.ProductSchema(dim: 4, dynamic: true));
        const string rows = """[{"id": 1, "title": "a", "category": "tech", "price": 5, "embedding": [1, 0, 0, 0]}, {"id": 2, "title": "b", "category": "home", "price": 7, "embedding": [0, 1, 0, 0], "extra": 3}]""";

        Assert.Equal(0, (await PostAsync(server, "/entities/insert", $$"""{"collectionName": "docs", "data": {{rows}}}"""))["code"]!.GetValue<int>());
        Assert.Equal(0, (await PostAsync(server, "/entities/upsert", $$"""{"collectionName": "docs", "data": {{rows}}}"""))["code"]!.GetValue<int>());
        var search = await PostAsync(server, "/entities/search", """{"collectionName": "docs", "data": [[1, 0, 0, 0]], "limit": 1, "outputFields": ["title"]}""");
        Assert.Equal("1", search["data"]![0]!["id"]!.ToString());
        var got = await PostAsync(server, "/entities/get", """{"collectionName": "docs", "id": [2], "outputFields": ["extra"]}""");
        Assert.Equal(3, got["data"]![0]!["extra"]!.GetValue<int>());
        Assert.Equal(0, (await PostAsync(server, "/entities/delete", """{"collectionName": "docs", "id": [1]}"""))["code"]!.GetValue<int>());
        // A missing collection still answers as DescribeCollection did, and is one failed Insert.
        var missing = await PostAsync(server, "/entities/insert", $$"""{"collectionName": "nope", "data": {{rows}}}""");
        Assert.Equal(100, missing["code"]!.GetValue<int>());

        var metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(1, metrics.Value(Rest("Insert")));
        Assert.Equal(1, metrics.Value(Rest("Insert", 100)));
        Assert.Equal(1, metrics.Value(Rest("Upsert")));
        Assert.Equal(1, metrics.Value(Rest("Search")));
        Assert.Equal(1, metrics.Value(Rest("Query")));
        Assert.Equal(1, metrics.Value(Rest("Delete")));
        var restCalls = metrics.Samples.Where(s => s.Key.StartsWith("quiver_rpc_requests_total{", StringComparison.Ordinal)
            && s.Key.Contains("transport=\"rest\"", StringComparison.Ordinal)).Sum(s => s.Value);
        Assert.Equal(6, restCalls);
    }

    [Fact]
    public async Task EachCatalogEndpoint_CountsOneCall_UnderItsRpc()
    {
        await using var server = await TestServer.StartAsync();
        var posts = new (string Path, string Body)[]
        {
            // Quick setup: create, index and load, one CreateCollection call.
            ("/collections/create", """{"collectionName": "quick", "dimension": 4}"""),
            // Describe reads load state, indexes and aliases as steps of one DescribeCollection call.
            ("/collections/describe", """{"collectionName": "quick"}"""),
            // Load state reads the progress as a step of one GetLoadState call.
            ("/collections/get_load_state", """{"collectionName": "quick"}"""),
            ("/collections/create", """
                {"collectionName": "two", "schema": {"fields": [
                  {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
                  {"fieldName": "a", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}},
                  {"fieldName": "b", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]}}
                """),
            // Two indexes in one request: one CreateIndex call.
            ("/indexes/create", """
                {"collectionName": "two", "indexParams": [
                  {"fieldName": "a", "indexName": "a", "metricType": "L2", "indexType": "FLAT"},
                  {"fieldName": "b", "indexName": "b", "metricType": "IP", "indexType": "FLAT"}]}
                """),
        };
        foreach (var (path, body) in posts)
        {
            var answer = await PostAsync(server, path, body);
            Assert.True(answer["code"]!.GetValue<int>() == 0, $"{path}: {answer.ToJsonString()}");
        }

        var described = await PostAsync(server, "/collections/describe", """{"collectionName": "quick"}""");
        Assert.Equal("LoadStateLoaded", described["data"]!["load"]!.GetValue<string>());
        Assert.Single(described["data"]!["indexes"]!.AsArray());
        var indexes = await PostAsync(server, "/indexes/list", """{"collectionName": "two"}""");
        Assert.Equal(["a", "b"], indexes["data"]!.AsArray().Select(n => n!.GetValue<string>()).Order(StringComparer.Ordinal));
        // A step that fails fails its call once, under the call's RPC.
        var missing = await PostAsync(server, "/collections/describe", """{"collectionName": "nope"}""");
        Assert.Equal(100, missing["code"]!.GetValue<int>());

        var metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(2, metrics.Value(Rest("CreateCollection")));
        Assert.Equal(2, metrics.Value(Rest("DescribeCollection")));
        Assert.Equal(1, metrics.Value(Rest("DescribeCollection", 100)));
        Assert.Equal(1, metrics.Value(Rest("GetLoadState")));
        Assert.Equal(1, metrics.Value(Rest("CreateIndex")));
        var restCalls = metrics.Samples.Where(s => s.Key.StartsWith("quiver_rpc_requests_total{", StringComparison.Ordinal)
            && s.Key.Contains("transport=\"rest\"", StringComparison.Ordinal)).Sum(s => s.Value);
        Assert.Equal(posts.Length + 3, restCalls);
    }

    [Fact]
    public async Task RestCreate_ChecksEachStepsPrivilege_AsMilvus_AndCountsOneCall()
    {
        await using var server = await AuthTests.StartAuthAsync();
        await AuthTests.CreateUserWithRoleAsync(server, "cora", "Cora-Pass-1", "creator");
        Assert.Equal(0, (await RbacTests.GrantAsync(server, "creator", "Global", "*", "CreateCollection")).Code);
        const string cora = "cora:Cora-Pass-1";

        // Allowed to create, not to index: the collection is made, the index step is refused with its own privilege.
        var refused = await PostAsync(server, "/collections/create", """{"collectionName": "first", "dimension": 4}""", cora);
        Assert.Equal(MilvusCode.PrivilegeNotPermitted, refused["code"]!.GetValue<int>());
        Assert.Contains("PrivilegeCreateIndex", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(await server.Server.Engine.HasCollectionAsync("first"));

        Assert.Equal(0, (await RbacTests.GrantAsync(server, "creator", "Collection", "*", "CreateIndex")).Code);
        Assert.Equal(0, (await RbacTests.GrantAsync(server, "creator", "Collection", "*", "Load")).Code);
        var created = await PostAsync(server, "/collections/create", """{"collectionName": "second", "dimension": 4}""", cora);
        Assert.Equal(0, created["code"]!.GetValue<int>());

        var metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(1, metrics.Value(Rest("CreateCollection", MilvusCode.PrivilegeNotPermitted)));
        Assert.Equal(1, metrics.Value(Rest("CreateCollection")));
        Assert.Equal(0, metrics.Value(Rest("CreateIndex")));
        Assert.Equal(0, metrics.Value(Rest("LoadCollection")));
    }

    [Fact]
    public async Task DeniedRestInsert_IsOneAuditRecord_ForInsert()
    {
        await using var server = await AuthTests.StartAuthAsync();
        await server.Server.Engine.CreateCollectionAsync("docs", TestData.ProductSchema(dim: 4));
        await AuthTests.CreateUserWithRoleAsync(server, "ivy", "Ivy-Pass-1", "nobody");
        var answer = await PostAsync(server, "/entities/insert",
            """{"collectionName": "docs", "data": [{"id": 1, "title": "a", "category": "tech", "price": 5, "embedding": [1, 0, 0, 0]}]}""", "ivy:Ivy-Pass-1");
        Assert.NotEqual(0, answer["code"]!.GetValue<int>());

        var lines = await File.ReadAllLinesAsync(Path.Combine(server.DataPath, "security", "audit.jsonl"));
        var ivy = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("user").GetString() == "ivy").ToList();
        var record = Assert.Single(ivy);
        Assert.Equal("Insert", record.GetProperty("method").GetString());
        Assert.Equal("denied PrivilegeInsert", record.GetProperty("outcome").GetString());
        Assert.Equal(0L, server.Server.Engine.CountRows("docs"));
    }
}
