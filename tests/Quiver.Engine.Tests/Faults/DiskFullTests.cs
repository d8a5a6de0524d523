using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Faults;

/// <summary>A full disk, injected through <see cref="FaultInjectingFileSystem"/>: failed writes leave no trace, the engine
/// takes writes again once space is back, a failed flush leaves data readable and a later flush works, and a reopen
/// shows exactly the acknowledged writes.</summary>
public sealed class DiskFullTests(ITestOutputHelper output) : FaultTestBase
{
    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    public async Task Insert_OnFullDisk_FailsWithoutTrace_AndSucceedsAfterSpaceReturns(int budget)
    {
        var fs = new FaultInjectingFileSystem();
        var acked = new List<Row>();
        await using (var db = await CreateAsync(With(fs)))
        {
            await db.InsertAsync(Collection, Rows(0, 10));
            acked.AddRange(Rows(0, 10));

            fs.FailWritesAfter(budget);
            var ex = await Assert.ThrowsAnyAsync<QuiverException>(() => db.InsertAsync(Collection, Rows(10, 10)));
            output.WriteLine($"insert on a full disk: {ex.Code}: {ex.Message}");
            Assert.Equal(QuiverErrorCode.Capacity, ex.Code);
            Assert.Empty(await db.GetAsync(Collection, [.. Rows(10, 10).Select(r => r["id"]!)]));
            Assert.Equal(0, await CountAsync(db, "id >= 10"));
            await Assert.ThrowsAnyAsync<QuiverException>(() => db.DeleteAsync(Collection, [1L]));
            await AssertExactlyAsync(db, acked);

            fs.Reset();
            await db.InsertAsync(Collection, Rows(10, 10));
            await db.DeleteAsync(Collection, [1L]);
            acked.AddRange(Rows(10, 10));
            acked.RemoveAll(r => (long)r["id"]! == 1);
            await AssertExactlyAsync(db, acked);
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            Assert.Empty(db.RecoveryNotes);
            await AssertExactlyAsync(db, acked);
        }
    }

    [Fact]
    public async Task Flush_OnFullDiskDuringManifestWrite_Fails_DataStaysReadable_LaterFlushSucceeds()
    {
        // A dry run on another folder measures the flush's writes: everything up to the manifest, then the manifest.
        long flushBytes, manifestBytes;
        using (var dry = new TempFolder("quiver-faults-dry"))
        {
            var probe = new FaultInjectingFileSystem();
            await using var db = await QuiverEngine.OpenAsync(dry.Path, With(probe));
            await db.CreateCollectionAsync(Collection, TestData.ProductSchema());
            await db.InsertAsync(Collection, Rows(0, 120));
            var before = probe.BytesWritten;
            await db.FlushAsync(Collection);
            flushBytes = probe.BytesWritten - before;
            manifestBytes = new FileInfo(Path.Combine(dry.Path, "MANIFEST")).Length;
        }

        // The segment file fits; the disk fills 10 bytes into the new manifest.
        var ex = await FlushFailsThenRecoversAsync(flushBytes - manifestBytes + 10);
        output.WriteLine($"flush with a full disk at the manifest: {ex.GetType().Name}: {ex.Message}");
        Assert.Contains("MANIFEST", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flush_FailsOnFullDisk_ThenReopenWithoutAnotherFlush_IsConsistent()
    {
        var fs = new FaultInjectingFileSystem();
        var acked = Rows(0, 60);
        await using (var db = await CreateAsync(With(fs)))
        {
            await db.InsertAsync(Collection, acked);
            fs.FailWritesAfter(200);
            await Assert.ThrowsAnyAsync<Exception>(() => db.FlushAsync(Collection));
            fs.Reset();
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            await AssertExactlyAsync(db, acked);
        }
    }
}
