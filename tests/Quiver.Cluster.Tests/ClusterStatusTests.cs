using Grpc.Net.Client;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Quiver.Protocol.Milvus;
using Xunit.Abstractions;

namespace Quiver.Cluster.Tests;

/// <summary><c>Quiver.Cluster status</c> with replicas (src/Quiver.Cluster/Nodes/ClusterStatus.cs): two nodes (child
/// processes) over a 3-server JetStream cluster, a collection of two shards loaded with two replicas. The status, read
/// from the stores without joining the cluster, names each replica of each shard on its own node, and once writes stop
/// and the replicas caught up, each replica's and each shard's applied sequence equals the log's last sequence as
/// JetStream itself reports it (lag 0).</summary>
public sealed class ClusterStatusTests(ITestOutputHelper output)
{
    /// <summary>A safety net for conditions the cluster reaches by itself (the replicas caught up and recorded it);
    /// generous for a loaded machine, never asserted.</summary>
    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromMinutes(4);

    [NatsFact]
    public async Task TwoReplicasOfTwoShards_OnDistinctNodes_ThenLagZeroAtTheLogsLastSequence()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 2);
        try
        {
            using var channel = GrpcChannel.ForAddress(nodes.Address(0));
            var client = new MilvusService.MilvusServiceClient(channel);
            await NodeGrpcCalls.CreateFilledLoadedAsync(client, shards: 2, rows: 40, replicas: 2, ConditionTimeout);

            // Writes after the replicas opened, which they apply by following the log; a strong count through the other
            // node (answered by a replica) sees them all.
            using var otherChannel = GrpcChannel.ForAddress(nodes.Address(1));
            var other = new MilvusService.MilvusServiceClient(otherChannel);
            NodeGrpcCalls.Ok((await other.InsertAsync(NodeGrpcCalls.Insert(40, 40))).Status, "insert through node 1");
            Assert.Equal(80, await NodeGrpcCalls.CountAsync(other));
            Assert.Equal(80, await NodeGrpcCalls.CountAsync(client));

            var silos = new[] { nodes.SiloEndpoint(0), nodes.SiloEndpoint(1) };
            var milvus = new[] { nodes.Endpoint(0), nodes.Endpoint(1) };
            string status;
            using (var waiting = new CancellationTokenSource(ConditionTimeout))
            {
                while (true)
                {
                    status = await nodes.StatusAsync();
                    var (shardRows, replicaRows) = Rows(status);
                    if (replicaRows.Count == 4 && replicaRows.All(r => r.Lag == "0") && shardRows.All(r => r.Lag == "0"))
                    {
                        break;
                    }

                    waiting.Token.ThrowIfCancellationRequested();
                    await Task.Delay(500, waiting.Token);
                }
            }

            output.WriteLine(status);
            var (shards, replicas) = Rows(status);
            var lastSeqs = await LastSequencesAsync(nats.Url, nodes.Cluster);
            Assert.Equal(2, shards.Count);
            foreach (var shard in shards)
            {
                // The log's last sequence as JetStream reports it for the shard's only log.
                var storage = $"{nodes.Cluster}-{shard.Key.Replace('/', '-')}-wal-";
                var last = (long)Assert.Single(lastSeqs, l => l.Name.StartsWith(storage, StringComparison.Ordinal)).LastSeq;
                Assert.True(last > 1, $"shard {shard.Key}'s log holds {last} records: both shards should hold rows");
                Assert.Equal(last.ToString(System.Globalization.CultureInfo.InvariantCulture), shard.LastSeq);
                Assert.Equal(shard.LastSeq, shard.Applied);
                Assert.Contains(shard.Silo, silos);
                Assert.Equal("active", shard.State);
                Assert.True(long.Parse(shard.Checkpoint, System.Globalization.CultureInfo.InvariantCulture) <= last, $"checkpoint {shard.Checkpoint} past the log's end {last}");
                Assert.Equal(last - long.Parse(shard.Checkpoint, System.Globalization.CultureInfo.InvariantCulture), long.Parse(shard.ToReplay, System.Globalization.CultureInfo.InvariantCulture));

                // Both replicas of the shard, each on its own node, active, at the log's last sequence.
                var ofShard = replicas.Where(r => r.Key.StartsWith(shard.Key + "#", StringComparison.Ordinal)).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
                Assert.Equal([shard.Key + "#0", shard.Key + "#1"], ofShard.Select(r => r.Key));
                Assert.Equal(2, ofShard.Select(r => r.Silo).Distinct().Count());
                Assert.All(ofShard, r =>
                {
                    Assert.Contains(r.Silo, silos);
                    Assert.Equal(milvus[Array.IndexOf(silos, r.Silo)], r.Node);
                    Assert.Equal("active", r.State);
                    Assert.Equal(shard.LastSeq, r.LastSeq);
                    Assert.Equal(shard.LastSeq, r.Applied);
                    Assert.Equal("0", r.Lag);
                });
            }
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- node 0:\n{nodes.Output(0)}\n--- node 1:\n{nodes.Output(1)}", ex);
        }
    }

    /// <summary>The collection's rows of the status's shard table and replica table (the catalog's own shard excluded),
    /// read from the right: the state column may hold a space.</summary>
    private static (List<StatusRow> Shards, List<StatusRow> Replicas) Rows(string status)
    {
        var shards = new List<StatusRow>();
        var replicas = new List<StatusRow>();
        foreach (var line in status.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (t.Length == 0 || !t[0].StartsWith("default/", StringComparison.Ordinal) || t[0].StartsWith("default/0", StringComparison.Ordinal))
            {
                continue;
            }

            if (t[0].Contains('#', StringComparison.Ordinal))
            {
                // REPLICA NODE SILO STATE... APPLIED LOG-LAST-SEQ LAG RECORDED
                replicas.Add(new StatusRow(t[0], t[1], t[2], string.Join(' ', t[3..^4]), t[^3], t[^4], t[^2], "", ""));
            }
            else
            {
                // SHARD NODE SILO STATE... LOG-LAST-SEQ LOG-MESSAGES APPLIED LAG CHECKPOINT TO-REPLAY
                shards.Add(new StatusRow(t[0], t[1], t[2], string.Join(' ', t[3..^6]), t[^6], t[^4], t[^3], t[^2], t[^1]));
            }
        }

        return (shards, replicas);
    }

    private sealed record StatusRow(string Key, string Node, string Silo, string State, string LastSeq, string Applied, string Lag, string Checkpoint, string ToReplay);

    /// <summary>Every log stream of the cluster with its last sequence, from JetStream.</summary>
    private static async Task<List<(string Name, ulong LastSeq)>> LastSequencesAsync(string url, string cluster)
    {
        await using var connection = new NatsConnection(new NatsOpts { Url = url });
        var js = new NatsJSContext(connection);
        // By name: the listing pages by offset, so a stream can come twice while other tests create streams.
        var found = new Dictionary<string, (string, ulong)>(StringComparer.Ordinal);
        await foreach (var stream in js.ListStreamsAsync())
        {
            if (stream.Info.Config.Name is { } name && name.StartsWith(cluster + "-", StringComparison.Ordinal) && name.Contains("-wal-", StringComparison.Ordinal))
            {
                found[name] = (name, stream.Info.State.LastSeq);
            }
        }

        return [.. found.Values];
    }
}
