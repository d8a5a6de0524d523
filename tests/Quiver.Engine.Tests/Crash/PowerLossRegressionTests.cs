using Quiver.Testing;

namespace Quiver.Engine.Tests.Crash;

/// <summary>Durability bugs the power-loss test found, each replayed with the harshest reboot (only synced data and
/// synced folder entries survive).</summary>
public sealed class PowerLossRegressionTests
{
    private const string Parent = "/quiver-power";
    private const string Folder = "/quiver-power/db";

    private static QuiverOptions With(PowerLossFileSystem fs) =>
        new() { Durability = DurabilityMode.Always, BackgroundMaintenance = false, FileSystem = fs };

    /// <summary>The engine created a new data folder without fsyncing its parent, so a power loss could take the whole
    /// folder, manifest and WAL included, after acknowledged writes and even after a clean close.</summary>
    [Fact]
    public async Task NewDataFolder_SurvivesPowerLoss()
    {
        var fs = new PowerLossFileSystem(Parent);
        await using (var db = await QuiverEngine.OpenAsync(Folder, With(fs)))
        {
            await db.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);
            await db.InsertAsync(CrashWorkload.Collection, [CrashWorkload.RowFor(1, 7, 1)]);
        }

        await AssertRowSurvivesAsync(fs.SurviveSyncedOnly());
    }

    /// <summary>A new collection's folder was created inside the collections folder, which was never fsynced: the
    /// manifest named the collection, but after a power loss its folder (and the WAL holding its acknowledged rows) could
    /// be gone, and the collection reopened empty.</summary>
    [Fact]
    public async Task NewCollectionFolder_SurvivesPowerLoss()
    {
        // The data folder itself already exists durably, so only the collection's folder is at stake.
        var fs = new PowerLossFileSystem(Folder);
        await using (var db = await QuiverEngine.OpenAsync(Folder, With(fs)))
        {
            await db.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);
            await db.InsertAsync(CrashWorkload.Collection, [CrashWorkload.RowFor(1, 7, 1)]);
            await AssertRowSurvivesAsync(fs.SurviveSyncedOnly());
        }
    }

    private static async Task AssertRowSurvivesAsync(PowerLossFileSystem survivor)
    {
        await using var db = await QuiverEngine.OpenAsync(Folder, With(survivor));
        Assert.True(await db.HasCollectionAsync(CrashWorkload.Collection), "the collection is gone after the power loss");
        var rows = await CrashWorkload.ReadRowsAsync(db, "after the power loss");
        Assert.True(CrashWorkload.Matches(1, new Dictionary<long, int> { [7] = 1 }, rows), CrashWorkload.Describe("acknowledged", new() { [7] = 1 }, rows, 1));
    }

    /// <summary>The same for compaction, found by the power-loss long tier: a merge swaps its new segment in for its
    /// sources, then fails writing the manifest; the merged segment stays (searched exactly) but its build was queued only
    /// after a merge that fully succeeded, so <c>WaitForIndexAsync</c> waited forever.</summary>
    [Fact]
    public async Task FailedCompaction_StillBuildsIndexOfTheMergedSegment()
    {
        using var dir = new TempFolder("quiver-powerloss");
        var fs = new FaultInjectingFileSystem();
        await using var db = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false, SegmentMaxRows = 40, FileSystem = fs });
        await db.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);
        await db.CreateIndexAsync(CrashWorkload.Collection, new IndexDefinition { FieldName = "vec", IndexType = "HNSW" });
        // Four small segments: one size tier's worth, which compaction merges (SegmentSizing.MergeFactor).
        for (var batch = 0; batch < 4; batch++)
        {
            await db.InsertAsync(CrashWorkload.Collection, [.. Enumerable.Range(batch * 5, 5).Select(k => CrashWorkload.RowFor(1, k, 1))]);
            await db.FlushAsync(CrashWorkload.Collection);
        }

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await db.WaitForIndexAsync(CrashWorkload.Collection, cancellationToken: guard.Token);
        fs.FailRenameTo = path => Path.GetFileName(path) == "MANIFEST";
        await Assert.ThrowsAnyAsync<QuiverException>(() => db.CompactAsync(CrashWorkload.Collection));
        fs.FailRenameTo = null;

        // A hang guard only, as above.
        await db.WaitForIndexAsync(CrashWorkload.Collection, cancellationToken: guard.Token);
        var index = Assert.Single(await db.DescribeIndexesAsync(CrashWorkload.Collection));
        Assert.Equal((20L, 20L), (index.TotalRows, index.IndexedRows));
    }

    /// <summary>Found by the power-loss test with background maintenance, but a plain failed flush shows it: the flush
    /// seals its segments, then fails writing the manifest; the sealed segments stay (searched exactly) but no index build
    /// was ever queued for them, so <c>WaitForIndexAsync</c> waited forever (and the index stayed "in progress") until some
    /// later flush succeeded.</summary>
    [Fact]
    public Task FailedFlush_StillBuildsIndexOfSegmentsItSealed() =>
        FailedFlushBuildsIndexAsync(static (fs, on) => fs.FailRenameTo = on ? path => Path.GetFileName(path) == "MANIFEST" : null);

    /// <summary>The same after the manifest is written: the flush fails deleting the WAL files the checkpoint left behind
    /// (found while chasing a hung index wait in the power-loss long tier).</summary>
    [Fact]
    public Task FlushFailingAfterTheManifest_StillBuildsIndexOfSegmentsItSealed() =>
        FailedFlushBuildsIndexAsync(static (fs, on) => fs.FailDeleteOf = on ? path => path.EndsWith(".wal", StringComparison.Ordinal) : null);

    private static async Task FailedFlushBuildsIndexAsync(Action<FaultInjectingFileSystem, bool> fail)
    {
        using var dir = new TempFolder("quiver-powerloss");
        var fs = new FaultInjectingFileSystem();
        await using var db = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false, FileSystem = fs });
        await db.CreateCollectionAsync(CrashWorkload.Collection, CrashWorkload.Schema);
        await db.CreateIndexAsync(CrashWorkload.Collection, new IndexDefinition { FieldName = "vec", IndexType = "HNSW" });
        await db.InsertAsync(CrashWorkload.Collection, [.. Enumerable.Range(0, 30).Select(k => CrashWorkload.RowFor(1, k, 1))]);
        fail(fs, true);
        await Assert.ThrowsAnyAsync<QuiverException>(() => db.FlushAsync(CrashWorkload.Collection));
        fail(fs, false);

        // A hang guard only: the build of a 30-row segment takes milliseconds.
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await db.WaitForIndexAsync(CrashWorkload.Collection, cancellationToken: guard.Token);
        var index = Assert.Single(await db.DescribeIndexesAsync(CrashWorkload.Collection));
        Assert.Equal(30, index.IndexedRows);
    }
}
