using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Index builds as work any node takes (<see cref="ClusterWork"/>): a shard's engine on JetStream queues each
/// sealed segment's build as a KV record, other "nodes" (workers with their own names and scratch folders, over the
/// shared NATS cluster) take it by compare-and-set, build from the segment's file in the shard's object store, and
/// commit one result, which the shard loads and serves. Oracles: brute force over the rows inserted (FLAT exactly, HNSW
/// by recall), the engine's own counts of indexes built in its process (none) and loaded, the workers' counts of
/// results committed and refused, and the bucket and object store left empty of jobs and results.</summary>
[Collection("Nats")]
public sealed partial class ClusterWorkTests(NatsFixture nats)
{
    private const int Dim = 16;

    /// <summary>A safety net for a loaded machine, never a measure.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    /// <summary>Two sealed segments of a collection, indexed with FLAT and with HNSW: each segment's build is a job that
    /// another worker takes; the shard's engine builds nothing itself and loads both results; searches equal brute force
    /// exactly before the index and with FLAT after, and HNSW's recall@10 is at least 0.9. A new engine over an empty
    /// cache (the shard moved) loads the indexes from the shard's object store and answers the same, and no job record
    /// or result object is left.</summary>
    [NatsFact]
    public async Task IndexBuilds_AreJobsAnotherNodeTakes_TheShardServesTheirResults()
    {
        foreach (var (type, exact) in new[] { ("FLAT", true), ("HNSW", false) })
        {
            var name = NatsFixture.Unique("work");
            using var data = new TempFolder("quiver-work");
            await using var shardSide = Work(name, data, "node-s", _ => false);
            await using var worker = Work(name, data, "node-w", _ => false);
            var rows = new Dictionary<long, float[]>();
            using var bound = new CancellationTokenSource(Bound);
            using (var cache = new TempFolder("quiver-work-shard"))
            {
                await using var db = await OpenAsync(name, cache, shardSide);
                await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
                var rng = new Random(37);
                await InsertAsync(db, rng, rows, 1, 1200);
                await db.FlushAsync("c");
                await InsertAsync(db, rng, rows, 1201, 800);
                await db.FlushAsync("c");
                await CheckAsync(db, rows, exact: true, $"{type}, before the index");

                await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = type });
                worker.StartWorking(TimeSpan.FromMilliseconds(100));
                await db.WaitForIndexAsync("c", cancellationToken: bound.Token);

                var stats = db.GetIndexStatistics("c");
                Assert.Equal((0L, 2L, 2), (stats.Built, stats.Loaded, worker.Built));
                await CheckAsync(db, rows, exact, $"{type}, built elsewhere");
            }

