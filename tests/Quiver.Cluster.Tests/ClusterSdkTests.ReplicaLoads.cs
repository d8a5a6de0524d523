namespace Quiver.Cluster.Tests;

/// <summary>Replicas on several shards, LoadPartitions and REST loads with replicas, and racing loads through the
/// official Node SDK and REST v2 (tests/compat/cluster-replica-loads.js).</summary>
public sealed partial class ClusterSdkTests
{
    /// <summary>A collection of 3 shards loaded with <c>replica_number</c> 2 on 3 nodes: 2 replicas of 3 shard replicas each
    /// on disjoint node sets, reported alike by every node; searches and queries through every node equal a standalone
    /// server's; Strong reads see acknowledged inserts; a load naming no number keeps the replicas. Loads racing through
    /// the 3 nodes (3, 2, 3 replicas, then 2, 2, 2) leave one consistent set on disjoint nodes. LoadPartitions with 2
    /// replicas serves the partition exactly, refuses another number with code 1100, and a further partition loaded with
    /// no number is served at once. A REST load keeps the replicas; a REST release closes them. The replicas of shards 1
    /// and 2 were activated as their own grains.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_ReplicasOnShards_LoadPartitions_RestLoads_RacingLoads()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-replica-loads.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
        foreach (var replica in new[] { "replica default/sharded_replicas/1#", "replica default/sharded_replicas/2#" })
        {
            Assert.True(Enumerable.Range(0, 3).Any(i => nodes.Output(i).Contains(replica, StringComparison.Ordinal)), $"no node activated {replica}");
        }
    }
}
