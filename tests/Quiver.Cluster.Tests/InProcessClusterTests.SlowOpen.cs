using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A shard whose engine takes longer to open than Orleans's activation timeout, as on a loaded machine (the
/// cluster tests' first <c>CreateCollection</c> failed so at load 60 and more: Orleans cancelled the shard grain's
/// activation, and every call sent again started another open, cancelled in turn). The oracle: the keys the test wrote,
/// and the number of opens the fault hook counted.</summary>
public sealed partial class InProcessClusterTests
{
    /// <summary>The open is held three activation timeouts long (a fault, standing for a slow machine; nothing waits on
    /// it to synchronise). The create sent as the access layer sends it (<see cref="ShardCalls"/>: the shard's
    /// readiness first, sent again while it does not answer) is answered, the shard serves what is then written, and its
    /// engine opened once. Before the open moved out of the activation, Orleans cancelled the activation at its timeout
    /// and the create failed with that cancellation.</summary>
    [NatsFact]
    public async Task AShardWhoseOpenOutlastsTheActivationTimeout_OpensOnce_AndAnswersTheCreate()
    {
        const string Key = "default/slow";
        var activationTimeout = TimeSpan.FromSeconds(5);
        var opens = 0;
        using var data = new TempFolder("quiver-inproc-slow");
        await using var cluster = await StartAsync(data.Path, activationTimeout, async (key, ct) =>
        {
            if (key == Key)
            {
                Interlocked.Increment(ref opens);
                await Task.Delay(activationTimeout * 3, ct);
            }
        });

        await ShardCalls.InvokeAsync(cluster.Client, Key, "CreateCollection", readOnly: false,
            g => ShardRest.CallAsync(g, "/collections/create", ShardRest.Create("slow")), CancellationToken.None);
        var shard = cluster.Client.GetGrain<IShardGrain>(Key);
        var oracle = new SortedSet<long>();
        await RestAsync(shard, "/entities/insert", ShardRest.Insert("slow", oracle, 0, 20));

        Assert.Equal(oracle, await KeysAsync(shard, "slow"));
        Assert.Equal(1, Volatile.Read(ref opens));
    }

    /// <summary>The same for replicas (a follower of the shard opens over JetStream as the shard's engine does): the
    /// opens of both replicas of a two-replica load are held three activation timeouts long. The load, run as the access
    /// layer runs it (<see cref="ReplicaLoads.PlaceAsync"/>: each replica's place asked, sent again while it does not
    /// answer), answers; each replica serves every row written; each follower opened once. Before the open moved out of
    /// the replica's activation, Orleans cancelled the activation at its timeout, and each call sent again opened anew.</summary>
    [NatsFact]
    public async Task AReplicaWhoseOpenOutlastsTheActivationTimeout_OpensOnce_AndServesTheLoad()
    {
        const string Key = "default/slowreplica";
        const int Replicas = 2;
        var activationTimeout = TimeSpan.FromSeconds(5);
        var opens = new int[Replicas];
        using var data = new TempFolder("quiver-inproc-slowreplica");
        await using var cluster = await StartAsync(data.Path, activationTimeout, async (key, ct) =>
        {
            if (key.StartsWith(Key + "#", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref opens[ReplicaRecords.Parse(key).Index]);
                await Task.Delay(activationTimeout * 3, ct);
            }
        });
        var shard = cluster.Client.GetGrain<IShardGrain>(Key);
        await CreateAsync(shard, "slowreplica");
        var oracle = new SortedSet<long>();
        await InsertAsync(shard, "slowreplica", oracle, 0, 20);
        await RestAsync(shard, "/collections/load", new JsonObject { ["collectionName"] = "slowreplica" });

        Assert.Equal(Replicas, await ReplicaLoads.PlaceAsync(cluster.Client, _context!, Key, Replicas, 1, CancellationToken.None));

        for (var i = 0; i < Replicas; i++)
        {
            var request = new Protocol.Milvus.QueryRequest { CollectionName = "slowreplica", Expr = "id >= 0", ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong };
            request.OutputFields.Add("id");
            var reply = await cluster.Client.GetGrain<IReplicaGrain>(ReplicaRecords.GrainKey(Key, i)).ReadAsync("Query", request.ToByteArray(), "default", 0, 0);
            Assert.True(reply.StatusCode == 0, reply.Detail);
            var results = Protocol.Milvus.QueryResults.Parser.ParseFrom(reply.Response);
            Assert.True(results.Status is null || results.Status.Code == 0, results.Status?.Reason);
            Assert.Equal(oracle, results.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order());
        }

        Assert.Equal(Enumerable.Repeat(1, Replicas), opens.Select(o => Volatile.Read(ref o)));
    }
}
