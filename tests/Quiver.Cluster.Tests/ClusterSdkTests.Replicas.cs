namespace Quiver.Cluster.Tests;

/// <summary>Replicas and consistency levels through the official Node SDK (tests/compat/cluster-replicas.js).</summary>
public sealed partial class ClusterSdkTests
{
    /// <summary>A collection loaded with <c>replica_number</c> 2 on 3 nodes: more replicas than nodes refused with Milvus's
    /// code 304 and message; getReplicas reports two replicas on distinct nodes from every node; searches and queries
    /// through every node (each replica in turn) equal a standalone server's on the same rows; a Strong read through
    /// another node right after each acknowledged insert sees it, a Session read through the writer's node sees its own
    /// insert; Eventually and Bounded reads during inserts show only rows that were sent; SIGKILL of a replica's node
    /// during searches through the other two: every search answered and exact, then the replica is placed again on a live
    /// node apart from the other; release leaves none. The replicas were activated as their own grains on two nodes.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_Replicas_OnDistinctNodes_ExactFromEach_ConsistencyLevels_SurviveAKill()
    {
        await using var nats = await NatsCluster.StartAsync();
        // Replicas that apply each record of the log half a second after it arrives: a read right after a write finds
        // them behind, so Strong and Session must wait for the log.
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, new Dictionary<string, string> { ["QUIVER_REPLICA_APPLY_DELAY_MS"] = "500" });
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-replicas.js", nodes, new Dictionary<string, string>
        {
            ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}",
            ["QUIVER_PIDS"] = string.Join(',', Enumerable.Range(0, 3).Select(nodes.Pid)),
        });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
        var replicaHosts = Enumerable.Range(0, 3).Where(i => nodes.Output(i).Contains("replica default/replicated#", StringComparison.Ordinal)).ToList();
        Assert.True(replicaHosts.Count >= 2, $"replicas were activated on {replicaHosts.Count} node(s)");
    }
}
