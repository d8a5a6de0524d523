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
        await OnThreeNodesAsync(async (_, nodes, clients) =>
        {
            var rng = new Random(1717);
            var acknowledged = new Dictionary<long, float[]>();
            await clients[0].CreateCollectionAsync(Collection, Schema());
            Assert.True(await clients[1].HasCollectionAsync(Collection));
            Assert.Equal([Collection], await clients[2].ListCollectionsAsync());
            // Renamed through one node, found under the new name only through the others, and renamed back.
            await clients[2].RenameCollectionAsync(Collection, "renamed");
            Assert.True(await clients[1].HasCollectionAsync("renamed"));
            Assert.False(await clients[0].HasCollectionAsync(Collection));
            Assert.Equal(["renamed"], await clients[0].ListCollectionsAsync());
            await clients[1].RenameCollectionAsync("renamed", Collection);
            Assert.Equal([Collection], await clients[2].ListCollectionsAsync());
            Assert.Equal(["default"], await clients[1].ListDatabasesAsync());
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

            // `Quiver.Cluster status` says the same from the stores: the killed node dead, the shard active on its new node.
            var status = await nodes.StatusAsync();
            output.WriteLine(status);
            var lines = status.Split('\n');
            Assert.Contains(lines, l => l.StartsWith(nodes.SiloEndpoint(host) + " ", StringComparison.Ordinal) && l.Contains("Dead", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith($"default/{Collection} ", StringComparison.Ordinal) && l.Contains(nodes.Endpoint(newHost!.Value) + " ", StringComparison.Ordinal)
                && l.Contains(nodes.SiloEndpoint(newHost.Value) + " ", StringComparison.Ordinal) && l.Contains(" active ", StringComparison.Ordinal));
            Assert.Equal(2, lines.Count(l => l.Contains(" Active ", StringComparison.Ordinal)));

            // Writes continue through a survivor and are searched through the other.
            await InsertAsync(clients[survivors[1]], rng, acknowledged, 600, 200);
            output.WriteLine($"failover: next insert acknowledged {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            await AssertExactAsync(clients[survivors[0]], queries, acknowledged);
            await AssertAllPresentAsync(clients[survivors[0]], acknowledged);
        });
    }

    /// <summary>Two writers insert batches through the two nodes that do not hold the shard while the shard's node is
    /// SIGKILLed. Every acknowledged row is present exactly once with its vector; a row that was never sent is not; a
    /// batch whose insert failed is all there or not at all (one log record); and every failure is a Milvus error with
    /// code 2, never a bare transport failure.</summary>
    [NatsFact]
    public async Task KillTheShardsNode_DuringIngest_EveryAcknowledgedRowOnce_FailuresAreMilvusCode2()
    {
        await OnThreeNodesAsync(async (_, nodes, clients) =>
        {
            await clients[0].CreateCollectionAsync(Collection, Schema());
            await clients[0].LoadCollectionAsync(Collection);
            var host = nodes.HostOf($"default/{Collection}") ?? throw new InvalidOperationException("no node says it holds the shard");
            var survivors = Enumerable.Range(0, 3).Where(i => i != host).Select(i => clients[i]).ToArray();
            var ingest = await IngestAcrossAsync(survivors, () => nodes.Kill(host));
            await AssertIngestOutcomeAsync(survivors, ingest);
        });
    }

    /// <summary>Two writers insert batches through two nodes while the NATS server leading the shard's log stream is
    /// SIGKILLed: writes go on once JetStream has elected a new leader (each writer acknowledges batches after the kill),
    /// every acknowledged row is present exactly once, nothing unsent is, and a failed batch (code 2 only) is stored
    /// wholly or not at all.</summary>
    [NatsFact]
    public async Task KillTheLogsNatsLeader_DuringIngestThroughNodes_WritesGoOn_NothingAcknowledgedLost()
    {
        await OnThreeNodesAsync(async (nats, _, clients) =>
        {
            await clients[0].CreateCollectionAsync(Collection, Schema());
            await clients[0].LoadCollectionAsync(Collection);
            var leader = await LogLeaderAsync(nats);
            var writers = new[] { clients[1], clients[2] };
            var ingest = await IngestAcrossAsync(writers, () => nats.Kill(leader));
            await AssertIngestOutcomeAsync([clients[0], clients[1]], ingest);
        });
    }

    /// <summary>Two searchers query through the two nodes that do not hold the shard while the shard's node is
    /// SIGKILLed: every answer is exact (top-10 ids and distances equal to brute force over the rows inserted before),
    /// searches are answered again after the kill (each searcher gets answers after it), and a search that fails does so
    /// with Milvus code 2 only (the node re-sends a read while the shard moves, up to 90 s).</summary>
    [NatsFact]
    public async Task KillTheShardsNode_DuringSearch_AnswersExactBeforeAndAfter()
    {
        await OnThreeNodesAsync(async (_, nodes, clients) =>
        {
            var rng = new Random(2024);
            var rows = new Dictionary<long, float[]>();
            await clients[0].CreateCollectionAsync(Collection, Schema());
            await InsertAsync(clients[0], rng, rows, 0, 300);
            await clients[0].LoadCollectionAsync(Collection);
            var host = nodes.HostOf($"default/{Collection}") ?? throw new InvalidOperationException("no node says it holds the shard");
            var searchers = Enumerable.Range(0, 3).Where(i => i != host).Select(i => clients[i]).ToArray();
            var queries = Enumerable.Range(0, 4).Select(_ => RandomVector(rng)).ToArray();
            var failures = new System.Collections.Concurrent.ConcurrentBag<QuiverException>();
            await AcrossKillAsync(searchers.Length, async (searcher, _) =>
            {
                try
                {
                    await AssertExactAsync(searchers[searcher], queries, rows);
                    return true;
                }
                catch (QuiverException ex)
                {
                    failures.Add(ex);
                    return false;
                }
            }, () => nodes.Kill(host));
            output.WriteLine($"search under kill: {failures.Count} searches failed");
            Assert.All(failures, f => Assert.True(f is QuiverServerException { ServerCode: 2 }, $"a failed search is not Milvus code 2: {f.Message}"));
        });
    }

    /// <summary>What writers sent and what was acknowledged while a process was killed, and the batches that failed.</summary>
    private sealed record Ingest(
        IReadOnlyDictionary<long, float[]> Sent,
        IReadOnlyDictionary<long, float[]> Acknowledged,
        IReadOnlyList<(long[] Ids, Exception Error)> Failed);

    /// <summary>One writer per client inserts 50-row batches of its own ids across <paramref name="kill"/>
    /// (<see cref="AcrossKillAsync"/>). A failed batch is recorded and the writer goes on with new ids (never re-sending).</summary>
    private static async Task<Ingest> IngestAcrossAsync(IQuiverClient[] writers, Action kill)
    {
        const int batchRows = 50;
        var sent = new System.Collections.Concurrent.ConcurrentDictionary<long, float[]>();
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<long, float[]>();
        var failed = new System.Collections.Concurrent.ConcurrentBag<(long[] Ids, Exception Error)>();
        var rngs = Enumerable.Range(0, writers.Length).Select(w => new Random(4000 + w)).ToArray();
        await AcrossKillAsync(writers.Length, async (writer, batch) =>
        {
            var rows = Enumerable.Range(0, batchRows).Select(r => (Id: ((writer + 1) * 1_000_000L) + (batch * batchRows) + r, Vector: RandomVector(rngs[writer]))).ToArray();
            foreach (var (id, vector) in rows)
            {
                sent[id] = vector;
            }

            try
            {
                await writers[writer].InsertAsync(Collection, [.. rows.Select(r => (IReadOnlyDictionary<string, object?>)new Row { ["id"] = r.Id, ["vector"] = r.Vector })]);
            }
            catch (QuiverException ex)
            {
                failed.Add(([.. rows.Select(r => r.Id)], ex));
                return false;
            }

            foreach (var (id, vector) in rows)
            {
                acknowledged[id] = vector;
            }

            return true;
        }, kill);
        return new Ingest(sent, acknowledged, [.. failed]);
    }

    /// <summary>Runs <paramref name="workers"/> loops of <paramref name="attempt"/> (worker, round; true when it
    /// succeeded) around <paramref name="kill"/>: the kill runs once every worker has succeeded 3 times, and the loops
    /// stop once each has succeeded 3 times after it. Conditions, not timings; a failed attempt is followed by a pause
    /// (a poll interval) and another round.</summary>
    private static async Task AcrossKillAsync(int workers, Func<int, int, Task<bool>> attempt, Action kill)
    {
        const int before = 3;
        const int after = 3;
        using var readyToKill = new CountdownEvent(workers);
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task RunAsync(int worker)
        {
            var succeededBefore = 0;
            var succeededAfter = 0;
            var clock = Stopwatch.StartNew();
            for (var round = 0; succeededAfter < after; round++)
            {
                Assert.True(clock.Elapsed < ConditionTimeout, $"worker {worker} succeeded {succeededAfter} times after the kill within {ConditionTimeout}");
                var wasKilled = killed.Task.IsCompleted;
                if (!await attempt(worker, round))
                {
                    await Task.Delay(250);
                }
                else if (wasKilled)
                {
                    succeededAfter++;
                }
                else if (++succeededBefore == before)
                {
                    readyToKill.Signal();
                }
            }
        }

        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(() => RunAsync(w))).ToArray();
        await Task.Run(() => readyToKill.Wait(ConditionTimeout));
        Assert.True(readyToKill.IsSet, "every worker succeeded before the kill");
        kill();
        killed.SetResult();
        await Task.WhenAll(tasks);
    }

    /// <summary>Read through each of <paramref name="readers"/>: the same rows, each id once, each sent with that
    /// vector; every acknowledged row there; each failed batch there wholly or not at all, and failed with Milvus code 2
    /// (retriable: the shard's node died, or the log did not answer), never a bare transport failure.</summary>
    private async Task AssertIngestOutcomeAsync(IQuiverClient[] readers, Ingest ingest)
    {
        var present = await ReadAllAsync(readers[0], ingest.Sent.Keys);
        Assert.Equal(present.Count, present.Select(r => r.Id).Distinct().Count());
        var byId = present.ToDictionary(r => r.Id, r => r.Vector);
        foreach (var reader in readers.Skip(1))
        {
            Assert.Equal(byId.Keys.Order(), (await ReadAllAsync(reader, ingest.Sent.Keys)).Select(r => r.Id).Order());
        }

        foreach (var (id, vector) in byId)
        {
            Assert.True(ingest.Sent.TryGetValue(id, out var original), $"row {id} is present but was never sent");
            Assert.Equal(original, vector);
        }

        foreach (var id in ingest.Acknowledged.Keys)
        {
            Assert.True(byId.ContainsKey(id), $"acknowledged row {id} is missing");
        }

        output.WriteLine($"ingest under kill: {ingest.Acknowledged.Count} rows acknowledged, {ingest.Failed.Count} batches failed, {ingest.Failed.Count(f => byId.ContainsKey(f.Ids[0]))} of them stored");
        foreach (var (ids, error) in ingest.Failed)
        {
            var there = ids.Count(byId.ContainsKey);
            Assert.True(there == 0 || there == ids.Length, $"a failed batch is partly stored: {there} of {ids.Length} rows");
            var server = Assert.IsType<QuiverServerException>(error);
            Assert.True(server.ServerCode == 2, $"a failed insert answered code {server.ServerCode}, not Milvus code 2: {server.Message}");
        }
    }

    /// <summary>The index of the NATS server leading the shard's log stream (its name ends in <c>-default-items-wal-ID</c>).</summary>
    private static async Task<int> LogLeaderAsync(NatsCluster nats)
    {
        await using var connection = nats.Connect();
        var js = new NATS.Client.JetStream.NatsJSContext(connection);
        await foreach (var name in js.ListStreamNamesAsync())
        {
            if (name.Contains($"-default-{Collection}-wal-", StringComparison.Ordinal))
            {
                var stream = await js.GetStreamAsync(name);
                var leader = stream.Info.Cluster?.Leader ?? throw new InvalidOperationException($"stream {name} reports no leader");
                return int.Parse(leader[1..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException("no stream holds the shard's log");
    }

    /// <summary>Every row's id and vector, as stored, read in windows of 10,000 ids around the ids that were sent (a
    /// query answers at most 16,384 rows); the total is checked against <c>count(*)</c>, so a row outside every window
    /// (never sent) is still seen.</summary>
    private static async Task<List<(long Id, float[] Vector)>> ReadAllAsync(IQuiverClient client, IEnumerable<long> sent)
    {
        const long window = 10_000;
        var rows = new List<(long, float[])>();
        foreach (var start in sent.Select(id => id / window * window).Distinct().Order())
        {
            var page = await client.QueryAsync(Collection, new QueryRequest { Filter = $"id >= {start} and id < {start + window}", OutputFields = ["id", "vector"], Limit = 16_384 });
            rows.AddRange(page.Select(r => ((long)r["id"]!, (float[])r["vector"]!)));
        }

        var count = await client.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal((long)rows.Count, Assert.Single(count)["count(*)"]);
        return rows;
    }

    /// <summary>Runs <paramref name="body"/> against 3 NATS servers and 3 nodes with a client per node; on an unexpected
    /// error, the nodes' output goes with it.</summary>
    private static async Task OnThreeNodesAsync(Func<NatsCluster, QuiverNodes, IQuiverClient[], Task> body)
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        var clients = await ConnectAsync(nodes);
        try
        {
            await body(nats, nodes, clients);
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

    /// <summary>A client per node, each with a deadline long enough for a call that waits for its shard to move.</summary>
    private static async Task<IQuiverClient[]> ConnectAsync(QuiverNodes nodes)
    {
        var clients = new IQuiverClient[3];
        for (var i = 0; i < 3; i++)
        {
            clients[i] = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(i), Timeout = TimeSpan.FromMinutes(3) });
        }

        return clients;
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