            await AssertNoWorkLeftAsync(name);
            using (var moved = new TempFolder("quiver-work-moved"))
            {
                await using var db = await OpenAsync(name, moved, shardSide);
                await db.WaitForIndexAsync("c", cancellationToken: bound.Token);
                var stats = db.GetIndexStatistics("c");
                Assert.Equal((0L, 2L, 2), (stats.Built, stats.Loaded, worker.Built));
                await CheckAsync(db, rows, exact, $"{type}, after a move");
            }
        }
    }

    /// <summary>A worker takes the build, uploads its result and then stops answering before its commit (a node declared
    /// dead that is still running): while it counts as alive another worker leaves the job alone; once it has left the
    /// cluster the other takes the job over, builds and commits, and the shard serves that result. When the first worker
    /// goes on, its commit is refused by the compare-and-set and its result deleted: one result committed, none left.</summary>
    [NatsFact]
    public async Task ATakerThatDies_LeavesTheJobToAnother_AndOneResultIsCommitted()
    {
        var name = NatsFixture.Unique("work");
        using var data = new TempFolder("quiver-work");
        await using var rig = new TakeOverRig(this, name, data);
        using var bound = new CancellationTokenSource(Bound);
        using var cache = new TempFolder("quiver-work-shard");
        await using var db = await OpenAsync(name, cache, rig.ShardSide);
        await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
        var rows = new Dictionary<long, float[]>();
        await InsertAsync(db, new Random(41), rows, 1, 1500);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT" });
        var key = await rig.Queued.Task.WaitAsync(bound.Token);
        var firstSweep = await rig.TakeOverAsync(() => RecordAsync(name, key), bound.Token);
        await db.WaitForIndexAsync("c", cancellationToken: bound.Token);
        var job = Assert.Single(rig.Adopted);
        Assert.Equal(("node-b", 2, WorkState.Done), (job.Taker, job.Attempt, job.State));

        rig.Resume.SetResult();
        await firstSweep.WaitAsync(bound.Token);
        Assert.Equal((0, 1, 1, 0), (rig.First.Built, rig.First.Lost, rig.Second.Built, rig.Second.Lost));
        var stats = db.GetIndexStatistics("c");
        Assert.Equal((0L, 1L), (stats.Built, stats.Loaded));
        await CheckAsync(db, rows, exact: true, "FLAT built by the second taker");
        await AssertNoWorkLeftAsync(name);
    }

    private ClusterWork Work(string cluster, TempFolder data, string here, Func<string, bool> gone)
    {
        var config = new NodeConfig { Cluster = cluster, Nats = nats.Cluster.Url, Replicas = 3, DataPath = Path.Combine(data.Path, here) };
        return new ClusterWork(new NodeContext(config, nats.JetStream, null!), NullLogger.Instance, () => here, (node, _) => Task.FromResult(gone(node)));
    }

    /// <summary>The shard's engine over JetStream storage named <c>{cluster}-shard</c>, its index builds and its merges
    /// sent to <paramref name="work"/>.</summary>
    private async Task<QuiverEngine> OpenAsync(string cluster, TempFolder cache, ClusterWork work)
    {
        var storage = cluster + "-shard";
        var options = await JetStreamStorage.ConfigureAsync(nats.JetStream, storage, cache.Path, NoBackground);
        return await QuiverEngine.OpenAsync(cache.Path, options with
        {
            IndexBuildsElsewhere = work.For(storage, cache.Path, options.FileSystem!),
            MergesElsewhere = work.MergeFor(storage, cache.Path, options.FileSystem!),
        });
    }

    private static async Task InsertAsync(QuiverEngine db, Random rng, Dictionary<long, float[]> rows, long from, int count)
    {
        var batch = Enumerable.Range(0, count).Select(i => TestData.ProductRow(rng, from + i, Dim)).ToList();
        await db.InsertAsync("c", batch);
        foreach (var r in batch)
        {
            rows[(long)r["id"]!] = (float[])r["embedding"]!;
        }
    }

    /// <summary>Top-10 of 20 queries against brute force: equal hit for hit when <paramref name="exact"/>, else a recall
    /// of at least 0.9 over all queries.</summary>
    private static async Task CheckAsync(QuiverEngine db, Dictionary<long, float[]> rows, bool exact, string what)
    {
        var rng = new Random(5);
        int found = 0, wanted = 0;
        for (var q = 0; q < 20; q++)
        {
            var query = TestData.Vector(rng, Dim);
            var got = (await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 10 })).Hits[0].Select(h => (long)h.Id).ToList();
            var want = BruteForce.TopK(rows.Select(kv => (kv.Key, kv.Value)), query, MetricType.L2, 10).Select(w => w.Key).ToList();
            if (exact)
            {
                Assert.True(want.SequenceEqual(got), $"{what}: query {q}: [{string.Join(',', got)}], brute force [{string.Join(',', want)}]");
            }

            found += got.Intersect(want).Count();
            wanted += want.Count;
        }

        Assert.True(found >= 0.9 * wanted, $"{what}: recall {found}/{wanted}");
    }

    private async Task<IndexBuildJob> RecordAsync(string cluster, string key)
    {
        var store = await nats.KeyValue.GetStoreAsync(ClusterWork.Bucket(cluster));
        return IndexBuildJob.FromBytes((await KvLeaderReads.GetAsync(store, key)).Value!);
    }

    /// <summary>No job record in the work bucket and no result object in the shard's object store.</summary>
    private async Task AssertNoWorkLeftAsync(string cluster)
    {
        var store = await nats.KeyValue.GetStoreAsync(ClusterWork.Bucket(cluster));
        var keys = new List<string>();
        try
        {
            await foreach (var k in store.GetKeysAsync())
            {
                keys.Add(k);
            }
        }
        catch (NatsKVException)
        {
            // No keys.
        }

        Assert.Empty(keys);
        var files = await nats.Objects.GetObjectStoreAsync($"{cluster}-shard-files");
        var results = new List<string>();
        await foreach (var meta in files.ListAsync(new NatsObjListOpts { ShowDeleted = false }))
        {
            if (meta.Name.StartsWith("work/", StringComparison.Ordinal))
            {
                results.Add(meta.Name);
            }
        }

        Assert.Empty(results);
    }
}
