using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;
using Proto = Quiver.Protocol.Schema;
using WireSearch = Quiver.Protocol.Milvus.SearchRequest;

namespace Quiver.Server.Tests.Data;

/// <summary>Milvus's <c>timezone</c> where the wire carries it past the parts the engine tests cover: DescribeCollection
/// (gRPC and REST) writes TIMESTAMPTZ defaults in the collection's zone, as Milvus's proxy does
/// (<c>RewriteTimestampTzDefaultValueToString</c>); a hybrid search's zone in <c>rank_params</c> (gRPC) or the body's
/// <c>timezone</c> (REST <c>entities/hybrid_search</c>) writes the hits' values and reads the sub-requests' ISO literals;
/// REST <c>entities/search</c> answers in its <c>timezone</c>. The oracle: instants worked by hand (New York is -05:00 in
/// January and -04:00 in July, Shanghai +08:00 all year).</summary>
public sealed class TimezoneWireTests
{
    private static Proto.FieldSchema Field(string name, Proto.DataType type) => new() { Name = name, DataType = type };

    /// <summary>A key, a 2-d vector and TIMESTAMPTZ fields <c>a</c> (default naive text, January) and <c>b</c> (default
    /// with an offset, July).</summary>
    private static ByteString EventsSchema(string name)
    {
        var id = Field("id", Proto.DataType.Int64);
        id.IsPrimaryKey = true;
        var v = Field("v", Proto.DataType.FloatVector);
        v.TypeParams.Add(Kv("dim", "2"));
        var a = Field("a", Proto.DataType.Timestamptz);
        a.DefaultValue = new Proto.ValueField { StringData = "2025-01-15 08:00:00" };
        var b = Field("b", Proto.DataType.Timestamptz);
        b.DefaultValue = new Proto.ValueField { StringData = "2025-07-15T08:00:00Z" };
        return new Proto.CollectionSchema { Name = name, Fields = { id, v, a, b } }.ToByteString();
    }

