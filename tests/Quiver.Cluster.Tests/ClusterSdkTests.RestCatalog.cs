namespace Quiver.Cluster.Tests;

/// <summary>REST v2's alias and database endpoints on three nodes (tests/compat/cluster-rest-catalog.js), a standalone
/// server as the single-node oracle: every answer and every refusal has the single node's HTTP status and body text.</summary>
public sealed partial class ClusterSdkTests
{
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RestAliasesAndDatabases_AnswerAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-rest-catalog.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
