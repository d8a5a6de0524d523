using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Faults;

/// <summary>A flush that fails on a full disk while writing the segment file, followed by a flush that succeeds. Guards
/// against a lost-rows bug: the frozen segment of the failed flush was never sealed, yet the next checkpoint moved past
/// its WAL records and deleted them.</summary>
public sealed class FailedFlushTests(ITestOutputHelper output) : FaultTestBase
{
    [Fact]
    public async Task Flush_OnFullDiskDuringSegmentWrite_Fails_DataStaysReadable_LaterFlushSucceeds()
    {
        // Room for the new WAL file's header, not for the segment file.
        var ex = await FlushFailsThenRecoversAsync(200);
        output.WriteLine($"flush on a full disk: {ex.GetType().Name}: {ex.Message}");
    }

    [Fact]
    public async Task Flush_OnFullDisk_ThrowsQuiverExceptionWithCapacity()
    {
        var fs = new FaultInjectingFileSystem();
        await using var db = await CreateAsync(With(fs));
        await db.InsertAsync(Collection, Rows(0, 50));
        fs.FailWritesAfter(200);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => db.FlushAsync(Collection));
        output.WriteLine($"{ex.GetType().FullName}: {ex.Message}");
        var qe = Assert.IsAssignableFrom<QuiverException>(ex);
        Assert.Equal(QuiverErrorCode.Capacity, qe.Code);
    }
}
