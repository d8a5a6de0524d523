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
        // The script runs every part and releases the collections even when a part fails, so the replicas' lines are
        // read either way and every failure is named at once.
        var script = await Record.ExceptionAsync(() => RunScriptAsync("cluster-rest-shards-replicas.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" }));
        var failures = new List<string>();
        if (script is not null)
        {
            failures.Add(script.Message);
        }

        static string[] Replicas(string collection, int shards) =>
            [.. Enumerable.Range(0, shards).Select(s => s == 0 ? $"default/{collection}" : $"default/{collection}/{s}").SelectMany(s => new[] { $"{s}#0", $"{s}#1" })];
        var read = Replicas("rest_shards_replicas", 3);
        string[] session = [.. Replicas("session_one", 1), .. Replicas("session_three", 3)];
        var closings = await ClosingsAsync(nodes, [.. read, .. session]);
        failures.AddRange(read.Where(k => closings[k].Reads == 0).Select(k => $"replica {k} served no read: REST reads of several shards did not reach it"));
        foreach (var (collection, shards) in new[] { ("session_one", 1), ("session_three", 3) })
        {
            if (Replicas(collection, shards).Sum(k => closings[k].Reads) == 0)
            {
                failures.Add($"no Session read reached a replica of {collection}");
            }
        }

        failures.AddRange(session.Where(k => closings[k].LogEndWaits > 0)
            .Select(k => $"replica {k}: {closings[k].LogEndWaits} of its {closings[k].Reads} Session REST reads waited for the log's end, as Strong does"));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
