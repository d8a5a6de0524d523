using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Segment format version 4 keeps a CRC-32C per 4 KiB page of every block, so that a probe by key after an open
/// checksums the pages it reads (a few bloom filter words, a binary search's path through the sorted keys, one entry of the
/// key order), O(log rows) bytes, where version 3 checksummed whole key blocks, 13 bytes a row. A damaged page is found
/// by the first read that touches it, and only by such a read. These tests count <see cref="MappedBlock.VerifiedBytes"/>,
/// which is process-wide, so they run alone (<see cref="AllocationCountingCollection"/>).</summary>
[Collection(nameof(AllocationCountingCollection))]
public sealed class PageChecksumTests(ITestOutputHelper output) : IDisposable
{
    private const int Rows = 200_000;
    private static readonly IFileSystem Fs = PhysicalFileSystem.Instance;
    private readonly TempFolder _dir = new("quiver-page-checksums");

    private static CollectionSchema Schema { get; } = new()
    {
        Fields = [FieldSchema.Int64Key("k"), FieldSchema.Vector("v", 2, MetricType.L2)],
    };

    private static CollectionSchema StringSchema { get; } = new()
    {
        Fields = [FieldSchema.VarCharKey("k", 64), FieldSchema.Vector("v", 2, MetricType.L2)],
    };

    public void Dispose() => _dir.Dispose();

    /// <summary>The first probes after an open of a 200,000-row segment: a key it holds and two it does not. Version 4
    /// checksums a few dozen pages; version 3 (read in place, same answers) every byte of the filter, the key order and
    /// the sorted keys (VarChar keys: the key column's offsets and values), which shows what the count measures.</summary>
    [Theory]
    [InlineData(SegmentFile.Version, false)]
    [InlineData(SegmentFile.OldestReadInPlace, false)]
    [InlineData(SegmentFile.Version, true)]
    [InlineData(SegmentFile.OldestReadInPlace, true)]
    public void FirstProbesAfterOpen_ChecksumPages_NotWholeKeyBlocks(int version, bool stringKeys)
    {
        var (path, keys) = WriteShuffled(version, stringKeys);
        var segment = SegmentFile.Open(Fs, path, stringKeys ? StringSchema : Schema, 1);
        try
        {
            var before = MappedBlock.VerifiedBytes;
            var row = Rows / 3;
            Assert.Equal(row, segment.FindLive(KeyOf(keys[row], stringKeys)));
            Assert.Equal(-1, segment.FindLive(KeyOf(-5, stringKeys)));
            Assert.Equal(-1, segment.FindLive(KeyOf(Rows * 10L, stringKeys)));
            var verified = MappedBlock.VerifiedBytes - before;
            output.WriteLine($"version {version}, {(stringKeys ? "VarChar" : "Int64")} keys: three probes after the open of {Rows:N0} rows checksummed {verified:N0} bytes");

            // Key order 4 bytes a row, sorted keys 8 (VarChar: offsets 8 and at least 7 bytes of text), filter 1.25.
            var keyBlocks = (Rows * (stringKeys ? 19L : 12L)) + (KeyFilter.WordCount(Rows) * 8L);
            if (version == SegmentFile.Version)
            {
                // Filter: up to 7 pages a probe; a binary search: about log2(pages) + 2 pages of sorted keys and one page
                // of the key order (VarChar: at each step a page of the order, of the offsets and of the text).
                var pages = stringKeys ? 160L : 40L;
                Assert.True(verified <= pages * SegmentFile.PageSize, $"version 4: {verified} bytes checksummed by three probes");
            }
            else
            {
                Assert.True(verified >= keyBlocks, $"version 3: {verified} bytes checksummed, expected the whole key blocks ({keyBlocks})");
            }

            // Every key is still found (this reads, and checksums, every page).
            for (var r = 0; r < Rows; r += 997)
            {
                Assert.Equal(r, segment.FindLive(KeyOf(keys[r], stringKeys)));
            }
        }
        finally
        {
            segment.Release();
        }
    }

