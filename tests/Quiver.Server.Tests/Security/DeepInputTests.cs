using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Security.AuthTests;

namespace Quiver.Server.Tests.Security;

/// <summary>A user who holds only Query on one collection sends deeply nested filters over gRPC and over REST: each is
/// answered with code 1100 naming the limit (it used to end the process with a stack overflow), and the server keeps
/// serving the next call.</summary>
public sealed class DeepInputTests(DeepInputTests.ReaderServer fixture) : IClassFixture<DeepInputTests.ReaderServer>
{
    private const string Password = "Reader-Pass-1";

    /// <summary>Every nesting construct, a few thousand levels deep.</summary>
    public static TheoryData<string, string> DeepFilters => new()
    {
        { "parentheses", Repeat("(", 5_000) + "id > 0" + Repeat(")", 5_000) },
        { "not", Repeat("not ", 5_000) + "id > 0" },
        { "unary minus", "id > " + Repeat("- ", 5_000) + "1" },
        { "arithmetic chain", "id" + Repeat(" + 1", 5_000) + " > 0" },
        { "nested list", "meta[\"k\"] in " + Repeat("[", 5_000) + "1" + Repeat("]", 5_000) },
        { "json path", "meta" + Repeat("[\"a\"]", 5_000) + " == 1" },
        { "power", "id < " + Repeat("2 ** ", 5_000) + "2" },
    };

    private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

    /// <summary>One server for the class: collection "docs" with one row, loaded, and user "reader" whose only
    /// grant is Query on "docs".</summary>
    public sealed class ReaderServer : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await StartWithReaderAsync();

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private TestServer Server => fixture.Server;

