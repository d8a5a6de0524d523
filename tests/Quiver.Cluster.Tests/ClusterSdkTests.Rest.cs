namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>REST v2 on collections of 3 shards (tests/compat/cluster-shards-rest.js), an Int64-keyed L2 and a
    /// VarChar-keyed IP collection: create with <c>shardsNum</c>, insert, upsert, delete, search, hybrid_search, query,
    /// count(*), get, partitions, statistics, load state, index descriptions, flush, release, load and drop, each through
    /// another node, every answer equal to a standalone server's on the same calls (the single-node oracle; FLAT, so
    /// exact); a batch with one bad row is refused whole in the standalone server's words.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RestOnSeveralShards_AnswersAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-shards-rest.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
        foreach (var shard in new[] { "default/rest_l2/1", "default/rest_l2/2", "default/rest_ip/2" })
        {
            Assert.True(nodes.HostOf(shard) is not null, $"no node says it activated shard {shard}");
        }
    }
}
