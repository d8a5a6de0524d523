using System.Buffers.Binary;
using Quiver.Segments;

namespace Quiver.Engine.Tests.Faults;

/// <summary>A flipped byte anywhere in a sealed segment file makes open fail with a CorruptionException naming the file:
/// never a silently wrong result.</summary>
public sealed class SegmentCorruptionTests : FaultTestBase
{
    [Theory]
    [InlineData("header")]
    [InlineData("directory")]
    [InlineData("scalars")]
    [InlineData("timestamps")]
    [InlineData("vectors")]
    public async Task FlippedByte_InSealedSegment_OpenThrowsCorruptionNamingTheFile(string region)
    {
        await using (var db = await CreateAsync())
        {
            await db.InsertAsync(Collection, Rows(0, 100));
            await db.FlushAsync(Collection);
        }

        var segment = Directory.GetFiles(Path.Combine(CollectionFolder(), "segments"), "*.qseg").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var at = OffsetIn(bytes, region);
        bytes[at] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes);

        // Twice: a failed open must release the folder lock, and keep failing the same way.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var ex = await Assert.ThrowsAsync<CorruptionException>(() => QuiverEngine.OpenAsync(Dir.Path, NoBackground));
            Assert.Equal(QuiverErrorCode.Corruption, ex.Code);
            Assert.Equal(Path.GetFileName(segment), Path.GetFileName(ex.Path));
            Assert.Contains(Path.GetFileName(segment), ex.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>A byte offset inside the named part of a segment file (layout in docs/format-segment.md).</summary>
    private static int OffsetIn(byte[] file, string region)
    {
        switch (region)
        {
            case "header":
                return 20; // inside the segment id
            case "directory":
                return SegmentFile.HeaderSize + 12; // inside the first entry's offset
        }

        var kind = region switch
        {
            "scalars" => SegmentFile.BlockKind.Scalars,
            "timestamps" => SegmentFile.BlockKind.InsertTimestamps,
            _ => SegmentFile.BlockKind.Vectors,
        };
        var blocks = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12));
        for (var i = 0; i < blocks; i++)
        {
            var e = file.AsSpan(SegmentFile.HeaderSize + (i * SegmentFile.EntrySize), SegmentFile.EntrySize);
            if ((SegmentFile.BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e) == kind)
            {
                var offset = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
                var length = BinaryPrimitives.ReadInt64LittleEndian(e[16..]);
                return (int)(offset + (length / 2));
            }
        }

        throw new InvalidOperationException($"no {kind} block in the segment file");
    }
}
