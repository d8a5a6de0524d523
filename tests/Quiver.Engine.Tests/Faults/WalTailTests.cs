namespace Quiver.Engine.Tests.Faults;

/// <summary>A torn WAL tail (a crash mid-append) is cut off and reported on open; every record before it survives.</summary>
public sealed class WalTailTests : FaultTestBase
{
    private string LastWalFile() =>
        Directory.GetFiles(Path.Combine(CollectionFolder(), "wal"), "*.wal").Order(StringComparer.Ordinal).Last();

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(40)]
    public async Task TruncatedLastRecord_IsDroppedAndReported_EarlierRecordsIntact(int bytesCut)
    {
        await using (var db = await CreateAsync())
        {
            for (var b = 0; b < 4; b++)
            {
                await db.InsertAsync(Collection, Rows(b * 5, 5));
            }
        }

        var wal = LastWalFile();
        using (var f = new FileStream(wal, FileMode.Open))
        {
            f.SetLength(f.Length - bytesCut);
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            var note = Assert.Single(db.RecoveryNotes);
            Assert.Contains("torn tail", note, StringComparison.Ordinal);
            Assert.Contains(Path.GetFileName(wal), note, StringComparison.Ordinal);
            await AssertExactlyAsync(db, Rows(0, 15));
            Assert.Empty(await db.GetAsync(Collection, [15L, 16L, 19L]));

            // The log takes appends again right after the cut.
            await db.InsertAsync(Collection, Rows(15, 5));
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            Assert.Empty(db.RecoveryNotes);
            await AssertExactlyAsync(db, Rows(0, 20));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(4096)]
    public async Task GarbageAppended_IsCutAndReported_AllRecordsIntact(int garbageBytes)
    {
        await using (var db = await CreateAsync())
        {
            for (var b = 0; b < 4; b++)
            {
                await db.InsertAsync(Collection, Rows(b * 5, 5));
            }
        }

        var wal = LastWalFile();
        var garbage = new byte[garbageBytes];
        new Random(garbageBytes).NextBytes(garbage);
        using (var f = new FileStream(wal, FileMode.Append))
        {
            f.Write(garbage);
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            var note = Assert.Single(db.RecoveryNotes);
            Assert.Contains("torn tail", note, StringComparison.Ordinal);
            await AssertExactlyAsync(db, Rows(0, 20));
            await db.InsertAsync(Collection, Rows(20, 5));
        }

        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            Assert.Empty(db.RecoveryNotes);
            await AssertExactlyAsync(db, Rows(0, 25));
        }
    }
}
