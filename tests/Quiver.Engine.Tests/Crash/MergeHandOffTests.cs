using Quiver.Storage;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Crash;

/// <summary>The hand-off of a compacted segment, as Milvus does it: the merged segment is not searched until its index is
/// built (its sources answer meanwhile), then replaces them in one step; deletes and upserts that arrive in between land
/// on it (no row comes back, none is lost), also across a reopen; and a power loss at any file operation of the hand-off
/// recovers to the sources or the merged segment with exactly the acknowledged rows. The index build queue is held by a
/// blocking job (it runs one job at a time) so that the writes land while the merge is pending, every run. The power-loss
/// test runs for a tier merge (many small segments) and for an idle merge (three small segments, below a tier of four,
/// merged because the collection is idle: <see cref="QuiverOptions.CompactionIdleDelay"/>).</summary>
public sealed class MergeHandOffTests(ITestOutputHelper output) : IDisposable
{
    private const string Collection = "c";
    private const string PowerRoot = "/quiver-handoff";
    private const string PowerFolder = PowerRoot + "/db";
    private const int Dim = 16;
    private const int Total = 2_000;

    /// <summary>Rows of the idle-merge runs: three sealed segments of about 220 rows, too few for a size tier.</summary>
    private const int IdleTotal = 660;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private readonly TempFolder _dir = new("quiver-merge-handoff");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Compaction_MergedSegmentIsSearchedOnlyOnceIndexed_AndWritesMadeMeanwhileLandOnIt()
    {
        var model = new Dictionary<long, float[]>();
        HashSet<long> before;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options(null)))
        {
            var shard = await LoadAsync(db, model);
            before = SegmentIds(shard);
            var (compaction, release) = await StartPendingCompactionAsync(shard, db);

            // Pending: the sources answer, all indexed; the merged segment is in no read.
            AssertEveryReadIsIndexed(shard, before);
            await WriteWhilePendingAsync(db, model, new Random(5));
            AssertEveryReadIsIndexed(shard, before);
            await AssertMatchesModelAsync(db, model, "while the merge is pending");

            release();
            var merges = await compaction.WaitAsync(Guard);
            Assert.True(merges > 0);
            Assert.Equal(0, shard.PendingMergeCount);
            var after = SegmentIds(shard);
            Assert.True(after.Count < before.Count, $"{before.Count} segments before the compaction, {after.Count} after");
            AssertEveryReadIsIndexed(shard, after);
            await AssertMatchesModelAsync(db, model, "after the hand-off");
            await AssertExactSearchAsync(db, model, new Random(6), "after the hand-off");
        }

        // The merged segment's delete file and the WAL after it give the same rows again.
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options(null)))
        {
            await AssertMatchesModelAsync(db, model, "after reopening");
            await db.WaitForIndexAsync(Collection);
            await AssertExactSearchAsync(db, model, new Random(7), "after reopening");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PowerLossDuringMergeHandOff_RecoversSourcesOrMergedSegment_WithEveryAcknowledgedWrite(bool idleMerge)
    {
        // A dry run counts the file operations from the release of the index queue to the end of the compaction (the
        // merged segment's index files, its delete file, the WAL rotation, the manifest, the sources' deletion).
        var (span, dry) = await RunToPowerLossAsync(long.MaxValue, idleMerge);
        Assert.True(span > 0);
        if (idleMerge)
        {
            Assert.True(dry.Before.Count < Shards.SegmentSizing.MergeFactor, $"{dry.Before.Count} segments would make a size tier");
        }

        HashSet<long> afterDry;
        await using (var db = await QuiverEngine.OpenAsync(PowerFolder, Options(dry.Fs.Survive(0), idleMerge)))
        {
            afterDry = SegmentIds(db.ShardOf(Collection));
        }

        Assert.False(afterDry.SetEquals(dry.Before), "the dry run merged nothing");
        var points = TestTier.Pick(14, 120);
        var recoveredBefore = 0;
        var recoveredMerged = 0;
        for (var p = 0; p < points; p++)
        {
            var crashAt = (long)Math.Round(p * (double)(span - 1) / Math.Max(1, points - 1));
            var (_, run) = await RunToPowerLossAsync(crashAt, idleMerge);
            var context = $"power lost after file operation {crashAt} of {span} of the hand-off";
            var survivor = run.Fs.Survive(p);
            using var guard = new CancellationTokenSource(Guard);
            await using var db = await QuiverEngine.OpenAsync(PowerFolder, Options(survivor, idleMerge), guard.Token);
            // Each merge is recorded whole or not at all (a source and its merged segment together would show as rows
            // found twice below); segments no merge touched stay; nothing else appears.
            var ids = SegmentIds(db.ShardOf(Collection));
            Assert.True(ids.IsSubsetOf(run.Before.Union(afterDry)), $"{context}: segments [{string.Join(", ", ids.Except(run.Before).Except(afterDry))}] are neither sources nor merged");
            Assert.True(ids.IsSupersetOf(run.Before.Intersect(afterDry)), $"{context}: a segment no merge touched is gone");
            recoveredBefore += ids.SetEquals(run.Before) ? 1 : 0;
            recoveredMerged += ids.SetEquals(run.Before) ? 0 : 1;

            await AssertMatchesModelAsync(db, run.Model, context);
            await db.WaitForIndexAsync(Collection, cancellationToken: guard.Token);
            AssertEveryReadIsIndexed(db.ShardOf(Collection), ids);
            await AssertExactSearchAsync(db, run.Model, new Random(p), context);
        }

        output.WriteLine($"{points} power losses over the {span} file operations of the hand-off: {recoveredBefore} recovered the sources, " +
            $"{recoveredMerged} a merged segment");
        Assert.True(recoveredBefore > 0 && recoveredMerged > 0, "the crash points should cover both outcomes");
    }

    private sealed record PowerRun(PowerLossFileSystem Fs, HashSet<long> Before, Dictionary<long, float[]> Model);

    /// <summary>Loads, holds the index queue, compacts until the merge is pending, writes, then arms a power loss
    /// <paramref name="crashAt"/> file operations later and lets the hand-off run. Returns the operations the hand-off
    /// took (all of them when no power loss came) and the run.</summary>
    private static async Task<(long Span, PowerRun Run)> RunToPowerLossAsync(long crashAt, bool idleMerge)
    {
        var fs = new PowerLossFileSystem(PowerRoot);
        var model = new Dictionary<long, float[]>();
        HashSet<long> before;
        long start;
        var db = await QuiverEngine.OpenAsync(PowerFolder, Options(fs, idleMerge));
        try
        {
            var shard = await LoadAsync(db, model, idleMerge ? IdleTotal : Total);
            before = SegmentIds(shard);
            var (compaction, release) = await StartPendingCompactionAsync(shard, db);
            await WriteWhilePendingAsync(db, model, new Random(11));
            start = fs.Operations;
            fs.CrashAfter(crashAt == long.MaxValue ? long.MaxValue : start + crashAt);
            release();
            try
            {
                await compaction.WaitAsync(Guard);
            }
            catch (Exception ex) when (fs.HasCrashed && ex is not TimeoutException)
            {
                // The power failed under the compaction.
            }
        }
        finally
        {
            try
            {
                await db.DisposeAsync();
            }
            catch (Exception ex) when (fs.HasCrashed && ex is not OperationCanceledException)
            {
                // A dead machine does not close cleanly.
            }
        }

        Assert.True(fs.MapsOfUnsyncedFiles == 0, $"the engine memory-mapped {fs.MapsOfUnsyncedFiles} file(s) holding unsynced writes");
        return (fs.Operations - start, new PowerRun(fs, before, model));
    }

    /// <summary>Small segments; with <paramref name="idleMerge"/>, compaction treats the collection as idle at once, and
    /// rewrites no segment for its deletes (the writes while pending delete a third of the idle runs' rows, and a second
    /// rewrite would add a segment that is neither a source nor the merge's result).</summary>
    private static QuiverOptions Options(IFileSystem? fs, bool idleMerge = false) => new()
    {
        CompactionIdleDelay = idleMerge ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
        CompactionDeletedFraction = idleMerge ? 1 : new QuiverOptions().CompactionDeletedFraction,
        BackgroundMaintenance = false,
        SegmentSealBytes = 16 << 10,
        SegmentMaxBytes = 128 << 10,
        IndexBuildThreads = 1,
        FileSystem = fs,
    };

    /// <summary>Small indexed segments (about 220 rows each) of <paramref name="total"/> rows.</summary>
    private static async Task<Shards.Shard> LoadAsync(QuiverEngine db, Dictionary<long, float[]> model, int total = Total)
    {
        await db.CreateCollectionAsync(Collection, new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        var rng = new Random(3);
        for (var first = 0; first < total; first += 20)
        {
            var rows = new List<Row>();
            for (var i = first; i < first + 20; i++)
            {
                model[i] = TestData.Vector(rng, Dim);
                rows.Add(new Row { ["id"] = (long)i, ["vec"] = model[i] });
            }

            await db.InsertAsync(Collection, rows);
        }

        await db.FlushAsync(Collection);
        await db.CreateIndexAsync(Collection, new IndexDefinition
        {
            FieldName = "vec",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "32" },
        });
        await db.WaitForIndexAsync(Collection);
        return db.ShardOf(Collection);
    }

    /// <summary>Holds the index queue with a blocking job, starts a compaction and waits until a merge is pending.</summary>
    private static async Task<(Task<int> Compaction, Action Release)> StartPendingCompactionAsync(Shards.Shard shard, QuiverEngine db)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        shard.IndexBuilds.Enqueue(new object(), token => hold.Task.WaitAsync(token));
        var compaction = db.CompactAsync(Collection);
        using var guard = new CancellationTokenSource(Guard);
        while (shard.PendingMergeCount == 0 && !compaction.IsCompleted)
        {
            await Task.Delay(5, guard.Token);
        }

        Assert.False(compaction.IsCompleted, "the compaction ended before its merge was pending");
        return (compaction, () => hold.TrySetResult());
    }

    /// <summary>Deletes by key and by filter, and upserts, of rows the pending merge copied, with a checkpoint in between
    /// (it persists the sources' marks and drops the WAL before it, so the merged segment must carry those marks in a
    /// delete file of its own).</summary>
    private static async Task WriteWhilePendingAsync(QuiverEngine db, Dictionary<long, float[]> model, Random rng)
    {
        var keys = model.Keys.OrderBy(_ => rng.Next()).Take(200).ToList();
        var deleted = keys.Take(80).ToList();
        await db.DeleteAsync(Collection, [.. deleted.Cast<object>()]);
        deleted.ForEach(k => model.Remove(k));

        await db.FlushAsync(Collection);

        var byFilter = keys.Skip(80).Take(40).ToList();
        await db.DeleteWhereAsync(Collection, $"id in [{string.Join(", ", byFilter)}]");
        byFilter.ForEach(k => model.Remove(k));

        var upserted = keys.Skip(120).ToList();
        var rows = new List<Row>();
        foreach (var k in upserted)
        {
            model[k] = TestData.Vector(rng, Dim);
            rows.Add(new Row { ["id"] = k, ["vec"] = model[k] });
        }

        await db.UpsertAsync(Collection, rows);

        // A deleted key written again is a new row.
        await db.InsertAsync(Collection, [new Row { ["id"] = deleted[0], ["vec"] = model[deleted[0]] = TestData.Vector(rng, Dim) }]);
    }

    private static HashSet<long> SegmentIds(Shards.Shard shard) => [.. shard.Meta.Segments.Select(s => s.Id)];

    /// <summary>Every sealed segment a read sees has the index attached, and they are exactly <paramref name="sealedIds"/>.</summary>
    private static void AssertEveryReadIsIndexed(Shards.Shard shard, HashSet<long> sealedIds)
    {
        var field = shard.Schema.IndexOf("vec");
        var index = Assert.Single(shard.Meta.Indexes);
        using var view = shard.AcquireView([]);
        var seen = new HashSet<long>();
        foreach (var snap in view.Segments.Where(s => s.Segment.IsSealed))
        {
            seen.Add(snap.Segment.Id);
            Assert.True(snap.Segment.AttachedIndexId(field) == index.Id, $"segment {snap.Segment.Id} is searched without its index");
        }

        Assert.True(seen.SetEquals(sealedIds), $"reads see sealed segments [{string.Join(", ", seen.Order())}], expected [{string.Join(", ", sealedIds.Order())}]");
    }

    /// <summary>Exactly the model's rows, each once, with its latest vector; point reads agree; the count too.</summary>
    private static async Task AssertMatchesModelAsync(QuiverEngine db, Dictionary<long, float[]> model, string context)
    {
        var rows = await db.QueryAsync(Collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "vec"], Limit = 16_384 });
        var got = new Dictionary<long, float[]>();
        foreach (var row in rows)
        {
            Assert.True(got.TryAdd((long)row["id"]!, (float[])row["vec"]!), $"{context}: row {row["id"]} came back twice");
        }

        Assert.True(got.Keys.Order().SequenceEqual(model.Keys.Order()),
            $"{context}: rows differ from the model: missing [{string.Join(", ", model.Keys.Except(got.Keys).Take(10))}], " +
            $"extra [{string.Join(", ", got.Keys.Except(model.Keys).Take(10))}]");
        foreach (var (key, vector) in model)
        {
            Assert.True(vector.AsSpan().SequenceEqual(got[key]), $"{context}: row {key} holds an older version");
        }

        Assert.Equal(model.Count, db.CountRows(Collection));
        var probes = model.Keys.Order().Take(5).Concat([-1L, Total + 5]).Cast<object>().ToList();
        Assert.Equal(model.Keys.Order().Take(5), (await db.GetAsync(Collection, probes)).Select(r => (long)r["id"]!).Order());
    }

    /// <summary>Exact search equals brute force over the model; the index answers with live rows only.</summary>
    private static async Task AssertExactSearchAsync(QuiverEngine db, Dictionary<long, float[]> model, Random rng, string context)
    {
        for (var q = 0; q < 3; q++)
        {
            var query = TestData.Vector(rng, Dim);
            var oracle = BruteForce.TopK(model.Select(kv => (kv.Key, kv.Value)), query, MetricType.L2, 10);
            var exact = (await db.SearchAsync(Collection, new SearchRequest
            {
                Vectors = [query],
                Limit = 10,
                SearchParams = new Dictionary<string, string> { ["exact"] = "true" },
            })).Hits[0];
            Assert.Equal(oracle.Count, exact.Count);
            for (var i = 0; i < exact.Count; i++)
            {
                var tolerance = 2 * BruteForce.Tolerance(MetricType.L2, query, model[oracle[i].Key]);
                Assert.True(Math.Abs(exact[i].Score - oracle[i].Score) <= tolerance,
                    $"{context}: exact hit {i} is {exact[i].Id} at {exact[i].Score}, the oracle's {oracle[i].Key} at {oracle[i].Score}");
            }

            var approximate = (await db.SearchAsync(Collection, new SearchRequest { Vectors = [query], Limit = 10 })).Hits[0];
            Assert.True(approximate.All(h => model.ContainsKey((long)h.Id)), $"{context}: the index returned a row that is not live");
            Assert.Equal(approximate.Count, approximate.Select(h => h.Id).Distinct().Count());
        }
    }
}
