namespace Quiver.Cluster.Tests;

/// <summary>REST v2 beyond the body's names (tests/compat/cluster-rest-shards-replicas.js), a standalone server as the
/// single-node oracle: reads of several shards on replicas, <c>Accept-Type-Allow-Int64</c>, the <c>DB-Name</c> header, a
/// create naming an alias, bodies every endpoint refuses, and Session reads over REST.</summary>
public sealed partial class ClusterSdkTests
{
    /// <summary>The script's answers equal the single node's; then each replica's closing line (written when its
    /// collection is released) says what it served: every replica of the 3-shard collection read over REST served reads
    /// (so REST reads of several shards reached the replicas), and no replica of the two collections read at Session by
    /// their writer waited for the log's end as a Strong read does (the nodes' replicas apply each record half a second
    /// late, so a Session read that did not wait for the writer's own rows would miss them).</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RestOnShardsReplicas_Headers_AliasCreate_RefusedBodies_SessionOverRest()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3, new Dictionary<string, string> { ["QUIVER_REPLICA_APPLY_DELAY_MS"] = "500" });
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-rest-shards-replicas.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);

        static string[] Replicas(string collection, int shards) =>
            [.. Enumerable.Range(0, shards).Select(s => s == 0 ? $"default/{collection}" : $"default/{collection}/{s}").SelectMany(s => new[] { $"{s}#0", $"{s}#1" })];
        var read = Replicas("rest_shards_replicas", 3);
        string[] session = [.. Replicas("session_one", 1), .. Replicas("session_three", 3)];
        var closings = await ClosingsAsync(nodes, [.. read, .. session]);
        foreach (var key in read)
        {
            Assert.True(closings[key].Reads > 0, $"replica {key} served no read: REST reads of several shards did not reach it");
        }

        Assert.True(Replicas("session_one", 1).Sum(k => closings[k].Reads) > 0, "no Session read reached a replica of the 1-shard collection");
        Assert.True(Replicas("session_three", 3).Sum(k => closings[k].Reads) > 0, "no Session read reached a replica of the 3-shard collection");
        foreach (var key in session)
        {
            Assert.True(closings[key].LogEndWaits == 0, $"replica {key}: {closings[key].LogEndWaits} of its {closings[key].Reads} Session REST reads waited for the log's end, as Strong does");
        }
    }
}
