using System.Collections.Concurrent;
using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

public sealed partial class ClusterWorkTests
{
    /// <summary>Two workers take one queued index build at once on nats-server 2.9.10, whose compare-and-set checks the
    /// expected revision before the replicated write (nats-server issue 4320): both takes pass the check and both are
    /// stored, A's first (<see cref="ClusterImportJobsTests.HeldWrites"/>). Oracle: only A builds (B neither commits nor
    /// has a result refused: it never ran the build), the shard adopts A's attempt 1, FLAT search equals brute force, and
    /// no record or result object is left. With plain compare-and-set records both workers were told they took the job as
    /// attempt 1 and both built it into the same result object, which the refused one then deleted: the shard's build
    /// failed on the missing object.</summary>
    [NatsFact]
    public async Task TwoNodesTakingABuildAtOnce_WithBothWritesStored_OneBuildsIt()
    {
        var name = NatsFixture.Unique("work");
        using var data = new TempFolder("quiver-work");
        var held = new ClusterImportJobsTests.HeldWrites();
        await using var shardSide = Work(name, data, "node-s", _ => false);
        await using var a = Work(name, data, "node-a", _ => false);
        await using var b = Work(name, data, "node-b", _ => false);
        a.WrapStore = s => held.Over(s, "node-a");
        b.WrapStore = s => held.Over(s, "node-b");
        var queued = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var adopted = new ConcurrentQueue<IndexBuildJob>();
        shardSide.Queued = key => queued.TrySetResult(key);
        shardSide.Adopted = adopted.Enqueue;
        using var bound = new CancellationTokenSource(Bound);
        using var cache = new TempFolder("quiver-work-shard");
        await using var db = await OpenAsync(name, cache, shardSide);
        await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
        var rows = new Dictionary<long, float[]>();
        await InsertAsync(db, new Random(43), rows, 1, 1500);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT" });
        await queued.Task.WaitAsync(bound.Token);

        var sweepA = a.SweepAsync(bound.Token);
        var sweepB = b.SweepAsync(bound.Token);
        var takeA = await held.ArrivedAsync("node-a", bound.Token);
        var takeB = await held.ArrivedAsync("node-b", bound.Token);
        await held.StoreAsync(takeA);
        await held.StoreAsync(takeB);
        await held.OpenAsync();
        await Task.WhenAll(sweepA, sweepB).WaitAsync(bound.Token);
        await db.WaitForIndexAsync("c", cancellationToken: bound.Token);

        var job = Assert.Single(adopted);
        Assert.Equal(("node-a", 1, WorkState.Done), (job.Taker, job.Attempt, job.State));
        Assert.Equal((1, 0, 0, 0), (a.Built, a.Lost, b.Built, b.Lost));
        var stats = db.GetIndexStatistics("c");
        Assert.Equal((0L, 1L), (stats.Built, stats.Loaded));
        await CheckAsync(db, rows, exact: true, "FLAT built by the node whose take landed");
        await AssertNoWorkLeftAsync(name);
    }
}
