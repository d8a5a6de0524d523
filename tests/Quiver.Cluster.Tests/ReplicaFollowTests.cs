using System.Text.Json.Nodes;
using Google.Protobuf;
using NATS.Client.JetStream;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A replica (<see cref="ReplicaHost"/>) following a shard (<see cref="ShardHost"/>) in one process over a
/// 3-server JetStream cluster, without Orleans: which changes of the shard's manifest and load state make it open a new
/// engine, and that it answers exactly what the shard holds either way (the oracle: the keys the test wrote and
/// deleted).</summary>
public sealed class ReplicaFollowTests
{
    private const string Key = "default/items";

    /// <summary>Seals (flush, three times, with the shard's own merges of its segments as they come), deletes of sealed and growing rows, and loads of what is loaded change the
    /// shard's manifest and rewrite its load state, yet the replica keeps its engine (it applied those rows from the log)
    /// and every Strong read equals the oracle; a new partition (what the collection is) is taken by the same engine,
    /// which then serves the partition's rows.</summary>
    [NatsFact]
    public async Task Replica_KeepsItsEngineThroughSealsMergesAndReloads_ReopensOnlyForWhatTheCollectionIs()
    {
        await using var cluster = await NatsCluster.StartAsync();
        await using var nats = cluster.Connect();
        using var data = new TempFolder("quiver-replica-follow");
        var node = ShardRest.Node("rf", data.Path, new NatsJSContext(nats));
        await using var shard = await ShardHost.OpenAsync(node, Key, null, CancellationToken.None);
        await RestAsync(shard, "/collections/create", ShardRest.Create("items"));
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, oracle, 0, 50);

        await using var replica = await ReplicaHost.OpenAsync(node, Key, CancellationToken.None);
        Assert.Equal(oracle, await KeysAsync(replica));

        // A seal and checkpoint (the log is purged below it), twice, with deletes of sealed and growing rows between.
        await InsertAsync(shard, oracle, 50, 30);
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        Assert.Equal(oracle, await KeysAsync(replica));
        await InsertAsync(shard, oracle, 80, 20);
        await DeleteAsync(shard, oracle, "id in [3, 4, 55, 81, 99]", [3, 4, 55, 81, 99]);
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = "items" });
        await InsertAsync(shard, oracle, 100, 20);
        await RestAsync(shard, "/collections/flush", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        Assert.Equal(oracle, await KeysAsync(replica));

        // A load of what is loaded rewrites nothing the replica serves.
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        Assert.Equal(oracle, await KeysAsync(replica));
        // The same load state written again (as a shard of an older node would: a new revision, the same loads).
        var meta = await node.KeyValue.GetStoreAsync($"{ShardKeys.Storage(node.Config.Cluster, Key)}-meta");
        var saved = await meta.GetEntryAsync<byte[]>(ShardHost.LoadStateKey);
        await meta.PutAsync(ShardHost.LoadStateKey, saved.Value!);
        await replica.RefreshAsync(CancellationToken.None);
        Assert.Equal(oracle, await KeysAsync(replica));
        Assert.Equal(1, replica.Opens);
        Assert.True(replica.Kept >= 3, $"the replica took {replica.Kept} changes without a new engine");

        // A new partition changes what the collection is: the serving engine takes it in place, and serves rows written to it.
        await RestAsync(shard, "/partitions/create", new JsonObject { ["collectionName"] = "items", ["partitionName"] = "p1" });
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "items" });
        await replica.RefreshAsync(CancellationToken.None);
        Assert.Equal(1, replica.Opens);
        await InsertAsync(shard, oracle, 200, 10, "p1");
        Assert.Equal(oracle, await KeysAsync(replica));
        Assert.Equal(Enumerable.Range(200, 10).Select(i => (long)i), await KeysAsync(replica, "p1"));
    }

    private static Task InsertAsync(ShardHost shard, SortedSet<long> oracle, int from, int count, string? partition = null) =>
        RestAsync(shard, "/entities/insert", ShardRest.Insert("items", oracle, from, count, partition));

    private static async Task DeleteAsync(ShardHost shard, SortedSet<long> oracle, string filter, long[] keys)
    {
        await RestAsync(shard, "/entities/delete", new JsonObject { ["collectionName"] = "items", ["filter"] = filter });
        oracle.ExceptWith(keys);
    }

    private static Task RestAsync(ShardHost shard, string path, JsonObject body) => ShardRest.CallAsync(shard, path, body);

    /// <summary>Every key the replica holds (in <paramref name="partition"/>, or all), read at Strong.</summary>
    private static async Task<IEnumerable<long>> KeysAsync(ReplicaHost replica, string? partition = null)
    {
        var request = new Quiver.Protocol.Milvus.QueryRequest { CollectionName = "items", Expr = "id >= 0", ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong };
        request.OutputFields.Add("id");
        if (partition is not null)
        {
            request.PartitionNames.Add(partition);
        }

        var reply = await replica.ReadAsync("Query", request.ToByteArray(), "default", 0, 0, CancellationToken.None);
        Assert.True(reply.StatusCode == 0, reply.Detail);
        var results = Quiver.Protocol.Milvus.QueryResults.Parser.ParseFrom(reply.Response);
        Assert.True(results.Status is null || results.Status.Code == 0, results.Status?.Reason);
        return results.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order().ToList();
    }
}
