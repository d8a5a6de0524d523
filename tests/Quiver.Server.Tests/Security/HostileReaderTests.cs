using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Security.AuthTests;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Security;

/// <summary>A user who may only search and query one collection attacks it with forged iterator tokens and absurd output
/// field lists (session 36). A token holding a null key answered 65535 over both transports; tens of thousands of
/// distinct output names held a search for minutes (each name was looked up in a list of the names before it, in the
/// server and again in the engine).</summary>
public sealed class HostileReaderTests(HostileReaderTests.ReaderServer fixture) : IClassFixture<HostileReaderTests.ReaderServer>
{
    private const string Password = "Reader-Pass-1";

    /// <summary>One server for the class: collection "docs" (dynamic field on) with 20 rows whose dynamic key "extra" is
    /// 10 × id, loaded, and user "reader" whose only grants are Search and Query on "docs".</summary>
    public sealed class ReaderServer : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await StartAuthAsync();
            await Server.Server.Engine.CreateCollectionAsync("docs", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2)],
                EnableDynamicField = true,
            });
            await Server.Server.Engine.CreateIndexAsync("docs", new IndexDefinition { FieldName = "v", IndexType = "FLAT" });
            await Server.Server.Engine.InsertAsync("docs",
                [.. Enumerable.Range(1, 20).Select(i => new Row { ["id"] = (long)i, ["v"] = new[] { (float)i, 0f }, ["extra"] = 10L * i })]);
            Assert.Equal(0, (await Server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "docs" }, Root)).Code);
            await CreateUserWithRoleAsync(Server, "reader", Password, "docs_read");
            foreach (var privilege in new[] { "Search", "Query" })
            {
                Assert.Equal(0, (await Server.Milvus.OperatePrivilegeAsync(new OperatePrivilegeRequest
                {
                    Type = OperatePrivilegeType.Grant,
                    Entity = new GrantEntity
                    {
                        Role = new RoleEntity { Name = "docs_read" },
                        Object = new ObjectEntity { Name = "Collection" },
                        ObjectName = "docs",
                        Grantor = new GrantorEntity { Privilege = new PrivilegeEntity { Name = privilege } },
                    },
                }, Root)).Code);
            }
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private TestServer Server => fixture.Server;

    private static KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };

    /// <summary>A search of "docs" for (0, 0), top 5, as the reader.</summary>
    private Task<SearchResults> SearchAsync(IEnumerable<KeyValuePair> extra, IEnumerable<string>? outputFields = null)
    {
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = "docs",
            DslType = Protocol.Common.DslType.BoolExprV1,
            Nq = 1,
            PlaceholderGroup = TestPlaceholders.Group([[0f, 0f]]),
            SearchParams = { Kv("anns_field", "v"), Kv("topk", "5"), Kv("metric_type", "L2"), Kv("params", "{}") },
        };
        request.SearchParams.Add(extra);
        request.OutputFields.Add(outputFields ?? []);
        return Server.Milvus.SearchAsync(request, Auth("reader:" + Password)).ResponseAsync;
    }

    private static IEnumerable<KeyValuePair> IteratorPage(string token, string lastBound) =>
        [Kv("iterator", "true"), Kv("search_iter_v2", "true"), Kv("search_iter_batch_size", "5"), Kv("search_iter_last_bound", lastBound), Kv("search_iter_id", token)];

    private async Task<JsonObject> RestAsync(string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + path, UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "reader:" + Password);
        using var response = await Server.Http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Forged tokens naming a null key, with a last bound no row reaches (the empty page wrote the token's keys
    /// back) and with one every row passes: 1100 naming the token over gRPC and over REST, and a token the server
    /// issued still pages on.</summary>
    [Theory]
    [InlineData("[null]", "1e30")]
    [InlineData("[null]", "0")]
    [InlineData("[\"3\",null]", "9")]
    public async Task ForgedIteratorToken_WithANullKey_Is1100_OverGrpcAndRest(string keys, string lastBound)
    {
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes(keys));
        var grpc = await SearchAsync(IteratorPage(token, lastBound));
        Assert.Equal(1100, grpc.Status.Code);
        Assert.Equal("search iterator: search_iter_id is not a token this server issued", grpc.Status.Reason);

        var rest = await RestAsync("/entities/search", new JsonObject
        {
            ["collectionName"] = "docs",
            ["data"] = new JsonArray(new JsonArray(0, 0)),
            ["annsField"] = "v",
            ["limit"] = 5,
            ["searchParams"] = new JsonObject
            {
                ["params"] = new JsonObject
                {
                    ["iterator"] = true, ["search_iter_v2"] = true, ["search_iter_batch_size"] = 5,
                    ["search_iter_last_bound"] = double.Parse(lastBound, System.Globalization.CultureInfo.InvariantCulture), ["search_iter_id"] = token,
                },
            },
        });
        Assert.Equal(1100, rest["code"]!.GetValue<int>());
        Assert.Equal("search iterator: search_iter_id is not a token this server issued", rest["message"]!.GetValue<string>());

        // The server's own tokens: page 1 is ids 1..5 (L2 from (0,0) is id²), page 2 continues with 6..10.
        var first = await SearchAsync([Kv("iterator", "true"), Kv("search_iter_v2", "true"), Kv("search_iter_batch_size", "5")]);
        Assert.Equal(0, first.Status.Code);
        Assert.Equal([1L, 2, 3, 4, 5], first.Results.Ids.IntId.Data);
        var issued = first.Results.SearchIteratorV2Results;
        var second = await SearchAsync(IteratorPage(issued.Token, issued.LastBound.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(0, second.Status.Code);
        Assert.Equal([6L, 7, 8, 9, 10], second.Results.Ids.IntId.Data);
    }

    /// <summary>20,000 distinct output names (each a dynamic key no row has), repeated, around the one key the rows
    /// have: the answer is the one a request naming only that key gets, over gRPC search and query and REST query. On
    /// main this took minutes (the server and the engine each checked every name against the names before it); it cannot
    /// fail there other than by time, which no test asserts: the figure is in the report.</summary>
    [Fact]
    public async Task ManyDistinctOutputNames_AnswerAsTheOneNameTheRowsHave()
    {
        var names = Enumerable.Range(0, 20_000).Select(i => "absent" + i).ToList();
        List<string> many = [.. names, "extra", .. names];

        var oneSearch = await SearchAsync([], ["extra"]);
        var manySearch = await SearchAsync([], many);
        Assert.Equal(0, oneSearch.Status.Code);
        Assert.Equal(0, manySearch.Status.Code);
        Assert.Equal([1L, 2, 3, 4, 5], manySearch.Results.Ids.IntId.Data);
        Assert.Equal(DynamicValues(oneSearch.Results.FieldsData), DynamicValues(manySearch.Results.FieldsData));
        Assert.Equal(["{\"extra\":10}", "{\"extra\":20}", "{\"extra\":30}", "{\"extra\":40}", "{\"extra\":50}"], DynamicValues(manySearch.Results.FieldsData));

        var query = await Server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "id <= 3",
            OutputFields = { many },
            QueryParams = { Kv("limit", "10") },
        }, Auth("reader:" + Password)).ResponseAsync;
        Assert.Equal(0, query.Status.Code);
        Assert.Equal(["{\"extra\":10}", "{\"extra\":20}", "{\"extra\":30}"], DynamicValues(query.FieldsData));

        var rest = await RestAsync("/entities/query", new JsonObject
        {
            ["collectionName"] = "docs",
            ["filter"] = "id <= 2",
            ["limit"] = 2, // the result budget counts 256 bytes per named key per row: REST's default limit of 100 is over it
            ["outputFields"] = new JsonArray([.. many.Select(n => (JsonNode?)n)]),
        });
        Assert.Equal(0, rest["code"]!.GetValue<int>());
        Assert.Equal("[{\"id\":\"1\",\"extra\":10},{\"id\":\"2\",\"extra\":20}]", rest["data"]!.ToJsonString());
    }

    /// <summary>The dynamic field's values of an answer, as JSON text, in row order.</summary>
    private static List<string> DynamicValues(IEnumerable<Protocol.Schema.FieldData> fields) =>
        [.. fields.Single(f => f.IsDynamic).Scalars.JsonData.Data.Select(b => JsonNode.Parse(b.ToStringUtf8())!.ToJsonString())];
}
