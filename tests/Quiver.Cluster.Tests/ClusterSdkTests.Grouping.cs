namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>Grouping and BM25 on a collection of 3 shards (tests/compat/cluster-shards-grouping.js), a standalone
    /// server holding the same rows as the single-node oracle: hybrid searches with group_by_field through the Node SDK,
    /// and over REST v2 searches with groupingField, hybrid_search with groupingField and BM25 searches by text, before and
    /// after deletes, answer the single node's hits in its order with its scores; refusals are the single node's.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_GroupedHybridAndRestGroupingAndBm25_OnSeveralShards_AnswerAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-shards-grouping.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
