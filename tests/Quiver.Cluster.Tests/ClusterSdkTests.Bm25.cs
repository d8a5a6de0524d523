namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>BM25 on a collection of 3 shards (tests/compat/cluster-shards-bm25.js), a standalone server holding the
    /// same rows as the single-node oracle: every search by text (limits, offset, filter, nq 2, grouping), before and
    /// after deletes, and hybrid BM25 + dense searches (RRF, weighted) answer the single node's hits with its exact
    /// scores, which needs the collection-wide statistics; refusals (a bad filter, not loaded) are the single node's.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_Bm25OnSeveralShards_ScoresAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-shards-bm25.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
