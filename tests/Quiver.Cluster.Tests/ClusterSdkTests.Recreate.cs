using NATS.Client.JetStream;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

public sealed partial class ClusterSdkTests
{
    /// <summary>Shard counts that change under the nodes and Flush routed by name (tests/compat/cluster-shards-recreate.js):
    /// a collection dropped and created again with 3 shards, then 2, through another node than the ones writing it, keeps
    /// each key once with the value last written and answers every search as a brute-force top-k (a node routing by the
    /// count it saw before would leave rows on the wrong shards, which the upserts through the other node then
    /// duplicate); Flush of a list naming collections of 3 and 1 shards and an alias is answered for each name, and
    /// afterwards every shard's log holds no record (each shard checkpointed, which only a flush reaching every shard
    /// does); an unknown name is refused as the standalone server refuses it.</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_RecreatedWithOtherShardCounts_AndFlushOfAList_AnswerAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        // The script's parts and the logs' check both run, so one run shows every part that fails.
        string? text = null;
        var failure = await Record.ExceptionAsync(async () => text = await RunScriptAsync("cluster-shards-recreate.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" }));
        var problems = new List<string>();
        await using var connection = nats.Connect();
        var js = new NatsJSContext(connection);
        foreach (var key in new[] { "default/flushed", "default/flushed/1", "default/flushed/2", "default/flushed_one" })
        {
            var logs = (await ShardStorage.StreamsAsync(js, ShardKeys.Storage(nodes.Cluster, key), default)).Where(s => s.Contains("-wal-", StringComparison.Ordinal)).ToList();
            if (logs.Count == 0)
            {
                problems.Add($"shard {key} has no log");
            }

            foreach (var log in logs)
            {
                var state = (await js.GetStreamAsync(log)).Info.State;
                if (state.LastSeq == 0 || state.Messages != 0)
                {
                    problems.Add($"shard {key}: its log {log} holds {state.Messages} records after the flush (last sequence {state.LastSeq})");
                }
            }
        }

        Assert.True(failure is null && problems.Count == 0, $"{failure?.Message}\n{string.Join('\n', problems)}");
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }
}