    private static async Task CreateLoadedAsync(TestServer server, string name, CollectionSchema schema)
    {
        await server.Server.Engine.CreateCollectionAsync(name, schema);
        await server.Server.Engine.CreateIndexAsync(name, new IndexDefinition { FieldName = "v", IndexType = "FLAT" });
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new Protocol.Milvus.LoadCollectionRequest { CollectionName = name }, Root)).Code);
    }

    private static async Task<TestServer> StartWithReaderAsync()
    {
        var server = await StartAuthAsync();
        await CreateLoadedAsync(server, "docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Json("meta", nullable: true), FieldSchema.Vector("v", 2, MetricType.L2)],
            EnableDynamicField = true,
        });
        await server.Server.Engine.InsertAsync("docs", [new Row { ["id"] = 1L, ["meta"] = "{\"k\": 1}", ["v"] = new[] { 1f, 0f } }]);
        await CreateUserWithRoleAsync(server, "reader", Password, "docs_query");
        var granted = await server.Milvus.OperatePrivilegeAsync(new Protocol.Milvus.OperatePrivilegeRequest
        {
            Type = Protocol.Milvus.OperatePrivilegeType.Grant,
            Entity = new Protocol.Milvus.GrantEntity
            {
                Role = new Protocol.Milvus.RoleEntity { Name = "docs_query" },
                Object = new Protocol.Milvus.ObjectEntity { Name = "Collection" },
                ObjectName = "docs",
                Grantor = new Protocol.Milvus.GrantorEntity { Privilege = new Protocol.Milvus.PrivilegeEntity { Name = "Query" } },
            },
        }, Root);
        Assert.Equal(0, granted.Code);
        return server;
    }

    private static Task<Protocol.Milvus.QueryResults> GrpcQueryAsync(TestServer server, string filter, Action<Protocol.Milvus.QueryRequest>? configure = null)
    {
        var request = new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = filter, OutputFields = { "id" } };
        configure?.Invoke(request);
        return server.Milvus.QueryAsync(request, Auth("reader:" + Password)).ResponseAsync;
    }

    private static async Task<JsonObject> RestQueryAsync(TestServer server, string filter)
    {
        var body = new JsonObject { ["collectionName"] = "docs", ["filter"] = filter, ["outputFields"] = new JsonArray("id"), ["limit"] = 10 };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + "/entities/query", UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "reader:" + Password);
        var response = await server.Http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static async Task AssertStillServingAsync(TestServer server)
    {
        var grpc = await GrpcQueryAsync(server, "id > 0");
        Assert.Equal(0, grpc.Status.Code);
        Assert.Equal([1L], grpc.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data);
        var rest = await RestQueryAsync(server, "id > 0");
        Assert.Equal(0, rest["code"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(DeepFilters))]
    public async Task Grpc_DeepFilter_Is1100NamingTheLimit_AndTheServerKeepsServing(string shape, string filter)
    {
        var server = Server;
        var answer = await GrpcQueryAsync(server, filter);
        Assert.True(answer.Status.Code == 1100, $"{shape}: {answer.Status.Code} {answer.Status.Reason}");
        Assert.StartsWith("failed to create query plan: ", answer.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("nesting depth limit of 200 (FilterLimits.MaxDepth)", answer.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("at position ", answer.Status.Reason, StringComparison.Ordinal);
        await AssertStillServingAsync(server);
    }

    [Theory]
    [MemberData(nameof(DeepFilters))]
    public async Task Rest_DeepFilter_Is1100NamingTheLimit_AndTheServerKeepsServing(string shape, string filter)
    {
        var server = Server;
        var answer = await RestQueryAsync(server, filter);
        Assert.True(answer["code"]!.GetValue<int>() == 1100, $"{shape}: {answer.ToJsonString()[..Math.Min(300, answer.ToJsonString().Length)]}");
        var message = answer["message"]!.GetValue<string>();
        Assert.Contains("nesting depth limit of 200 (FilterLimits.MaxDepth)", message, StringComparison.Ordinal);
        Assert.Contains("at position ", message, StringComparison.Ordinal);
        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task Grpc_LongFlatFilters_AreServed()
    {
        var server = Server;
        var orChain = string.Join(" or ", Enumerable.Range(0, 10_000).Select(i => $"id == {i}"));
        var inList = "id in [" + string.Join(",", Enumerable.Range(0, 100_000)) + "]";
        foreach (var filter in new[] { orChain, inList })
        {
            var answer = await GrpcQueryAsync(server, filter);
            Assert.Equal(0, answer.Status.Code);
            Assert.Equal([1L], answer.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data);
        }
    }

    [Fact]
    public async Task Grpc_DeepTemplateValue_Is1100NamingTheLimit()
    {
        var server = Server;

        // 40 levels of arrays of arrays: deep, but inside protobuf's own recursion limit, so it reaches the binder.
        var deep = new TemplateArrayValue { LongData = new LongArray { Data = { 1 } } };
        for (var i = 0; i < 40; i++)
        {
            deep = new TemplateArrayValue { ArrayData = new TemplateArrayValueArray { Data = { deep } } };
        }

        var answer = await GrpcQueryAsync(server, "meta[\"k\"] in {v}", r => r.ExprTemplateValues["v"] = new TemplateValue { ArrayVal = deep });
        Assert.Equal(1100, answer.Status.Code);
        Assert.Contains("nesting depth limit of 16 (FilterLimits.MaxTemplateValueDepth)", answer.Status.Reason, StringComparison.Ordinal);

        // JSON items of a template list: malformed or nested past JSON's limit are the client's mistakes too.
        foreach (var json in new[] { "{", Repeat("[", 1_000) + Repeat("]", 1_000) })
        {
            var withJson = await GrpcQueryAsync(server, "meta[\"k\"] in {v}", r => r.ExprTemplateValues["v"] = new TemplateValue
            {
                ArrayVal = new TemplateArrayValue { JsonData = new JSONArray { Data = { ByteString.CopyFromUtf8(json) } } },
            });
            Assert.Equal(1100, withJson.Status.Code);
            Assert.Contains("template 'v'", withJson.Status.Reason, StringComparison.Ordinal);
        }

        await AssertStillServingAsync(server);
    }

    [Fact]
    public async Task Grpc_DeepJsonInARow_IsRefusedNamingTheFieldAndLimit()
    {
        var server = Server;
        await CreateLoadedAsync(server, "rows", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Json("meta", nullable: true), FieldSchema.Vector("v", 2, MetricType.L2)],
        });
        var deepJson = "{\"a\": " + Repeat("[", 64) + Repeat("]", 64) + "}";
        var insert = new Protocol.Milvus.InsertRequest { CollectionName = "rows", NumRows = 1 };
        insert.FieldsData.Add(new FieldData { FieldName = "id", Type = Protocol.Schema.DataType.Int64, Scalars = new ScalarField { LongData = new LongArray { Data = { 1 } } } });
        insert.FieldsData.Add(new FieldData { FieldName = "meta", Type = Protocol.Schema.DataType.Json, Scalars = new ScalarField { JsonData = new JSONArray { Data = { ByteString.CopyFromUtf8(deepJson) } } } });
        insert.FieldsData.Add(new FieldData { FieldName = "v", Type = Protocol.Schema.DataType.FloatVector, Vectors = new VectorField { Dim = 2, FloatVector = new FloatArray { Data = { 1f, 0f } } } });
        var answer = await server.Milvus.InsertAsync(insert, Root);
        Assert.Equal(1100, answer.Status.Code);
        Assert.Contains("field 'meta'", answer.Status.Reason, StringComparison.Ordinal);
        Assert.Contains("JsonLimits.MaxDepth is 64", answer.Status.Reason, StringComparison.Ordinal);
        await AssertStillServingAsync(server);
    }
}
