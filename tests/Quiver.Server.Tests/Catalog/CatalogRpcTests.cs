using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Common;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Schema = Quiver.Protocol.Schema;

namespace Quiver.Server.Tests.Catalog;

public sealed class CatalogRpcTests
{
    private static ByteString SchemaBytes(string name, int dim = 4, bool dynamic = false, params Schema.FieldSchema[] extra)
    {
        var schema = new Schema.CollectionSchema { Name = name, EnableDynamicField = dynamic };
        schema.Fields.Add(new Schema.FieldSchema { Name = "id", DataType = Schema.DataType.Int64, IsPrimaryKey = true, AutoID = true });
        var vector = new Schema.FieldSchema { Name = "vec", DataType = Schema.DataType.FloatVector };
        vector.TypeParams.Add(new KeyValuePair { Key = "dim", Value = dim.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        schema.Fields.Add(vector);
        schema.Fields.Add(extra);
        return schema.ToByteString();
    }

    private static Schema.FieldSchema Field(string name, Schema.DataType type, params (string Key, string Value)[] typeParams)
    {
        var f = new Schema.FieldSchema { Name = name, DataType = type };
        foreach (var (k, v) in typeParams)
        {
            f.TypeParams.Add(new KeyValuePair { Key = k, Value = v });
        }

        return f;
    }

    private static async Task CreateAsync(TestServer server, string name, string db = "", bool dynamic = false, params Schema.FieldSchema[] extra)
    {
        var status = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest
        {
            DbName = db,
            CollectionName = name,
            Schema = SchemaBytes(name, dynamic: dynamic, extra: extra),
            ConsistencyLevel = Protocol.Common.ConsistencyLevel.Session,
            ShardsNum = 1,
        });
        Assert.True(status.Code == 0, status.Reason);
    }

    private static CreateIndexRequest IndexRequest(string collection, string type, string metric, string? paramsJson = null)
    {
        var r = new CreateIndexRequest { CollectionName = collection, FieldName = "vec", IndexName = "vec_idx" };
        r.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = type });
        r.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = metric });
        if (paramsJson is not null)
        {
            r.ExtraParams.Add(new KeyValuePair { Key = "params", Value = paramsJson });
        }

        return r;
    }

    [Fact]
    public async Task CreateCollection_AllFieldTypes_DescribeReturnsSchemaWithIds()
    {
        await using var server = await TestServer.StartAsync();
        var array = Field("tags", Schema.DataType.Array, ("max_capacity", "8"), ("max_length", "16"));
        array.ElementType = Schema.DataType.VarChar;
        var withDefault = Field("score", Schema.DataType.Double);
        withDefault.DefaultValue = new Schema.ValueField { DoubleData = 1.5 };
        var nullable = Field("n", Schema.DataType.Int32);
        nullable.Nullable = true;
        await CreateAsync(server, "all", dynamic: true, extra:
        [
            Field("b", Schema.DataType.Bool), Field("i8", Schema.DataType.Int8), Field("i16", Schema.DataType.Int16),
            nullable, Field("f", Schema.DataType.Float), withDefault,
            Field("s", Schema.DataType.VarChar, ("max_length", "64")), Field("j", Schema.DataType.Json), array,
        ]);

        var d = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "all" });
        Assert.Equal(0, d.Status.Code);
        Assert.Equal("all", d.CollectionName);
        Assert.Equal("default", d.DbName);
        Assert.Equal(1, d.ShardsNum);
        Assert.Equal(Protocol.Common.ConsistencyLevel.Session, d.ConsistencyLevel);
        Assert.Equal(1, d.NumPartitions);
        Assert.True(d.CollectionID > 0);
        Assert.True(d.CreatedTimestamp > 0);
        // The kept consistency level is not shown as a property; the zone Milvus records on every new collection is.
        Assert.Equal([("timezone", "UTC")], d.Properties.Select(p => (p.Key, p.Value)));
        var fields = d.Schema.Fields;
        Assert.Equal(["id", "vec", "b", "i8", "i16", "n", "f", "score", "s", "j", "tags", "$meta"], fields.Select(f => f.Name));
        Assert.Equal(Enumerable.Range(100, 12).Select(i => (long)i), fields.Select(f => f.FieldID));
        Assert.True(fields[0].IsPrimaryKey && fields[0].AutoID);
        Assert.Equal("4", fields[1].TypeParams.Single(p => p.Key == "dim").Value);
        Assert.True(fields[5].Nullable);
        Assert.Equal(1.5, fields[7].DefaultValue.DoubleData);
        Assert.Equal("64", fields[8].TypeParams.Single(p => p.Key == "max_length").Value);
        Assert.Equal(Schema.DataType.VarChar, fields[10].ElementType);
        Assert.Equal("8", fields[10].TypeParams.Single(p => p.Key == "max_capacity").Value);
        Assert.True(fields[11].IsDynamic);
        Assert.True(d.Schema.EnableDynamicField);
    }

    [Fact]
    public async Task CreateCollection_UnsupportedTypesAndFeatures_AreParameterInvalidNamingTheField()
    {
        await using var server = await TestServer.StartAsync();
        var binary = Field("bits", Schema.DataType.BinaryVector, ("dim", "12"));
        var status = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = "x", Schema = SchemaBytes("x", extra: binary) });
        Assert.Equal(1100, status.Code);
        Assert.Contains("'bits'", status.Reason, StringComparison.Ordinal);
        Assert.Contains("multiple of 8", status.Reason, StringComparison.Ordinal);

        // A partition key must be Int64 or VarChar (Milvus's rule).
        var key = Field("tenant", Schema.DataType.Double);
        key.IsPartitionKey = true;
        status = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = "x", Schema = SchemaBytes("x", extra: key) });
        Assert.Equal(1100, status.Code);
        Assert.Contains("'tenant'", status.Reason, StringComparison.Ordinal);

        // The server keeps serving, and nothing was created.
        var has = await server.Milvus.HasCollectionAsync(new HasCollectionRequest { CollectionName = "x" });
        Assert.Equal(0, has.Status.Code);
        Assert.False(has.Value);
    }

    [Fact]
    public async Task Databases_CreateListDescribeAlterDrop()
    {
        await using var server = await TestServer.StartAsync();
        var create = new CreateDatabaseRequest { DbName = "shop" };
        create.Properties.Add(new KeyValuePair { Key = "database.max.collections", Value = "10" });
        Assert.Equal(0, (await server.Milvus.CreateDatabaseAsync(create)).Code);
        var list = await server.Milvus.ListDatabasesAsync(new ListDatabasesRequest());
        Assert.Equal(["default", "shop"], list.DbNames);
        Assert.Equal(2, list.DbIds.Count);

        var alter = new AlterDatabaseRequest { DbName = "shop" };
        alter.Properties.Add(new KeyValuePair { Key = "k", Value = "v" });
        alter.DeleteKeys.Add("database.max.collections");
        Assert.Equal(0, (await server.Milvus.AlterDatabaseAsync(alter)).Code);
        var described = await server.Milvus.DescribeDatabaseAsync(new DescribeDatabaseRequest { DbName = "shop" });
        Assert.Equal("shop", described.DbName);
        Assert.Equal([("k", "v")], described.Properties.Select(p => (p.Key, p.Value)));

        var missing = await server.Milvus.DescribeDatabaseAsync(new DescribeDatabaseRequest { DbName = "nope" });
        Assert.Equal(800, missing.Status.Code);
        var inMissing = await server.Milvus.ShowCollectionsAsync(new ShowCollectionsRequest { DbName = "nope" });
        Assert.Equal(800, inMissing.Status.Code);

        await CreateAsync(server, "c", "shop");
        var show = await server.Milvus.ShowCollectionsAsync(new ShowCollectionsRequest { DbName = "shop" });
        Assert.Equal(["c"], show.CollectionNames);
        Assert.NotEqual(0, (await server.Milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = "shop" })).Code);
        Assert.Equal(0, (await server.Milvus.DropCollectionAsync(new DropCollectionRequest { DbName = "shop", CollectionName = "c" })).Code);
        Assert.Equal(0, (await server.Milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = "shop" })).Code);
        Assert.Equal(800, (await server.Milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = "shop" })).Code);
    }

    [Fact]
    public async Task Collections_RenameAlterStatisticsAndNotFound()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "a");
        await server.Milvus.CreateDatabaseAsync(new CreateDatabaseRequest { DbName = "other" });
        var rename = await server.Milvus.RenameCollectionAsync(new RenameCollectionRequest { OldName = "a", NewName = "b", NewDBName = "other" });
        Assert.Equal(0, rename.Code);
        Assert.False((await server.Milvus.HasCollectionAsync(new HasCollectionRequest { CollectionName = "a" })).Value);
        Assert.True((await server.Milvus.HasCollectionAsync(new HasCollectionRequest { DbName = "other", CollectionName = "b" })).Value);

        var alter = new AlterCollectionRequest { DbName = "other", CollectionName = "b" };
        alter.Properties.Add(new KeyValuePair { Key = "collection.ttl.seconds", Value = "3600" });
        Assert.Equal(0, (await server.Milvus.AlterCollectionAsync(alter)).Code);
        var d = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { DbName = "other", CollectionName = "b" });
        Assert.Equal("3600", d.Properties.Single(p => p.Key == "collection.ttl.seconds").Value);

        var stats = await server.Milvus.GetCollectionStatisticsAsync(new GetCollectionStatisticsRequest { DbName = "other", CollectionName = "b" });
        Assert.Equal("0", stats.Stats.Single(s => s.Key == "row_count").Value);

        var missing = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "a" });
        Assert.Equal(100, missing.Status.Code);
        Assert.Equal(100, (await server.Milvus.DropCollectionAsync(new DropCollectionRequest { CollectionName = "a" })).Code);
        Assert.Equal(100, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "a" })).Status.Code);
    }

    [Fact]
    public async Task Partitions_CreateShowHasDropAndStatistics()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "c");
        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = "c", PartitionName = "p1" })).Code);
        var show = await server.Milvus.ShowPartitionsAsync(new ShowPartitionsRequest { CollectionName = "c" });
        Assert.Equal(["_default", "p1"], show.PartitionNames);
        Assert.Equal(2, show.PartitionIDs.Distinct().Count());
        Assert.True((await server.Milvus.HasPartitionAsync(new HasPartitionRequest { CollectionName = "c", PartitionName = "p1" })).Value);
        var stats = await server.Milvus.GetPartitionStatisticsAsync(new GetPartitionStatisticsRequest { CollectionName = "c", PartitionName = "p1" });
        Assert.Equal("0", stats.Stats.Single().Value);
        var missing = await server.Milvus.GetPartitionStatisticsAsync(new GetPartitionStatisticsRequest { CollectionName = "c", PartitionName = "zz" });
        Assert.Equal(200, missing.Status.Code);
        Assert.Equal(200, (await server.Milvus.DropPartitionAsync(new DropPartitionRequest { CollectionName = "c", PartitionName = "zz" })).Code);
        Assert.Equal(0, (await server.Milvus.DropPartitionAsync(new DropPartitionRequest { CollectionName = "c", PartitionName = "p1" })).Code);
        Assert.False((await server.Milvus.HasPartitionAsync(new HasPartitionRequest { CollectionName = "c", PartitionName = "p1" })).Value);
    }

    [Fact]
    public async Task Aliases_ResolveInEveryCall_WithMilvusErrorCodes()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "a");
        await CreateAsync(server, "b");
        Assert.Equal(0, (await server.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "a", Alias = "live" })).Code);
        Assert.Equal(1602, (await server.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "b", Alias = "live" })).Code);
        Assert.Equal(1601, (await server.Milvus.CreateAliasAsync(new CreateAliasRequest { CollectionName = "a", Alias = "b" })).Code);
        Assert.Equal(1600, (await server.Milvus.DropAliasAsync(new DropAliasRequest { Alias = "nope" })).Code);
        Assert.Equal(1600, (await server.Milvus.DescribeAliasAsync(new DescribeAliasRequest { Alias = "nope" })).Status.Code);
        Assert.Equal(1600, (await server.Milvus.AlterAliasAsync(new AlterAliasRequest { CollectionName = "b", Alias = "nope" })).Code);

        var d = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "live" });
        Assert.Equal("a", d.CollectionName);
        Assert.Equal(["live"], d.Aliases);
        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = "live", PartitionName = "p" })).Code);
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(IndexRequest("live", "FLAT", "L2"))).Code);
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "live" })).Code);
        Assert.Equal(LoadState.Loaded, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "a" })).State);

        Assert.Equal(0, (await server.Milvus.AlterAliasAsync(new AlterAliasRequest { CollectionName = "b", Alias = "live" })).Code);
        Assert.Equal("b", (await server.Milvus.DescribeAliasAsync(new DescribeAliasRequest { Alias = "live" })).Collection);
        Assert.Equal(LoadState.NotLoad, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "live" })).State);
        var list = await server.Milvus.ListAliasesAsync(new ListAliasesRequest { CollectionName = "b" });
        Assert.Equal(["live"], list.Aliases);
        Assert.NotEqual(0, (await server.Milvus.DropCollectionAsync(new DropCollectionRequest { CollectionName = "b" })).Code);
        Assert.Equal(0, (await server.Milvus.DropAliasAsync(new DropAliasRequest { Alias = "live" })).Code);
        Assert.Equal(0, (await server.Milvus.DropCollectionAsync(new DropCollectionRequest { CollectionName = "b" })).Code);
    }

    [Fact]
    public async Task LoadState_NewCollectionIsReleased_LoadNeedsIndex_EnsureLoadedRefuses()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "c");
        var loads = server.Server.Services.GetRequiredService<LoadStates>();
        Assert.Equal(LoadState.NotLoad, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "c" })).State);
        var refused = Assert.Throws<MilvusException>(() => loads.EnsureLoaded("default", "c"));
        Assert.Equal(101, refused.Code);
        Assert.Equal(101, (await server.Milvus.GetLoadingProgressAsync(new GetLoadingProgressRequest { CollectionName = "c" })).Status.Code);

        // Unlike Milvus, a collection loads without an index (its segments are searched exactly) ...
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "c" })).Code);
        loads.EnsureLoaded("default", "c");
        Assert.Equal(0, (await server.Milvus.ReleaseCollectionAsync(new ReleaseCollectionRequest { CollectionName = "c" })).Code);
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "HNSW", "IP", "{\"M\":8,\"efConstruction\":64}"))).Code);
        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "c" })).Code);
        loads.EnsureLoaded("default", "c");
        Assert.Equal(100, (await server.Milvus.GetLoadingProgressAsync(new GetLoadingProgressRequest { CollectionName = "c" })).Progress);
        var show = await server.Milvus.ShowCollectionsAsync(new ShowCollectionsRequest { Type = ShowType.InMemory });
        Assert.Equal(["c"], show.CollectionNames);

        Assert.Equal(0, (await server.Milvus.CreatePartitionAsync(new CreatePartitionRequest { CollectionName = "c", PartitionName = "p" })).Code);
        Assert.Equal(0, (await server.Milvus.ReleasePartitionsAsync(new ReleasePartitionsRequest { CollectionName = "c", PartitionNames = { "_default" } })).Code);
        Assert.Equal(201, Assert.Throws<MilvusException>(() => loads.EnsureLoaded("default", "c", ["_default"])).Code);
        loads.EnsureLoaded("default", "c", ["p"]);
        Assert.Equal(0, (await server.Milvus.ReleaseCollectionAsync(new ReleaseCollectionRequest { CollectionName = "c" })).Code);
        Assert.Equal(101, Assert.Throws<MilvusException>(() => loads.EnsureLoaded("default", "c")).Code);
        Assert.Equal(0, (await server.Milvus.LoadPartitionsAsync(new LoadPartitionsRequest { CollectionName = "c", PartitionNames = { "p" } })).Code);
        Assert.Equal(LoadState.Loaded, (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "c" })).State);
        Assert.Equal(LoadState.NotLoad,
            (await server.Milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = "c", PartitionNames = { "_default" } })).State);
    }

    [Fact]
    public async Task Indexes_CreateDescribeStateDrop_MetricBindsField()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "c");
        Assert.Equal(1100, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "SCANN", "L2"))).Code);
        Assert.Equal(1100, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "HNSW", "HAMMING"))).Code);
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "IVF_FLAT", "COSINE", "{\"nlist\":16}"))).Code);
        // The same index again is accepted; another one on the field is not.
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "IVF_FLAT", "COSINE", "{\"nlist\":16}"))).Code);
        Assert.NotEqual(0, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "HNSW", "L2"))).Code);

        var d = await server.Milvus.DescribeIndexAsync(new DescribeIndexRequest { CollectionName = "c" });
        var index = Assert.Single(d.IndexDescriptions);
        Assert.Equal("vec_idx", index.IndexName);
        Assert.Equal("vec", index.FieldName);
        Assert.Equal(Protocol.Common.IndexState.Finished, index.State);
        Assert.Equal("IVF_FLAT", index.Params.Single(p => p.Key == "index_type").Value);
        Assert.Equal("COSINE", index.Params.Single(p => p.Key == "metric_type").Value);
        Assert.Equal("{\"nlist\":\"16\"}", index.Params.Single(p => p.Key == "params").Value);
        Assert.Equal(Protocol.Common.IndexState.Finished, (await server.Milvus.GetIndexStateAsync(new GetIndexStateRequest { CollectionName = "c" })).State);
        Assert.Equal(0, (await server.Milvus.GetIndexBuildProgressAsync(new GetIndexBuildProgressRequest { CollectionName = "c" })).Status.Code);
        var engineField = (await server.Server.Engine.DescribeCollectionAsync("c")).Schema.Find("vec")!;
        Assert.Equal(MetricType.Cosine, engineField.Metric);

        Assert.Equal(700, (await server.Milvus.DescribeIndexAsync(new DescribeIndexRequest { CollectionName = "c", IndexName = "nope" })).Status.Code);
        // Unlike Milvus, dropping the index of a loaded collection is allowed (searches fall back to exact).
        await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = "c" });
        Assert.Equal(0, (await server.Milvus.DropIndexAsync(new DropIndexRequest { CollectionName = "c", IndexName = "vec_idx" })).Code);
        Assert.Equal(700, (await server.Milvus.DropIndexAsync(new DropIndexRequest { CollectionName = "c", IndexName = "vec_idx" })).Code);
        // With the index gone, a new one may choose another metric, as in Milvus.
        Assert.Equal(0, (await server.Milvus.CreateIndexAsync(IndexRequest("c", "HNSW", "L2"))).Code);
        Assert.Equal(MetricType.L2, (await server.Server.Engine.DescribeCollectionAsync("c")).Schema.Find("vec")!.Metric);
    }

    [Fact]
    public async Task Flush_ReturnsPerCollectionShapes_FlushStateFlushed()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server, "c");
        var flush = await server.Milvus.FlushAsync(new FlushRequest { CollectionNames = { "c" } });
        Assert.Equal(0, flush.Status.Code);
        Assert.True(flush.CollFlushTs["c"] > 0);
        Assert.True(flush.CollSegIDs.ContainsKey("c"));
        var state = await server.Milvus.GetFlushStateAsync(new GetFlushStateRequest { CollectionName = "c", FlushTs = flush.CollFlushTs["c"] });
        Assert.True(state.Flushed);
        Assert.Equal(100, (await server.Milvus.FlushAsync(new FlushRequest { CollectionNames = { "missing" } })).Status.Code);
    }

    [Fact]
    public async Task CatalogAliasesAndLoadState_SurviveRestart()
    {
        var folder = new Quiver.Testing.TempFolder();
        try
        {
            var options = new ServerOptions { DataPath = folder.Path, Port = 0, Engine = new QuiverOptions { BackgroundMaintenance = false } };
            await using (var first = await TestServer.StartOnAsync(options))
            {
                await first.Milvus.CreateDatabaseAsync(new CreateDatabaseRequest { DbName = "shop" });
                await CreateAsync(first, "c", "shop");
                await first.Milvus.CreateAliasAsync(new CreateAliasRequest { DbName = "shop", CollectionName = "c", Alias = "live" });
                Assert.Equal(0, (await first.Milvus.CreateIndexAsync(new CreateIndexRequest
                {
                    DbName = "shop", CollectionName = "live", FieldName = "vec", ExtraParams = { new KeyValuePair { Key = "metric_type", Value = "IP" } },
                })).Code);
                Assert.Equal(0, (await first.Milvus.LoadCollectionAsync(new LoadCollectionRequest { DbName = "shop", CollectionName = "c" })).Code);
            }

            await using var second = await TestServer.StartOnAsync(options);
            Assert.Equal("c", (await second.Milvus.DescribeAliasAsync(new DescribeAliasRequest { DbName = "shop", Alias = "live" })).Collection);
            Assert.Equal(LoadState.Loaded, (await second.Milvus.GetLoadStateAsync(new GetLoadStateRequest { DbName = "shop", CollectionName = "live" })).State);
            var index = Assert.Single((await second.Milvus.DescribeIndexAsync(new DescribeIndexRequest { DbName = "shop", CollectionName = "c" })).IndexDescriptions);
            Assert.Equal("AUTOINDEX", index.Params.Single(p => p.Key == "index_type").Value);
            Assert.Equal("IP", index.Params.Single(p => p.Key == "metric_type").Value);
            var d = await second.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { DbName = "shop", CollectionName = "c" });
            Assert.Equal(Protocol.Common.ConsistencyLevel.Session, d.ConsistencyLevel);
        }
        finally
        {
            folder.Dispose();
        }
    }
}
