namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>Keys on collections of 3 shards (tests/compat/cluster-shards-keys.js), a standalone server as the
    /// single-node oracle: auto_id keys allocated by the nodes at once are distinct, each row stored once under the key its
    /// insert answered, searches equal to the single node's with keys mapped to rows, a supplied key refused in the
    /// single node's words; search by primary keys (Int64 and VarChar) equal to the single node's, a missing key refused
    /// in its words.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_AutoIdAndSearchByKeys_OnSeveralShards_AnswerAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-shards-keys.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
