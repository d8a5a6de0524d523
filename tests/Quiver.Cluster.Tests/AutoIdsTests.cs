using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The keys allocator of auto_id collections on several shards (and of import job ids), <see cref="AutoIds"/>,
/// when NATS.Net's KV get is answered by a replica that has not applied the allocator's writes
/// (<see cref="ClusterImportJobsTests.LaggingReplica"/>; <see cref="KvStaleReadTests"/> shows such a replica). Oracle:
/// the blocks follow one another from the start value, none handed out twice.</summary>
[Collection("Nats")]
public sealed class AutoIdsTests(NatsFixture nats)
{
    /// <summary>A safety net for a loaded machine, never a measure: an allocator that reads a lagging replica's "not
    /// found" tries to create the key again and again for as long as the replica lags (here, for good).</summary>
    private static readonly TimeSpan Safety = TimeSpan.FromMinutes(2);

    [NatsFact]
    public async Task Reservations_WhileTheReplicaAGetReachesHoldsNoneOfThem_EachTakeTheNextBlock()
    {
        var storage = NatsFixture.Unique("ids");
        async Task<INatsKVStore> OpenAsync(string name, CancellationToken ct) =>
            ClusterImportJobsTests.LaggingReplica.Lagging(await KvBuckets.OpenAsync(nats.KeyValue, AutoIds.Bucket(name), 3, TimeSpan.FromSeconds(30), ct));
        var node = new AutoIds(nats.KeyValue, 3, start: 1, open: OpenAsync);
        var other = new AutoIds(nats.KeyValue, 3, start: 1, open: OpenAsync);
        using var safety = new CancellationTokenSource(Safety);

        // Each take uses up a whole block, so each reserves anew: the first creates the key, the others update it.
        var first = await node.TakeAsync(storage, AutoIds.Block, safety.Token);
        var second = await node.TakeAsync(storage, AutoIds.Block, safety.Token);
        var third = await other.TakeAsync(storage, 5, safety.Token);
        var fourth = await node.TakeAsync(storage, 5, safety.Token);

        Assert.Equal((1L, 1L + AutoIds.Block, 1L + 2 * AutoIds.Block, 1L + 3 * AutoIds.Block), (first, second, third, fourth));
    }
}
