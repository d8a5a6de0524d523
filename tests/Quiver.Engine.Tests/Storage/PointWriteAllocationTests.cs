using Quiver.Segments;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Runs its tests alone: they count the bytes every thread of the process allocates, which tests running
/// beside them would add to.</summary>
[CollectionDefinition(nameof(AllocationCountingCollection), DisableParallelization = true)]
public sealed class AllocationCountingCollection;

/// <summary>A point write after reopening a collection costs the same whatever the collection's size: sealed segments keep
/// their delete marks sparse (<c>Segments/DeleteMarks.cs</c>), so the first delete mark on a segment allocates an entry,
/// not 8 bytes for every row of the segment, and no live-row bitmap is copied by a write; and the key lookups checksum a few
/// pages of the key blocks, not the blocks (segment format version 4).</summary>
[Collection(nameof(AllocationCountingCollection))]
public sealed class PointWriteAllocationTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new("quiver-point-writes");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task FirstWritesAfterReopen_AllocateTheSame_WhateverTheRowCount()
    {
        var rows = TestTier.Pick(200_000, 1_000_000);

        // A first run on a folder of its own, so that JIT compilation and type loading are not counted below.
        _ = await AllocatedByFirstWritesAsync("warm-up", 2_000);
        var (small, smallVerified) = await AllocatedByFirstWritesAsync("small", 2_000);
        var (large, largeVerified) = await AllocatedByFirstWritesAsync("large", rows);
        output.WriteLine($"the first upsert and delete after a reopen allocated {small:N0} bytes at 2,000 rows, {large:N0} bytes at {rows:N0} rows");
        output.WriteLine($"they checksummed {smallVerified:N0} bytes at 2,000 rows, {largeVerified:N0} bytes at {rows:N0} rows");

        // Page checksums (segment format 4): the key lookups read, and verify, a few pages of the key blocks; whole
        // blocks would be 13 bytes a row (2.6 MB here).
        Assert.True(largeVerified <= 48L * SegmentFile.PageSize, $"the first writes checksummed {largeVerified} bytes at {rows} rows");

        // Dense delete timestamps for the sealed segment a write reaches would cost 8 bytes a row (1.6 MB here); the
        // live-row bitmap copied on a delete, an eighth of a byte a row.
        Assert.True(Math.Abs(large - small) <= 16 * 1024, $"the first writes allocated {small} bytes at 2,000 rows, {large} bytes at {rows} rows");
    }

    /// <summary>Bytes every thread allocates for the first upsert of one existing key and the first delete of another
    /// after a reopen of a flushed folder; both keys live in a sealed segment. Background maintenance is off and this
    /// test runs alone, so the process does only this work meanwhile; the rows the writes leave are checked against the
    /// model.</summary>
    private async Task<(long Allocated, long Verified)> AllocatedByFirstWritesAsync(string name, int rows)
    {
        var (folder, options) = await SegmentKeysTests.FlushedFolderAsync(_dir, name, rows);
        await using var db = await QuiverEngine.OpenAsync(folder, options);
        var upsert = new ColumnBatch(1)
            .Add(new FieldColumn { Name = "id", Longs = [7L] })
            .Add(new FieldColumn { Name = "n", Longs = [-1] })
            .Add(new FieldColumn { Name = "v", Vectors = [0, 0] });
        var verifiedBefore = MappedBlock.VerifiedBytes;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await db.UpsertAsync("c", upsert);
        await db.DeleteAsync("c", [rows - 1L]);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var verified = MappedBlock.VerifiedBytes - verifiedBefore;

        Assert.Equal(rows - 1, db.CountRows("c"));
        var rewritten = await db.QueryAsync("c", new QueryRequest { Filter = "n == -1", OutputFields = ["id"] });
        Assert.Equal([7L], rewritten.Select(r => (long)r["id"]!));
        return (allocated, verified);
    }
}