    private static async Task<(string A, string B)> GrpcDefaultsAsync(TestServer server, string name)
    {
        var described = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = name });
        Assert.True(described.Status.Code == 0, described.Status.Reason);
        var fields = described.Schema.Fields;
        return (fields.Single(f => f.Name == "a").DefaultValue.StringData, fields.Single(f => f.Name == "b").DefaultValue.StringData);
    }

    private static async Task<JsonElement> RestAsync(TestServer server, string path, object body)
    {
        using var response = await server.Http.PostAsync($"/v2/vectordb/{path}", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement.Clone();
        Assert.True(root.GetProperty("code").GetInt32() == 0, root.ToString());
        return root.GetProperty("data");
    }

    private static async Task<(string A, string B)> RestDefaultsAsync(TestServer server, string name)
    {
        var data = await RestAsync(server, "collections/describe", new { collectionName = name });
        string Of(string field) => data.GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == field)
            .GetProperty("defaultValue").GetString()!;
        return (Of("a"), Of("b"));
    }

    [Fact]
    public async Task Describe_WritesTimestamptzDefaults_InTheCollectionZone_OverGrpcAndRest()
    {
        await using var server = await TestServer.StartAsync();
        var create = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest
        {
            CollectionName = "events",
            Schema = EventsSchema("events"),
            Properties = { Kv("timezone", "America/New_York") },
        });
        Assert.True(create.Code == 0, create.Reason);

        // The naive default was read in New York when the collection was created; both are written in New York.
        (string, string) newYork = ("2025-01-15T08:00:00-05:00", "2025-07-15T04:00:00-04:00");
        Assert.Equal(newYork, await GrpcDefaultsAsync(server, "events"));
        Assert.Equal(newYork, await RestDefaultsAsync(server, "events"));

        // Another zone writes the same instants in it; the defaults do not move.
        var alter = await server.Milvus.AlterCollectionAsync(new AlterCollectionRequest { CollectionName = "events", Properties = { Kv("timezone", "Asia/Shanghai") } });
        Assert.True(alter.Code == 0, alter.Reason);
        (string, string) shanghai = ("2025-01-15T21:00:00+08:00", "2025-07-15T16:00:00+08:00");
        Assert.Equal(shanghai, await GrpcDefaultsAsync(server, "events"));
        Assert.Equal(shanghai, await RestDefaultsAsync(server, "events"));

        // A collection created without a zone records UTC (its database has none) and writes its defaults in it.
        var plain = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = "plain", Schema = EventsSchema("plain") });
        Assert.True(plain.Code == 0, plain.Reason);
        Assert.Equal(("2025-01-15T08:00:00Z", "2025-07-15T08:00:00Z"), await GrpcDefaultsAsync(server, "plain"));
        var properties = (await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "plain" })).Properties;
        Assert.Equal("UTC", properties.Single(p => p.Key == "timezone").Value);
    }

    /// <summary>Ten rows in a Shanghai collection; row i holds 2025-07-(10+i) 12:00 UTC, and v = (i, 0).</summary>
    private static async Task<TestServer> StartWithRowsAsync()
    {
        var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"),
                new FieldSchema { Name = "tsz", DataType = Quiver.DataType.Timestamptz, Nullable = true },
                FieldSchema.Vector("v", 2, MetricType.L2),
            ],
        });
        await server.Server.Engine.AlterCollectionPropertiesAsync("docs", new Dictionary<string, string> { ["timezone"] = "Asia/Shanghai" });
        await server.Server.Engine.InsertAsync("docs", [.. Enumerable.Range(0, 10).Select(i => new Row
        {
            ["id"] = (long)i,
            ["tsz"] = $"2025-07-{10 + i}T12:00:00Z",
            ["v"] = new[] { (float)i, 0f },
        })]);
        return server;
    }

    private static string NewYork(long id) => $"2025-07-{10 + id}T08:00:00-04:00";

    private static string Shanghai(long id) => $"2025-07-{10 + id}T20:00:00+08:00";

    private static WireSearch Sub(float x, string filter) => new()
    {
        CollectionName = "docs",
        Dsl = filter,
        DslType = Protocol.Common.DslType.BoolExprV1,
        Nq = 1,
        PlaceholderGroup = TestPlaceholders.Group([[x, 0f]]),
        SearchParams = { Kv("anns_field", "v"), Kv("params", "{}"), Kv("topk", "10"), Kv("metric_type", "L2") },
    };

    private static List<(long Id, string Tsz)> Hits(SearchResults results)
    {
        Assert.True(results.Status.Code == 0, results.Status.Reason);
        var texts = results.Results.FieldsData.Get("tsz").Scalars.StringData.Data;
        return [.. results.Results.Ids.IntId.Data.Select((id, i) => (id, texts[i]))];
    }

    [Fact]
    public async Task HybridSearch_ZoneInRankParams_WritesTheHitsAndReadsTheLiterals()
    {
        await using var server = await StartWithRowsAsync();
        // Naive literals: 2025-07-13 08:00 in New York is 12:00 UTC, row 3's instant (in Shanghai it is 00:00 UTC).
        Protocol.Milvus.HybridSearchRequest Hybrid(params Protocol.Common.KeyValuePair[] zone) => new()
        {
            CollectionName = "docs",
            Requests = { Sub(0, "tsz >= ISO '2025-07-13 08:00:00'"), Sub(9, "tsz <= ISO '2025-07-16 08:00:00'") },
            OutputFields = { "tsz" },
            RankParams = { Kv("strategy", "rrf"), Kv("params", "{\"k\": 60}"), Kv("limit", "10"), Kv("round_decimal", "-1"), zone },
        };

        // New York: rows 3..9 from the first request and 0..6 from the second; every hit written in New York.
        var ny = Hits(await server.Milvus.HybridSearchAsync(Hybrid(Kv("timezone", "America/New_York"))));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), ny.Select(h => h.Id).Order());
        Assert.All(ny, h => Assert.Equal(NewYork(h.Id), h.Tsz));

        // The collection's zone, Shanghai: the same literals name instants 12 hours earlier (the first request keeps rows
        // 3..9 still, the second 0..5); values written in Shanghai.
        var own = Hits(await server.Milvus.HybridSearchAsync(Hybrid()));
        Assert.All(own, h => Assert.Equal(Shanghai(h.Id), h.Tsz));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), own.Select(h => h.Id).Order());

        // A literal the zones split: at 2025-07-15 20:00 local, Shanghai keeps rows 5..9 and New York rows 6..9.
        Protocol.Milvus.HybridSearchRequest Split(params Protocol.Common.KeyValuePair[] zone) => new()
        {
            CollectionName = "docs",
            Requests = { Sub(9, "tsz >= ISO '2025-07-15 20:00:00'") },
            OutputFields = { "tsz" },
            RankParams = { Kv("strategy", "rrf"), Kv("params", "{\"k\": 60}"), Kv("limit", "10"), zone },
        };
        Assert.Equal([5L, 6, 7, 8, 9], Hits(await server.Milvus.HybridSearchAsync(Split())).Select(h => h.Id).Order());
        Assert.Equal([6L, 7, 8, 9], Hits(await server.Milvus.HybridSearchAsync(Split(Kv("timezone", "America/New_York")))).Select(h => h.Id).Order());
    }

    [Fact]
    public async Task Rest_SearchAndHybridSearch_AnswerInTheirTimezone()
    {
        await using var server = await StartWithRowsAsync();
        static List<(long, string)> Rows(JsonElement data) =>
            [.. data.EnumerateArray().Select(r => (long.Parse(r.GetProperty("id").ToString(), System.Globalization.CultureInfo.InvariantCulture), r.GetProperty("tsz").GetString()!))];

        var search = Rows(await RestAsync(server, "entities/search", new { collectionName = "docs", data = new[] { new[] { 4.2f, 0f } }, annsField = "v", limit = 3, outputFields = new[] { "tsz" }, timezone = "America/New_York" }));
        Assert.Equal([(4L, NewYork(4)), (5L, NewYork(5)), (3L, NewYork(3))], search);
        var own = Rows(await RestAsync(server, "entities/search", new { collectionName = "docs", data = new[] { new[] { 4.2f, 0f } }, annsField = "v", limit = 3, outputFields = new[] { "tsz" } }));
        Assert.Equal([(4L, Shanghai(4)), (5L, Shanghai(5)), (3L, Shanghai(3))], own);

        var hybrid = new
        {
            collectionName = "docs",
            search = new object[]
            {
                new { data = new[] { new[] { 0f, 0f } }, annsField = "v", limit = 4, filter = "tsz >= ISO '2025-07-15 20:00:00'" },
                new { data = new[] { new[] { 9f, 0f } }, annsField = "v", limit = 4 },
            },
            rerank = new { strategy = "rrf", @params = new { k = 60 } },
            limit = 10,
            outputFields = new[] { "tsz" },
            timezone = "America/New_York",
        };
        var hits = Rows(await RestAsync(server, "entities/hybrid_search", hybrid));
        // In New York the literal keeps rows 6..9 (6, 7, 8, 9 nearest 0 first); the second request rows 9, 8, 7, 6.
        Assert.Equal([6L, 7, 8, 9], hits.Select(h => h.Item1).Order());
        Assert.All(hits, h => Assert.Equal(NewYork(h.Item1), h.Item2));
    }
}
