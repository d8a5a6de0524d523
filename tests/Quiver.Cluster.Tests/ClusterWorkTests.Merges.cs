using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Merges of compaction as work any node takes (<see cref="ClusterWork"/>, <c>ClusterWork.Merges.cs</c>): the
/// shard's engine plans a merge and chooses its rows, a worker writes the merged segment from the sources' files in the
/// shard's object store, and the shard swaps it in. Oracles: every row read back by a query of all rows (every field)
/// equal to what was read before the merge less the rows deleted since, FLAT search equal to brute force over the live
/// rows, the segment counts, the workers' counts of merges committed and refused, and nothing left in the bucket or the
/// object store's <c>work/</c> names.</summary>
public sealed partial class ClusterWorkTests
{
    private const int SegmentRows = 300;

    /// <summary>Four small sealed segments (some rows deleted) with a FLAT index: an explicit compaction merges them into
    /// one on the worker, whose index is built on the worker too; every row reads back the same, searches equal brute
    /// force, and a new engine over an empty cache (the shard moved) reads the merged segment from the object store and
    /// answers the same.</summary>
    [NatsFact]
    public async Task Merges_AreJobsAnotherNodeTakes_AndEveryRowReadsBackTheSame()
    {
        var name = NatsFixture.Unique("merge");
        using var data = new TempFolder("quiver-work");
        await using var shardSide = Work(name, data, "node-s", _ => false);
        await using var worker = Work(name, data, "node-w", _ => false);
        using var bound = new CancellationTokenSource(Bound);
        var rows = new Dictionary<long, float[]>();
        string before;
        using (var cache = new TempFolder("quiver-work-shard"))
        {
            await using var db = await OpenAsync(name, cache, shardSide);
            await FourSegmentsAsync(db, rows, seed: 43);
            await DeleteAsync(db, rows, [.. rows.Keys.Where(k => k % 13 == 0)]);
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT" });
            worker.StartWorking(TimeSpan.FromMilliseconds(100));
            await db.WaitForIndexAsync("c", cancellationToken: bound.Token);
            before = await AllRowsAsync(db, rows);
            Assert.Equal(4, (await db.DescribeCollectionAsync("c")).SealedSegments);

            var merges = await db.CompactAsync("c", cancellationToken: bound.Token);
            await worker.DisposeAsync(); // Its last sweep's counts are in.
            Assert.Equal((1, 1, 4 + 1), (merges, worker.Merged, worker.Built));
            Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
            Assert.Equal(before, await AllRowsAsync(db, rows));
            await CheckAsync(db, rows, exact: true, "after the merge");
        }

        await AssertNoWorkLeftAsync(name);
        using var moved = new TempFolder("quiver-work-moved");
        await using (var db = await OpenAsync(name, moved, shardSide))
        {
            await db.WaitForIndexAsync("c", cancellationToken: bound.Token);
            Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
            Assert.Equal(before, await AllRowsAsync(db, rows));
            await CheckAsync(db, rows, exact: true, "after a move");
        }
    }

    /// <summary>While a worker writes the merge (held after its upload, before its commit), rows of every source are
    /// deleted: the shard carries those deletes over to the merged rows, so no deleted row comes back, neither right after
    /// the swap nor in a new engine over an empty cache (from the merged segment's delete file and the log).</summary>
    [NatsFact]
    public async Task DeletesThatArriveWhileTheMergeIsWrittenElsewhere_AreKept()
    {
        var name = NatsFixture.Unique("merge");
        using var data = new TempFolder("quiver-work");
        await using var shardSide = Work(name, data, "node-s", _ => false);
        await using var worker = Work(name, data, "node-w", _ => false);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        worker.BeforeCommit = async job =>
        {
            if (job.Plan is not null)
            {
                held.TrySetResult();
                await resume.Task;
            }
        };

        using var bound = new CancellationTokenSource(Bound);
        var rows = new Dictionary<long, float[]>();
        using var cache = new TempFolder("quiver-work-shard");
        string after;
        await using (var db = await OpenAsync(name, cache, shardSide))
        {
            await FourSegmentsAsync(db, rows, seed: 47);
            await DeleteAsync(db, rows, [.. rows.Keys.Where(k => k % 11 == 0)]);
            worker.StartWorking(TimeSpan.FromMilliseconds(100));
            var compaction = db.CompactAsync("c", cancellationToken: bound.Token);
            await Task.WhenAny(held.Task, compaction).Unwrap().WaitAsync(bound.Token);
            Assert.True(held.Task.IsCompleted, "the merge was written by the shard's engine, not by a worker");

            // Rows of each of the four sources (ids 1..1200, 300 a segment), deleted while the merged file is written.
            await DeleteAsync(db, rows, [.. rows.Keys.Where(k => k % 7 == 0)]);
            resume.SetResult();
            Assert.Equal(1, await compaction);
            await worker.DisposeAsync(); // Its last sweep's counts are in.
            Assert.Equal((1, 1), (worker.Merged, (await db.DescribeCollectionAsync("c")).SealedSegments));
            after = await AllRowsAsync(db, rows);
            await CheckAsync(db, rows, exact: true, "deletes during the merge");
        }

        await AssertNoWorkLeftAsync(name);
        using var moved = new TempFolder("quiver-work-moved");
        await using (var db = await OpenAsync(name, moved, shardSide))
        {
            Assert.Equal(after, await AllRowsAsync(db, rows));
            await CheckAsync(db, rows, exact: true, "deletes during the merge, after a move");
        }
    }

