using Google.Protobuf;
using Grpc.Net.Client;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;
using MilvusMutation = Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = Quiver.Protocol.Milvus.QueryRequest;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>Storage ids given at create (docs/cluster.md, "Storage ids"): each new collection's id is reserved for good in
/// the catalog, so a name dropped and created again is stored afresh, and two nodes racing a create of one name never
/// both succeed. Oracle: a standalone server given the same calls.</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task ANameDroppedAndCreatedAgain_GetsANewStorageId_AndStartsEmpty_AsTheStandalone()
    {
        await using var cluster = await StartAsync();
        var routing = new MilvusRouting(cluster.Client, _context!);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var standalone = new MilvusService.MilvusServiceClient(channel);
        const string Name = "again";

        // A create the shards refuse (no primary key) answers as the standalone and gives its id up again.
        var create = ThreeShards(Name);
        create.ShardsNum = 1;
        var keyless = create.Clone();
        keyless.Schema = new Quiver.Protocol.Schema.CollectionSchema
        {
            Name = Name,
            Fields = { new Quiver.Protocol.Schema.FieldSchema { Name = "vector", DataType = Quiver.Protocol.Schema.DataType.FloatVector, TypeParams = { new Quiver.Protocol.Common.KeyValuePair { Key = "dim", Value = "2" } } } },
        }.ToByteString();
        var refusedFirst = ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", keyless));
        var oracleRefused = await standalone.CreateCollectionAsync(keyless);
        Assert.NotEqual(0, oracleRefused.Code);
        Assert.Equal((oracleRefused.Code, oracleRefused.Reason), (refusedFirst.Code, refusedFirst.Reason));

        // The first collection of a name is stored under the name, as before storage ids.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", create)));
        AssertOk(await standalone.CreateCollectionAsync(create));
        Assert.Equal((1, Name), await _context!.Catalog.EntryAsync("default", Name, CancellationToken.None, fresh: true));
        var rows = Rows(Name, 0, 40, extra: false);
        AssertOk(MilvusMutation.Parser.ParseFrom(await CallAsync(routing, "Insert", rows)).Status);
        AssertOk((await standalone.InsertAsync(rows)).Status);
        AssertOk(FlushResponse.Parser.ParseFrom(await CallAsync(routing, "Flush", new FlushRequest { CollectionNames = { Name } })).Status);

        var drop = new DropCollectionRequest { CollectionName = Name };
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "DropCollection", drop)));
        AssertOk(await standalone.DropCollectionAsync(drop));

        // Created again, in three shards: a new id, never the name again, and none of the rows written before.
        create.ShardsNum = 3;
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", create)));
        AssertOk(await standalone.CreateCollectionAsync(create));
        var (shards, id) = await _context.Catalog.EntryAsync("default", Name, CancellationToken.None, fresh: true);
        Assert.Equal(3, shards);
        Assert.NotEqual(Name, id);
        Assert.StartsWith(Name + "_", id, StringComparison.Ordinal);
        Assert.True(ShardKeys.IsValidName(id), id);

        // A third create after another drop: yet another id.
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "DropCollection", drop)));
        AssertOk(await standalone.DropCollectionAsync(drop));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", create)));
        AssertOk(await standalone.CreateCollectionAsync(create));
        var third = (await _context.Catalog.EntryAsync("default", Name, CancellationToken.None, fresh: true)).Id;
        Assert.NotEqual(Name, third);
        Assert.NotEqual(id, third);

        // A create of the name that exists is refused as the standalone refuses it.
        var twice = ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateCollection", create));
        var oracleTwice = await standalone.CreateCollectionAsync(create);
        Assert.NotEqual(0, oracleTwice.Code);
        Assert.Equal((oracleTwice.Code, oracleTwice.Reason), (twice.Code, twice.Reason));

        var count = new MilvusQuery { CollectionName = Name, OutputFields = { "count(*)" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
        var index = FlatL2(Name);
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "CreateIndex", index)));
        AssertOk(await standalone.CreateIndexAsync(index));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(routing, "LoadCollection", new LoadCollectionRequest { CollectionName = Name })));
        AssertOk(await standalone.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Name }));
        var expected = (await standalone.QueryAsync(count)).FieldsData.Single().Scalars.LongData.Data.Single();
        Assert.Equal(0, expected);
        Assert.Equal(expected, QueryResults.Parser.ParseFrom(await CallAsync(routing, "Query", count)).FieldsData.Single().Scalars.LongData.Data.Single());
    }

    [NatsFact]
    public async Task TwoNodesCreatingOneName_HeldUntilBothCreatedTheirShards_OneSucceeds_TheOtherIsRefusedAsTheStandalone()
    {
        await using var cluster = await StartAsync();
        // A second node: its own catalog over the same bucket.
        var js = new NatsJSContext(nats.Connection);
        await using var otherCatalog = await CollectionCatalog.OpenAsync(new NatsKVContext(js), _context!.Config.Cluster, 3, CancellationToken.None);
        var otherNode = new NodeContext(_context.Config, js, otherCatalog) { Placement = _context.Placement };
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var standalone = new MilvusService.MilvusServiceClient(channel);
        const string Name = "raced";

        // Both creates are held after their shards created the collection, until both got there: then each asks the
        // catalog to record its own.
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        var both = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Hold(string database, string collection, string id)
        {
            ids.Add(id);
            if (ids.Count == 2)
            {
                both.TrySetResult();
            }

            return both.Task.WaitAsync(TimeSpan.FromMinutes(4));
        }

        var first = new MilvusRouting(cluster.Client, _context) { BeforeRecordCreate = Hold };
        var second = new MilvusRouting(cluster.Client, otherNode) { BeforeRecordCreate = Hold };
        var create = ThreeShards(Name);
        create.ShardsNum = 2;
        var answers = await Task.WhenAll(
            CallAsync(first, "CreateCollection", create),
            CallAsync(second, "CreateCollection", create));
        var statuses = answers.Select(ProtoStatus.Parser.ParseFrom).ToArray();

        AssertOk(await standalone.CreateCollectionAsync(create));
        var oracleTwice = await standalone.CreateCollectionAsync(create);
        Assert.NotEqual(0, oracleTwice.Code);
        Assert.Equal(2, ids.Distinct().Count());
        Assert.Single(statuses, s => s.Code == 0);
        var refused = Assert.Single(statuses, s => s.Code != 0);
        Assert.Equal((oracleTwice.Code, oracleTwice.Reason), (refused.Code, refused.Reason));

        // The catalog names the winner's id; the loser's storage is gone, the winner's is there.
        var (shards, id) = await _context.Catalog.EntryAsync("default", Name, CancellationToken.None, fresh: true);
        Assert.Equal(2, shards);
        Assert.Contains(id, ids);
        var loser = ids.Single(i => i != id);
        var streams = new List<string>();
        await foreach (var stream in js.ListStreamNamesAsync())
        {
            streams.Add(stream);
        }

        foreach (var shard in Enumerable.Range(0, 2))
        {
            var kept = ShardKeys.Storage(_context.Config.Cluster, ShardKeys.Of("default", id, shard));
            var freed = ShardKeys.Storage(_context.Config.Cluster, ShardKeys.Of("default", loser, shard));
            Assert.Contains(streams, s => s.StartsWith(kept + "-wal-", StringComparison.Ordinal));
            Assert.DoesNotContain(streams, s => s.StartsWith(freed + "-wal-", StringComparison.Ordinal) || s == $"KV_{freed}-meta");
        }

        // Written through one node, read through the other: the standalone's answers.
        var rows = Rows(Name, 0, 30, extra: false);
        var inserted = MilvusMutation.Parser.ParseFrom(await CallAsync(second, "Insert", rows));
        AssertOk(inserted.Status);
        Assert.Equal((await standalone.InsertAsync(rows)).InsertCnt, inserted.InsertCnt);
        var index = FlatL2(Name);
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(first, "CreateIndex", index)));
        AssertOk(await standalone.CreateIndexAsync(index));
        AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(first, "LoadCollection", new LoadCollectionRequest { CollectionName = Name })));
        AssertOk(await standalone.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = Name }));
        var query = new MilvusQuery { CollectionName = Name, Expr = "id >= 0", OutputFields = { "id" }, ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Strong };
        var answer = QueryResults.Parser.ParseFrom(await CallAsync(first, "Query", query));
        AssertOk(answer.Status);
        Assert.Equal(
            (await standalone.QueryAsync(query)).FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order(),
            answer.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order());
    }

    /// <summary>A FLAT L2 index on <paramref name="collection"/>'s <c>vector</c> field.</summary>
    private static CreateIndexRequest FlatL2(string collection) => FlatIndex(collection, "L2");
}
