namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>TIMESTAMPTZ on a collection of 3 shards (tests/compat/cluster-timezone.js), a standalone server as the
    /// single-node oracle and the instants naive times name in fixed-offset zones as a second: naive inserts and upserts
    /// routed over the shards are read in the collection's zone (also after it changes); merged query and search answers
    /// write values in the collection's zone or the read's own, ISO literals read in it.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_Timezone_OnSeveralShards_AnswersAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-timezone.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