    /// <summary>A worker takes the merge, uploads its result and stops answering before its commit: while it counts as
    /// alive another worker leaves the job alone; once it has left the cluster the other takes it over and commits, and
    /// the shard swaps that result in. The first worker's late commit is refused and its result deleted.</summary>
    [NatsFact]
    public async Task ATakerOfAMergeThatDies_LeavesItToAnother_AndOneResultIsCommitted()
    {
        var name = NatsFixture.Unique("merge");
        using var data = new TempFolder("quiver-work");
        await using var rig = new TakeOverRig(this, name, data);
        using var bound = new CancellationTokenSource(Bound);
        var rows = new Dictionary<long, float[]>();
        using var cache = new TempFolder("quiver-work-shard");
        await using var db = await OpenAsync(name, cache, rig.ShardSide);
        await FourSegmentsAsync(db, rows, seed: 53);
        await DeleteAsync(db, rows, [.. rows.Keys.Where(k => k % 6 == 0)]);
        var before = await AllRowsAsync(db, rows);
        var compaction = db.CompactAsync("c", cancellationToken: bound.Token);
        var key = await Task.WhenAny(rig.Queued.Task, compaction.ContinueWith(_ => "", TaskScheduler.Default)).Unwrap().WaitAsync(bound.Token);
        Assert.StartsWith("merge.", key, StringComparison.Ordinal);
        var firstSweep = await rig.TakeOverAsync(() => RecordAsync(name, key), bound.Token);
        Assert.Equal(1, await compaction.WaitAsync(bound.Token));
        var job = Assert.Single(rig.Adopted);
        Assert.Equal(("node-b", 2, WorkState.Done), (job.Taker, job.Attempt, job.State));

        rig.Resume.SetResult();
        await firstSweep.WaitAsync(bound.Token);
        Assert.Equal((0, 1, 1, 0), (rig.First.Merged, rig.First.Lost, rig.Second.Merged, rig.Second.Lost));
        Assert.Equal(1, (await db.DescribeCollectionAsync("c")).SealedSegments);
        Assert.Equal(before, await AllRowsAsync(db, rows));
        await CheckAsync(db, rows, exact: true, "merged by the second taker");
        await AssertNoWorkLeftAsync(name);
    }

    /// <summary>Creates collection <c>c</c> with four sealed segments of <see cref="SegmentRows"/> rows (ids 1..1200).</summary>
    private static async Task FourSegmentsAsync(QuiverEngine db, Dictionary<long, float[]> rows, int seed)
    {
        await db.CreateCollectionAsync("c", TestData.ProductSchema(Dim));
        var rng = new Random(seed);
        for (var s = 0; s < 4; s++)
        {
            await InsertAsync(db, rng, rows, 1 + (s * SegmentRows), SegmentRows);
            await db.FlushAsync("c");
        }
    }

    private static async Task DeleteAsync(QuiverEngine db, Dictionary<long, float[]> rows, long[] keys)
    {
        Assert.Equal(keys.Length, (await db.DeleteAsync("c", [.. keys.Cast<object>()])).Count);
        foreach (var k in keys)
        {
            rows.Remove(k);
        }
    }

    /// <summary>Every row with every field, one canonical line each in key order, after checking that the keys are exactly
    /// the live ones of <paramref name="rows"/>.</summary>
    private static async Task<string> AllRowsAsync(QuiverEngine db, Dictionary<long, float[]> rows)
    {
        var all = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["*"] });
        var keys = all.Select(r => (long)r["id"]!).Order().ToList();
        Assert.Equal([.. rows.Keys.Order()], keys);
        return string.Join("\n", all.OrderBy(r => (long)r["id"]!).Select(AllTypes.Canonical));
    }
}
