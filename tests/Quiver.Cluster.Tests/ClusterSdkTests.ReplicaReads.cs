using System.Globalization;
using System.Text.RegularExpressions;

namespace Quiver.Cluster.Tests;

/// <summary>REST reads on replicas, Session reads on several shards, loads that change nothing, and a database's zone
/// through the cluster (tests/compat/cluster-replica-reads.js), a standalone server as the single-node oracle.</summary>
public sealed partial class ClusterSdkTests
{
    /// <summary>The script's answers equal the single node's; then each replica's closing line (written when its
    /// collection is released) says what it served: every replica of the collection only REST reads touched served reads
    /// (so REST reads reached the replicas) and opened one engine through three loads of what was loaded and a flush; no
    /// replica of the 3-shard collection that only its writer read at Session waited for the log's end.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RestReadsOnReplicas_SessionOnShards_LoadsThatChangeNothing_DatabaseZone()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-replica-reads.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);

        string[] rest = ["default/rest_replicas#0", "default/rest_replicas#1"];
        string[] session = [.. new[] { "default/session_shards", "default/session_shards/1", "default/session_shards/2" }.SelectMany(s => new[] { $"{s}#0", $"{s}#1" })];
        // A released replica closes when Orleans deactivates it, just after the release answered: wait for its line.
        var closings = await ClosingsAsync(nodes, [.. rest, .. session]);
        foreach (var key in rest)
        {
            var (reads, _, opens) = closings[key];
            Assert.True(reads > 0, $"replica {key} served no read: REST reads did not reach it");
            Assert.True(opens == 1, $"replica {key} opened {opens} engines: a load or flush that changed nothing reopened it");
        }

        Assert.True(session.Sum(k => closings[k].Reads) > 0, "no Session read reached a replica of the 3-shard collection");
        foreach (var key in session)
        {
            Assert.True(closings[key].LogEndWaits == 0, $"replica {key}: {closings[key].LogEndWaits} of its {closings[key].Reads} Session reads waited for the log's end, as Strong does");
        }
    }

    private static readonly Regex Closing = new(@"replica (\S+) closing: (\d+) reads, (\d+) waited for the log's end, (\d+) engines opened", RegexOptions.CultureInvariant);

    /// <summary>The closing line of each replica in <paramref name="keys"/> from the nodes' output, once all are there (the
    /// deadline is only a safety net for a loaded machine).</summary>
    private static async Task<Dictionary<string, (long Reads, long LogEndWaits, int Opens)>> ClosingsAsync(QuiverNodes nodes, string[] keys)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var found = new Dictionary<string, (long, long, int)>(StringComparer.Ordinal);
            foreach (var i in Enumerable.Range(0, 3))
            {
                foreach (Match m in Closing.Matches(nodes.Output(i)))
                {
                    found[m.Groups[1].Value] = (long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture));
                }
            }

            if (keys.All(found.ContainsKey))
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no closing line for {string.Join(", ", keys.Where(k => !found.ContainsKey(k)))}");
            await Task.Delay(500);
        }
    }
}
