using Quiver.Protocol.Milvus;
using Quiver.Server.Clients;

namespace Quiver.Server.Tests.Security;

/// <summary>Holes a review found, each closed and kept closed: security changes while authentication is off, limits
/// dodged through another spelling, reads of released partitions.</summary>
public sealed class HardeningTests
{
    [Fact]
    public async Task AuthOff_UserAndGrantChanges_AreRefused()
    {
        await using var server = await TestServer.StartAsync();
        var created = await server.Milvus.CreateCredentialAsync(new CreateCredentialRequest
        {
            Username = "root", Password = Convert.ToBase64String("planted-password"u8.ToArray()),
        });
        Assert.Equal(1100, created.Code);
        Assert.Contains("authentication is off", created.Reason, StringComparison.Ordinal);
        Assert.Equal(1100, (await server.Milvus.CreateRoleAsync(new CreateRoleRequest { Entity = new RoleEntity { Name = "r" } })).Code);
        // Nothing planted: the store holds no user a later authenticated start would accept.
        var store = (Quiver.Server.Security.SecurityStore)server.Server.Services.GetService(typeof(Quiver.Server.Security.SecurityStore))!;
        Assert.DoesNotContain("root", store.UserNames());
    }

    [Fact]
    public async Task TopKInsideParamsJson_IsLimitedLikeTheFlatKey()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.MaxTopK = 100);
        await server.CreateLoadedCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 2, MetricType.L2)] });
        var flat = MilvusRequests.Search("c", [1f, 0f], 2, 500, "L2");
        Assert.Equal(1100, (await server.Milvus.SearchAsync(flat)).Status.Code);
        var inParams = MilvusRequests.Search("c", [1f, 0f], 2, 10, "L2", "{\"topk\":500}");
        var refused = await server.Milvus.SearchAsync(inParams);
        Assert.Equal(1100, refused.Status.Code);
        Assert.Contains("500", refused.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RowsPerInsert_CountsTheColumnsNotTheStatedNumRows()
    {
        await using var server = await TestServer.StartAsync(o => o.Security.MaxRowsPerInsert = 10);
        await server.CreateLoadedCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 2, MetricType.L2)] });
        var ids = Enumerable.Range(0, 20).Select(i => (long)i).ToArray();
        var insert = MilvusRequests.Insert("c", ids, new float[40], 2);
        insert.NumRows = 0; // the handler infers 20 rows from the columns
        var refused = await server.Milvus.InsertAsync(insert);
        Assert.Equal(1102, refused.Status.Code);
        Assert.Equal(0, (await server.Server.Engine.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] }))[0]["count(*)"] is long n ? n : -1);
    }

    [Fact]
    public async Task AfterPartialLoad_ReadsWithoutPartitionNames_SeeOnlyLoadedPartitions()
    {
        await using var server = await TestServer.StartAsync();
        var engine = server.Server.Engine;
        await engine.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 2, MetricType.L2)] });
        await engine.CreatePartitionAsync("c", "p1");
        await engine.CreatePartitionAsync("c", "p2");
        await engine.InsertAsync("c", [new Row { ["id"] = 1L, ["vector"] = new[] { 0f, 0f } }], partition: "p1");
        await engine.InsertAsync("c", [new Row { ["id"] = 2L, ["vector"] = new[] { 0f, 0.1f } }], partition: "p2");
        Assert.Equal(0, (await server.Milvus.LoadPartitionsAsync(new LoadPartitionsRequest { CollectionName = "c", PartitionNames = { "p1" } })).Code);

        var hits = await server.Milvus.SearchAsync(MilvusRequests.Search("c", [0f, 0f], 2, 10, "L2"));
        Assert.Equal(0, hits.Status.Code);
        Assert.Equal([1L], hits.Results.Ids.IntId.Data);
        var rows = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "c", Expr = "id > 0", OutputFields = { "id" } });
        Assert.Equal(0, rows.Status.Code);
        Assert.Equal([1L], rows.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data);
        var released = await server.Milvus.SearchAsync(new Protocol.Milvus.SearchRequest(MilvusRequests.Search("c", [0f, 0f], 2, 10, "L2")) { PartitionNames = { "p2" } });
        Assert.Equal(201, released.Status.Code);
    }

    [Fact]
    public async Task Connect_ToAMissingDatabase_Is800()
    {
        await using var server = await TestServer.StartAsync();
        var missing = await server.Milvus.ConnectAsync(new ConnectRequest(), new Grpc.Core.Metadata { { "dbname", "nope" } });
        Assert.Equal(800, missing.Status.Code);
        var fine = await server.Milvus.ConnectAsync(new ConnectRequest(), new Grpc.Core.Metadata { { "dbname", "default" } });
        Assert.Equal(0, fine.Status.Code);
    }
}
