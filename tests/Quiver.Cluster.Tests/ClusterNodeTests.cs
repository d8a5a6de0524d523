using System.Diagnostics;
using Quiver.Client;
using Xunit.Abstractions;

namespace Quiver.Cluster.Tests;

/// <summary>Three Quiver nodes (child processes, Orleans silos) over a 3-server JetStream cluster, all on loopback,
/// driven through Milvus's gRPC API with Quiver's remote client. The oracle is exact: brute-force L2 over every row the
/// test saw acknowledged.</summary>
public sealed class ClusterNodeTests(ITestOutputHelper output)
{
    private const int Dim = 8;
    private const string Collection = "items";

    /// <summary>How long a test waits for a condition the cluster reaches by itself (a node declared dead, a shard moved);
    /// generous for a loaded machine, and never a fixed sleep.</summary>
    private static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(240);

    private static CollectionSchema Schema() => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", Dim, MetricType.L2)],
    };

    [NatsFact]
    public async Task ThreeNodes_WriteThroughOneSearchThroughAnother_KillTheShardsNode_NoAcknowledgedWriteLost()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        var clients = new IQuiverClient[3];
        for (var i = 0; i < 3; i++)
        {
            clients[i] = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(i), Timeout = TimeSpan.FromMinutes(3) });
        }

        try
        {
            var rng = new Random(1717);
            var acknowledged = new Dictionary<long, float[]>();
            await clients[0].CreateCollectionAsync(Collection, Schema());
            Assert.True(await clients[1].HasCollectionAsync(Collection));
            Assert.Equal([Collection], await clients[2].ListCollectionsAsync());
            // An RPC the nodes do not serve yet answers as the standalone server does: Milvus code 10 naming it.
            var notServed = await Assert.ThrowsAsync<QuiverServerException>(() => clients[2].ListDatabasesAsync());
            Assert.Equal(10, notServed.ServerCode);
            Assert.Contains("ListDatabases is not served by a Quiver cluster node", notServed.Message, StringComparison.Ordinal);
            for (var batch = 0; batch < 3; batch++)
            {
                await InsertAsync(clients[0], rng, acknowledged, batch * 200, 200);
            }

            await clients[1].LoadCollectionAsync(Collection);
            var queries = Enumerable.Range(0, 5).Select(_ => RandomVector(rng)).ToArray();
            await AssertExactAsync(clients[1], queries, acknowledged);
            await AssertExactAsync(clients[2], queries, acknowledged);

            // The node that holds the shard dies; the other two declare it dead and the shard re-activates on one of
            // them, replaying the log from its checkpoint. Every acknowledged row must be there.
            var host = nodes.HostOf($"default/{Collection}") ?? throw new InvalidOperationException("no node says it holds the shard");
            nodes.Kill(host);
            var sinceKill = Stopwatch.StartNew();
            var survivors = Enumerable.Range(0, 3).Where(i => i != host).ToArray();
            await WaitServedAsync(clients[survivors[0]], queries[0]);
            // A figure for the notes, never asserted: from SIGKILL to the first search answered by the moved shard.
            output.WriteLine($"failover: first search answered {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            await AssertAllPresentAsync(clients[survivors[0]], acknowledged);
            await AssertExactAsync(clients[survivors[1]], queries, acknowledged);
            var newHost = nodes.HostOf($"default/{Collection}");
            Assert.True(newHost is { } h && h != host, $"the shard should now be on a survivor, found {newHost}");

            // Writes continue through a survivor and are searched through the other.
            await InsertAsync(clients[survivors[1]], rng, acknowledged, 600, 200);
            output.WriteLine($"failover: next insert acknowledged {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            await AssertExactAsync(clients[survivors[0]], queries, acknowledged);
            await AssertAllPresentAsync(clients[survivors[0]], acknowledged);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- node 0:\n{nodes.Output(0)}\n--- node 1:\n{nodes.Output(1)}\n--- node 2:\n{nodes.Output(2)}", ex);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static float[] RandomVector(Random rng) => [.. Enumerable.Range(0, Dim).Select(_ => (float)rng.NextDouble())];

    private static async Task InsertAsync(IQuiverClient client, Random rng, Dictionary<long, float[]> acknowledged, int first, int count)
    {
        var rows = Enumerable.Range(first, count).Select(i => (Id: (long)i, Vector: RandomVector(rng))).ToArray();
        await client.InsertAsync(Collection, [.. rows.Select(r => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = r.Id, ["vector"] = r.Vector })]);
        foreach (var (id, vector) in rows)
        {
            acknowledged[id] = vector;
        }
    }

    /// <summary>Top 10 of each query equals brute force over the acknowledged rows: same ids in the same order, same
    /// squared distances.</summary>
    private static async Task AssertExactAsync(IQuiverClient client, float[][] queries, Dictionary<long, float[]> acknowledged)
    {
        var result = await client.SearchAsync(Collection, new SearchRequest { Vectors = queries, Limit = 10 });
        for (var q = 0; q < queries.Length; q++)
        {
            var expected = acknowledged.Select(kv => (Id: kv.Key, Distance: SquaredL2(queries[q], kv.Value)))
                .OrderBy(x => x.Distance).ThenBy(x => x.Id).Take(10).ToArray();
            Assert.Equal(expected.Select(x => x.Id), result.Hits[q].Select(h => (long)h.Id));
            for (var k = 0; k < expected.Length; k++)
            {
                Assert.Equal(expected[k].Distance, result.Hits[q][k].Score, 1e-4f);
            }
        }
    }

    /// <summary>Every acknowledged row is there, with its vector, and nothing else.</summary>
    private static async Task AssertAllPresentAsync(IQuiverClient client, Dictionary<long, float[]> acknowledged)
    {
        var rows = await client.QueryAsync(Collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "vector"], Limit = 16_384 });
        Assert.Equal(acknowledged.Keys.Order(), rows.Select(r => (long)r["id"]!).Order());
        foreach (var row in rows)
        {
            Assert.Equal(acknowledged[(long)row["id"]!], (float[])row["vector"]!);
        }
    }

    /// <summary>Searches until the cluster answers: the first calls after a kill may fail while the dead node is voted
    /// out; the node's routing retries reads, and the client retries whatever still fails.</summary>
    private static async Task WaitServedAsync(IQuiverClient client, float[] query)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await client.SearchAsync(Collection, new SearchRequest { Vectors = [query], Limit = 1 });
                return;
            }
            catch (QuiverException) when (clock.Elapsed < ConditionTimeout)
            {
                // Not served yet: ask again after a pause (a poll interval, not an expectation of timing).
                await Task.Delay(250);
            }
        }
    }

    private static float SquaredL2(float[] a, float[] b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }
}
