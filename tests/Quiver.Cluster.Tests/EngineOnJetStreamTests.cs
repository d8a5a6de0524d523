using NATS.Client.JetStream;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>The embedded engine with all three storage seams on a 3-server JetStream cluster: inserts, deletes, flushes
/// and searches checked against the brute-force oracle, then reopened by a "new node" over an empty cache folder (sealed
/// segments come back from the object store, later rows from the log, the catalog from KV), and writes that go on while
/// one of the three servers (the log's leader) is killed.</summary>
public sealed class EngineOnJetStreamTests
{
    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    private sealed class Oracle
    {
        public Dictionary<long, float[]> Rows { get; } = [];

        public async Task InsertAsync(QuiverEngine db, Random rng, long from, int count)
        {
            var rows = Enumerable.Range(0, count).Select(i => TestData.ProductRow(rng, from + i)).ToList();
            var result = await db.InsertAsync("c", rows);
            Assert.Equal(count, result.Count);
            lock (Rows)
            {
                foreach (var r in rows)
                {
                    Rows[(long)r["id"]!] = (float[])r["embedding"]!;
                }
            }
        }

        public async Task CheckAsync(QuiverEngine db, int seed)
        {
            var count = await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] });
            Assert.Equal((long)Rows.Count, count[0]["count(*)"]);
            var rng = new Random(seed);
            for (var q = 0; q < 8; q++)
            {
                var query = TestData.Vector(rng, 8);
                var got = await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 10 });
                var want = BruteForce.TopK(Rows.Select(kv => (kv.Key, kv.Value)), query, MetricType.L2, 10);
                Assert.Equal(want.Select(w => w.Key), got.Hits[0].Select(h => (long)h.Id));
            }
        }
    }

    [NatsFact]
    public async Task InsertDeleteFlushSearch_MatchTheOracle_AndANewNodeWithAnEmptyCacheSeesEverything()
    {
        await using var cluster = await NatsCluster.StartAsync();
        await using var nats = cluster.Connect();
        var js = new NatsJSContext(nats);
        var name = NatsFixture.Unique("db");
        var oracle = new Oracle();
        var rng = new Random(17);
        using (var cacheA = new TempFolder("quiver-node-a"))
        {
            await using var db = await QuiverEngine.OpenAsync(cacheA.Path, await JetStreamStorage.ConfigureAsync(js, name, cacheA.Path, NoBackground));
            await db.CreateCollectionAsync("c", TestData.ProductSchema());
            for (var b = 0; b < 4; b++)
            {
                await oracle.InsertAsync(db, rng, (b * 100) + 1, 100);
            }

            await db.FlushAsync("c");
            var deleted = await db.DeleteWhereAsync("c", "id < 30");
            Assert.Equal(29, deleted.Count);
            foreach (var id in Enumerable.Range(1, 29))
            {
                oracle.Rows.Remove(id);
            }

            await db.FlushAsync("c");
            await oracle.InsertAsync(db, rng, 1001, 150);
            await oracle.CheckAsync(db, 1);
        }

        // The WAL stream was purged up to the last checkpoint: the replay below starts there.
        var wal = await js.GetStreamAsync(JetStreamWal.StreamFor(name, (await ListCollectionIdAsync(js, name)).Single()));
        Assert.True(wal.Info.State.FirstSeq > 1, $"the log still starts at {wal.Info.State.FirstSeq}: nothing was purged after the checkpoints");

        using (var cacheB = new TempFolder("quiver-node-b"))
        {
            await using var db = await QuiverEngine.OpenAsync(cacheB.Path, await JetStreamStorage.ConfigureAsync(js, name, cacheB.Path, NoBackground));
            await oracle.CheckAsync(db, 2);
            await oracle.InsertAsync(db, rng, 2001, 50);
            await oracle.CheckAsync(db, 3);
        }
    }

    [NatsFact]
    public async Task Writes_GoOnWhileTheLogsLeaderIsKilled_AndEveryAcknowledgedRowIsThere_AlsoAfterItsRestartAndAnotherLoss()
    {
        await using var cluster = await NatsCluster.StartAsync();
        await using var nats = cluster.Connect();
        var js = new NatsJSContext(nats);
        var name = NatsFixture.Unique("db");
        var oracle = new Oracle();
        var rng = new Random(23);
        var killed = -1;
        using var cacheA = new TempFolder("quiver-node-a");
        await using (var db = await QuiverEngine.OpenAsync(cacheA.Path, await JetStreamStorage.ConfigureAsync(js, name, cacheA.Path, NoBackground)))
        {
            await db.CreateCollectionAsync("c", TestData.ProductSchema());
            await oracle.InsertAsync(db, rng, 1, 200);
            await db.FlushAsync("c");
            await oracle.InsertAsync(db, rng, 201, 100);

            var stream = await js.GetStreamAsync(JetStreamWal.StreamFor(name, (await ListCollectionIdAsync(js, name)).Single()));
            var leader = stream.Info.Cluster?.Leader ?? throw new InvalidOperationException("the log's stream reports no leader");
            killed = int.Parse(leader[1..], System.Globalization.CultureInfo.InvariantCulture);

            // Inserts in flight while the leader dies: they wait out the election (retried with the same message IDs),
            // then sequential ones; every one must be acknowledged and none lost.
            var inFlight = Enumerable.Range(0, 10).Select(b => oracle.InsertAsync(db, rng, 1000 + (b * 20), 20)).ToList();
            cluster.Kill(killed);
            await Task.WhenAll(inFlight);
            for (var b = 0; b < 5; b++)
            {
                await oracle.InsertAsync(db, rng, 3000 + (b * 20), 20);
            }

            await oracle.CheckAsync(db, 4);
            await db.FlushAsync("c");
            await oracle.InsertAsync(db, rng, 5001, 30);
        }

        // Still two servers of three: a new node over an empty cache recovers every acknowledged row.
        using var cacheB = new TempFolder("quiver-node-b");
        var opts = await JetStreamStorage.ConfigureAsync(js, name, cacheB.Path, NoBackground);
        await using (var db = await QuiverEngine.OpenAsync(cacheB.Path, opts))
        {
            await oracle.CheckAsync(db, 5);

            // The killed server comes back and catches up; then another one dies, and the two left (one of them the
            // restarted server) must hold everything and take writes.
            await cluster.RestartAsync(killed);
            await oracle.InsertAsync(db, rng, 6001, 30);
            await WaitCaughtUpAsync(js, name);
            cluster.Kill((killed + 1) % 3);
            await oracle.InsertAsync(db, rng, 7001, 30);
            await oracle.CheckAsync(db, 6);
        }
    }

    /// <summary>Waits until every replica of every stream of database <paramref name="name"/> (log, KV, object store)
    /// reports itself current with no lag: a restarted server has caught up. Readiness, not a time limit.</summary>
    internal static async Task WaitCaughtUpAsync(NatsJSContext js, string name)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var behind = new List<string>();
            await foreach (var streamName in js.ListStreamNamesAsync())
            {
                if (!streamName.Contains(name, StringComparison.Ordinal))
                {
                    continue;
                }

                var info = (await js.GetStreamAsync(streamName)).Info;
                if (info.Cluster?.Replicas is not { Count: 2 } replicas || replicas.Any(r => !r.Current || r.Lag > 0 || r.Offline))
                {
                    behind.Add(streamName);
                }
            }

            if (behind.Count == 0)
            {
                return;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(3), $"streams never caught up: {string.Join(", ", behind)}");
            await Task.Delay(250);
        }
    }

    /// <summary>The ids of the collections whose logs exist for database <paramref name="name"/>.</summary>
    private static async Task<List<long>> ListCollectionIdAsync(NatsJSContext js, string name)
    {
        var ids = new List<long>();
        var prefix = $"{name}-wal-";
        await foreach (var stream in js.ListStreamNamesAsync())
        {
            if (stream.StartsWith(prefix, StringComparison.Ordinal))
            {
                ids.Add(long.Parse(stream[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return ids;
    }
}
