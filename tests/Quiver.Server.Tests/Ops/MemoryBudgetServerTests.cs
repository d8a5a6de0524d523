using Quiver.Client;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests.Ops;

/// <summary>The engine's memory budget seen through the server: <c>Engine:MemoryBudgetBytes</c> from the configuration,
/// an insert past it refused over gRPC and REST with Milvus's quota error (code 9, legacy <c>ForceDeny</c>) and nothing
/// stored, and the budget and what the engine holds on <c>/metrics</c>.</summary>
public sealed class MemoryBudgetServerTests
{
    /// <summary>A row of <see cref="Schema"/>: Int64 key, 4 floats, insert timestamp.</summary>
    private const long RowBytes = 8 + 16 + 8;

    private static readonly CollectionSchema Schema = new() { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 4, MetricType.L2)] };

    private const string Reason = "quota exceeded[reason=memory quota exceeded, please allocate more resources]: ";

    [Fact]
    public async Task InsertPastTheBudget_IsRefusedWithMilvusQuotaError_OverGrpcAndRest_AndStoresNothing()
    {
        // A budget of 10 rows, read as the server reads every engine option (a configuration key).
        var options = Hosting.ServerConfig.Load(new Dictionary<string, string?> { ["Engine:MemoryBudgetBytes"] = (10 * RowBytes).ToString(CultureInfo.InvariantCulture) }, new Dictionary<string, string>());
        Assert.Equal(10 * RowBytes, options.Engine.MemoryBudgetBytes);
        await using var server = await TestServer.StartAsync(o => o.Engine = o.Engine with { MemoryBudgetBytes = options.Engine.MemoryBudgetBytes });
        await server.CreateLoadedCollectionAsync("c", Schema);

        // 6 rows fit; 11 never do (more than the whole budget), even after the 6 are sealed.
        var ok = await server.Milvus.InsertAsync(Insert(1, 6));
        Assert.Equal(0, ok.Status.Code);
        var grpc = await server.Milvus.InsertAsync(Insert(100, 11));
#pragma warning disable CS0612 // the legacy error_code is what older SDKs read
        Assert.Equal(Protocol.Common.ErrorCode.ForceDeny, grpc.Status.ErrorCode);
#pragma warning restore CS0612
        Assert.Equal(9, grpc.Status.Code);
        Assert.StartsWith(Reason + "insert of 11 rows (352 bytes in memory) into collection 'c' refused, nothing written", grpc.Status.Reason, StringComparison.Ordinal);
        Assert.False(grpc.Status.Retriable);

        var rest = await RestInsertAsync(server, 200, 11);
        Assert.Equal(9, rest.Code);
        Assert.StartsWith(Reason + "insert of 11 rows (352 bytes in memory)", rest.Message, StringComparison.Ordinal);

        // An upsert goes the same way.
        var upsert = await server.Milvus.UpsertAsync(new UpsertRequest { CollectionName = "c", NumRows = 11, FieldsData = { Insert(1, 11).FieldsData } });
        Assert.Equal(9, upsert.Status.Code);

        // Only the 6 accepted rows are stored; 4 more fit beside nothing (the 6 were sealed by the refused writes).
        var engine = server.Server.Engine;
        Assert.Equal(6L, (await engine.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]);
        Assert.Equal(0, (await RestInsertAsync(server, 300, 10)).Code);
        Assert.Equal(16L, (await engine.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"]);

        var metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(10 * RowBytes, metrics.Value("quiver_engine_memory_budget_bytes"));
        Assert.Equal(10 * RowBytes, metrics.Value("quiver_engine_memory_bytes{kind=\"growing\"}"));
        Assert.Equal(0, metrics.Value("quiver_engine_memory_bytes{kind=\"index\"}"));
        Assert.Equal(0, metrics.Value("quiver_engine_memory_bytes{kind=\"reserved\"}"));
    }

    [Fact]
    public async Task RemoteClient_ReadsTheRefusalAsCapacity()
    {
        await using var server = await TestServer.StartAsync(o => o.Engine = o.Engine with { MemoryBudgetBytes = 10 * RowBytes });
        await server.CreateLoadedCollectionAsync("c", Schema);
        await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{server.Server.Port}" });
        var refused = await Assert.ThrowsAnyAsync<QuiverException>(() => client.InsertAsync("c", [.. Enumerable.Range(0, 11).Select(i => new Row { ["id"] = (long)i, ["v"] = new float[] { i, 0, 0, 1 } })]));
        Assert.Equal(QuiverErrorCode.Capacity, refused.Code);
        Assert.Contains("memory quota exceeded", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexBuildPastTheBudget_IsReportedFailed_WithTheQuotaReason_OverGrpcAndRest_AndDeleteMarksCount()
    {
        // 200 rows (6,400 bytes) fit a budget of 7,000; their HNSW graph (32 links of 4 bytes a node and more) does not.
        await using var server = await TestServer.StartAsync(o => o.Engine = o.Engine with { MemoryBudgetBytes = 7000 });
        var engine = server.Server.Engine;
        await engine.CreateCollectionAsync("c", Schema);
        await engine.CreateIndexAsync("c", new IndexDefinition { FieldName = "v", IndexName = "vi", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "64" } });
        Assert.Equal(0, (await server.Milvus.InsertAsync(Insert(0, 200))).Status.Code);
        await engine.FlushAsync("c");
        var waited = await Assert.ThrowsAsync<QuiverException>(() => engine.WaitForIndexAsync("c"));
        Assert.Equal(QuiverErrorCode.Capacity, waited.Code);

        const string Deferred = "memory quota exceeded, please allocate more resources: index 'vi' of collection 'c' (";
        var grpc = Assert.Single((await server.Milvus.DescribeIndexAsync(new DescribeIndexRequest { CollectionName = "c", IndexName = "vi" })).IndexDescriptions);
        Assert.Equal(Protocol.Common.IndexState.Failed, grpc.State);
        Assert.Contains(Deferred, grpc.IndexStateFailReason, StringComparison.Ordinal);
        Assert.Contains(") not built: the engine holds 0 bytes (", grpc.IndexStateFailReason, StringComparison.Ordinal);
        Assert.Equal(0, grpc.IndexedRows);

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + "/indexes/describe", UriKind.Relative))
        {
            Content = new StringContent("{\"collectionName\":\"c\",\"indexName\":\"vi\"}", Encoding.UTF8, "application/json"),
        };
        using var response = await server.Http.SendAsync(request);
        var rest = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(0, rest["code"]!.GetValue<int>());
        Assert.Equal("Failed", rest["data"]![0]!["indexState"]!.GetValue<string>());
        Assert.Contains(Deferred, rest["data"]![0]!["failReason"]!.GetValue<string>(), StringComparison.Ordinal);

        // Searches still answer (exactly, without the index), and three deletes hold three marks on /metrics.
        await engine.DeleteAsync("c", [1L, 2L, 3L]);
        var metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(3 * 44, metrics.Value("quiver_engine_memory_bytes{kind=\"delete_marks\"}"));
        Assert.Equal(0, metrics.Value("quiver_engine_memory_bytes{kind=\"merges\"}"));
        Assert.Equal(0, metrics.Value("quiver_engine_memory_bytes{kind=\"index\"}"));
        Assert.Equal(0, metrics.Value("quiver_engine_memory_bytes{kind=\"scalar_indexes\"}"));

        // A filter on the sealed segment builds the sorted index of id (200 longs and rows, three arrays): scalar_indexes.
        Assert.Equal(7, (await engine.QueryAsync("c", new QueryRequest { Filter = "id < 10", OutputFields = ["id"] })).Count);
        metrics = await MetricsScrape.GetAsync(server.Http);
        Assert.Equal(72 + (200 * 12), metrics.Value("quiver_engine_memory_bytes{kind=\"scalar_indexes\"}"));
    }

    private static InsertRequest Insert(long first, int count) => new()
    {
        CollectionName = "c",
        NumRows = (uint)count,
        FieldsData =
        {
            Long("id", [.. Enumerable.Range(0, count).Select(i => first + i)]),
            Vectors("v", 4, [.. Enumerable.Range(0, count).Select(i => new float[] { i, 1, 2, 3 })]),
        },
    };

    private static async Task<(int Code, string Message)> RestInsertAsync(TestServer server, long first, int count)
    {
        var rows = string.Join(",", Enumerable.Range(0, count).Select(i => $"{{\"id\":{first + i},\"v\":[{i},1,2,3]}}"));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(MilvusRestV2.Prefix + "/entities/insert", UriKind.Relative))
        {
            Content = new StringContent("{\"collectionName\":\"c\",\"data\":[" + rows + "]}", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return (json["code"]!.GetValue<int>(), json["message"]?.GetValue<string>() ?? "");
    }
}