    /// <summary>A flipped byte in one page of the sorted keys: probes whose binary search never reads that page answer,
    /// the first probe that reads it is a <see cref="CorruptionException"/> naming the block and the page, and so is any
    /// later read of the whole block. A flipped byte in a page's checksum entry is damage found the same way.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DamagedPage_IsFoundByTheFirstReadThatTouchesIt_AndOnlyByIt(bool inChecksumTable)
    {
        var (path, keys) = WriteShuffled(SegmentFile.Version);
        var bytes = File.ReadAllBytes(path);
        var (offset, length) = SegmentBlocks.Find(bytes, SegmentFile.BlockKind.SortedKeys);

        // The page of the sorted keys holding position 3/4 of the way: a search for a key in the lower half never reads
        // it (its probes are at 1/2, 1/4, ...; the range check reads the first and last key, other pages).
        var position = Rows * 3 / 4;
        var page = position * sizeof(long) / SegmentFile.PageSize;
        Assert.NotEqual((int)((length - 1) / SegmentFile.PageSize), page);
        var tableOffset = (offset + length + SegmentFile.Alignment - 1) / SegmentFile.Alignment * SegmentFile.Alignment;
        var at = inChecksumTable ? tableOffset + (page * sizeof(uint)) : offset + (position * sizeof(long));
        bytes[at] ^= 0x20;
        File.WriteAllBytes(path, bytes);

        var segment = SegmentFile.Open(Fs, path, Schema, 1);
        try
        {
            // Sorted position p holds key p (the keys are 0..Rows-1), in row Array.IndexOf(keys, p).
            for (var key = 0L; key < Rows / 2; key += 1_001)
            {
                Assert.Equal(Array.IndexOf(keys, key), segment.FindLive(new PrimaryKey(key)));
            }

            var ex = Assert.Throws<CorruptionException>(() => segment.FindLive(new PrimaryKey(position)));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains("SortedKeys", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"page {page} ", ex.Message, StringComparison.Ordinal);

            // Still damaged on the next touch, and on a read of every value of the block.
            Assert.Throws<CorruptionException>(() => segment.FindLive(new PrimaryKey(position)));
            var column = SegmentFile.Open(Fs, path, Schema, 1);
            try
            {
                Assert.Throws<CorruptionException>(() =>
                {
                    for (var key = 0L; key < Rows; key++)
                    {
                        column.FindLive(new PrimaryKey(key));
                    }
                });
            }
            finally
            {
                column.Release();
            }
        }
        finally
        {
            segment.Release();
        }
    }

    /// <summary>Key <paramref name="n"/> as an Int64 key, or as a VarChar key ("key" and n in 7 digits, so that text
    /// order is number order).</summary>
    private static PrimaryKey KeyOf(long n, bool stringKeys) => stringKeys ? new PrimaryKey($"key{n:D7}") : new PrimaryKey(n);

    /// <summary>A file of <see cref="Rows"/> rows whose keys are 0..Rows-1 in a seeded random row order.</summary>
    private (string Path, long[] Keys) WriteShuffled(int version, bool stringKeys = false)
    {
        var keys = Enumerable.Range(0, Rows).Select(i => (long)i).ToArray();
        new Random(17).Shuffle(keys);
        var vectors = new float[Rows * 2];
        for (var r = 0; r < Rows; r++)
        {
            vectors[2 * r] = keys[r];
            vectors[(2 * r) + 1] = 1;
        }

        var batch = new RowBatch
        {
            Schema = stringKeys ? StringSchema : Schema,
            Count = Rows,
            Columns = [stringKeys ? new BatchColumn { Strings = [.. keys.Select(k => KeyOf(k, true).Str)] } : new BatchColumn { Longs = keys }, new BatchColumn { Vectors = vectors }],
        };
        var path = _dir.Sub($"keys-v{version}-{(stringKeys ? "s" : "i")}.qseg");
        SegmentFile.Write(Fs, path, 1, 0, batch, new long[Rows], version: version);
        return (path, keys);
    }
}
