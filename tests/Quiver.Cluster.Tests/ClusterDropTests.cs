using Grpc.Net.Client;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Quiver.Client;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using ProtoSchema = Quiver.Protocol.Schema;

namespace Quiver.Cluster.Tests;

/// <summary>Dropping a collection frees its JetStream state: every shard's log stream, meta bucket and file bucket, and
/// its placement record, are gone once the drop is answered; a collection created again under the same name (through
/// another node) starts empty. Two nodes over a 3-server JetStream cluster, child processes on loopback.</summary>
public sealed class ClusterDropTests
{
    private const int Dim = 4;

    [NatsFact]
    public async Task DroppedCollections_LeaveNoStreamOrBucket_AndARecreatedOneStartsEmpty()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 2);
        await using var first = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(0), Timeout = TimeSpan.FromMinutes(3) });
        await using var second = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(1), Timeout = TimeSpan.FromMinutes(3) });
        await using var connection = nats.Connect();
        var js = new NatsJSContext(connection);

        // One collection of one shard (through the client), one of two shards (shards_num over gRPC, which the client
        // does not set), both written, indexed and loaded.
        await first.CreateCollectionAsync("single", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", Dim, MetricType.L2)] });
        using (var channel = GrpcChannel.ForAddress(nodes.Address(0)))
        {
            var schema = new ProtoSchema.CollectionSchema { Name = "multi" };
            schema.Fields.Add(new ProtoSchema.FieldSchema { Name = "id", DataType = ProtoSchema.DataType.Int64, IsPrimaryKey = true });
            var vector = new ProtoSchema.FieldSchema { Name = "vector", DataType = ProtoSchema.DataType.FloatVector };
            vector.TypeParams.Add(new Protocol.Common.KeyValuePair { Key = "dim", Value = Dim.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            schema.Fields.Add(vector);
            var created = await new MilvusService.MilvusServiceClient(channel).CreateCollectionAsync(new CreateCollectionRequest
            {
                CollectionName = "multi", ShardsNum = 2, Schema = Google.Protobuf.ByteString.CopyFrom(Google.Protobuf.MessageExtensions.ToByteArray(schema)),
            });
            Assert.True(created.Code == 0, created.Reason);
        }

        foreach (var name in new[] { "single", "multi" })
        {
            await first.InsertAsync(name, Rows(0, 100));
            await first.CreateIndexAsync(name, new IndexDefinition { FieldName = "vector", IndexType = "FLAT", Metric = MetricType.L2 });
            await first.LoadCollectionAsync(name);
            Assert.Equal(100L, Assert.Single(await second.QueryAsync(name, new QueryRequest { OutputFields = ["count(*)"] }))["count(*)"]);
        }

        var shardKeys = new[] { "default/single", "default/multi", "default/multi/1" };
        // The CLI's `quiver cluster status` reads the same stores: every shard is listed, active on a node.
        var status = (await nodes.CliStatusAsync()).Split('\n');
        Assert.Contains(status, l => l.StartsWith("2 collections", StringComparison.Ordinal));
        foreach (var key in shardKeys)
        {
            Assert.Contains(status, l => l.StartsWith(key + " ", StringComparison.Ordinal) && l.Contains(" active ", StringComparison.Ordinal));
        }

        var placement = await new NatsKVContext(js).GetStoreAsync(ClusterStatus.Bucket(nodes.Cluster));
        foreach (var key in shardKeys)
        {
            var streams = await ShardStorage.StreamsAsync(js, ShardKeys.Storage(nodes.Cluster, key), default);
            var name = ShardKeys.Storage(nodes.Cluster, key);
            Assert.Contains($"KV_{name}-meta", streams);
            Assert.Contains($"OBJ_{name}-files", streams);
            Assert.Contains(streams, s => s.StartsWith($"{name}-wal-", StringComparison.Ordinal));
            Assert.NotNull((await placement.GetEntryAsync<byte[]>(key)).Value);
        }

        // Dropped through the other node: once the drop is answered, nothing of either collection is left in JetStream.
        await second.DropCollectionAsync("single");
        await second.DropCollectionAsync("multi");
        foreach (var key in shardKeys)
        {
            Assert.Empty(await ShardStorage.StreamsAsync(js, ShardKeys.Storage(nodes.Cluster, key), default));
            await Assert.ThrowsAnyAsync<NatsKVException>(async () => await placement.GetEntryAsync<byte[]>(key));
        }

        Assert.Empty(await second.ListCollectionsAsync());

        // Created again under the same name, through the node that did not create it first: empty, and it holds
        // exactly what is written to it now.
        await second.CreateCollectionAsync("single", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", Dim, MetricType.L2)] });
        await second.CreateIndexAsync("single", new IndexDefinition { FieldName = "vector", IndexType = "FLAT", Metric = MetricType.L2 });
        await second.LoadCollectionAsync("single");
        Assert.Equal(0L, Assert.Single(await first.QueryAsync("single", new QueryRequest { OutputFields = ["count(*)"] }))["count(*)"]);
        await second.InsertAsync("single", Rows(500, 3));
        var rows = await first.QueryAsync("single", new QueryRequest { Filter = "id >= 0", OutputFields = ["id"] });
        Assert.Equal([500L, 501L, 502L], rows.Select(r => (long)r["id"]!).Order());
    }

    private static IReadOnlyDictionary<string, object?>[] Rows(int start, int count) =>
        [.. Enumerable.Range(start, count).Select(i => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = (long)i, ["vector"] = new[] { i, 1f, 2f, 3f } })];
}
