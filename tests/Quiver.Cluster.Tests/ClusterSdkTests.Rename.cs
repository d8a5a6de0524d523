namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>RenameCollection on three nodes (tests/compat/cluster-rename.js), a standalone server given the same calls
    /// as the single-node oracle: a collection of 3 shards, loaded, with rows and an alias, renamed through one node with
    /// the Node SDK's <c>renameCollection</c> and another through REST <c>collections/rename</c>; through other nodes that
    /// had read the old names, the old name is gone (has, describe, query, search refused in the single node's words) and
    /// the new one answers describe, load state, count(*), searches, inserts, release and load, and its alias as the
    /// single node's; refusals of a taken target and a missing source are the single node's.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RenameOverGrpcAndRest_AnswersAsASingleNodeThroughOtherNodes()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-rename.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
