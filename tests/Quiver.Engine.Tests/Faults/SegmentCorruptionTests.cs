using System.Buffers.Binary;
using Quiver.Segments;

namespace Quiver.Engine.Tests.Faults;

/// <summary>A flipped byte anywhere in a sealed segment file is a CorruptionException naming the file: never a silently
/// wrong result. Header and directory are checked at open; each block is checked on its first touch
/// (docs/format-segment.md), so a damaged block fails the open if the open reads it, else the first read that does.</summary>
public sealed class SegmentCorruptionTests : FaultTestBase
{
    [Theory]
    [InlineData("header")]
    [InlineData("directory")]
    public async Task FlippedByte_InHeaderOrDirectory_OpenThrowsCorruptionNamingTheFile(string region)
    {
        var segment = await WriteSegmentAsync();
        var pristine = await File.ReadAllBytesAsync(segment);
        await FlipAsync(segment, pristine, region == "header" ? 20 : SegmentFile.HeaderSize + 12); // segment id / first entry's offset

        // Twice: a failed open must release the folder lock, and keep failing the same way.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            AssertNamesFile(segment, await Assert.ThrowsAsync<CorruptionException>(() => QuiverEngine.OpenAsync(Dir.Path, NoBackground)));
        }
    }

    [Fact]
    public async Task FlippedByte_InEachBlock_IsCorruptionAtOpenOrFirstRead()
    {
        var segment = await WriteSegmentAsync();
        var pristine = await File.ReadAllBytesAsync(segment);
        var blocks = BinaryPrimitives.ReadInt32LittleEndian(pristine.AsSpan(12));
        var kinds = new HashSet<SegmentFile.BlockKind>();
        for (var i = 0; i < blocks; i++)
        {
            var e = pristine.AsSpan(SegmentFile.HeaderSize + (i * SegmentFile.EntrySize), SegmentFile.EntrySize);
            var kind = (SegmentFile.BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e);
            var offset = BinaryPrimitives.ReadInt64LittleEndian(e[8..]);
            var length = BinaryPrimitives.ReadInt64LittleEndian(e[16..]);
            Assert.True(length > 0, $"block {i} ({kind}) is empty: the fixture should fill every block");
            kinds.Add(kind);
            await FlipAsync(segment, pristine, (int)(offset + (length / 2)));

            var ex = await Assert.ThrowsAsync<CorruptionException>(async () =>
            {
                await using var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground);
                await ReadEverythingAsync(db);
            });
            AssertNamesFile(segment, ex);
            Assert.Contains($"block {i} ", ex.Message, StringComparison.Ordinal);
        }

        // The fixture has every kind of block: values, offsets, null bitmaps, timestamps, vectors and their norms, and the
        // primary key's order and filter.
        Assert.Equal(
            [SegmentFile.BlockKind.InsertTimestamps, SegmentFile.BlockKind.Vectors, SegmentFile.BlockKind.SquaredNorms,
             SegmentFile.BlockKind.Values, SegmentFile.BlockKind.Offsets, SegmentFile.BlockKind.Nulls,
             SegmentFile.BlockKind.KeyOrder, SegmentFile.BlockKind.SortedKeys, SegmentFile.BlockKind.KeyFilter],
            kinds.Order());

        // And the undamaged file reads back whole.
        await File.WriteAllBytesAsync(segment, pristine);
        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            await ReadEverythingAsync(db);
            await AssertExactlyAsync(db, Rows(0, 100));
        }
    }

    [Fact]
    public async Task DamagedKeyBlocks_OfASegmentNoWriteNeeds_AreNotRead_UntilAKeyOfItIs()
    {
        await using (var db = await CreateAsync())
        {
            await db.InsertAsync(Collection, Rows(0, 100));
            await db.FlushAsync(Collection);
            await db.InsertAsync(Collection, Rows(100, 100));
            await db.FlushAsync(Collection);
        }

        // Segment files are named by id, so the second is the newer one, which every lookup asks first.
        var newer = Directory.GetFiles(Path.Combine(CollectionFolder(), "segments"), "*.qseg").Order(StringComparer.Ordinal).Last();
        var bytes = await File.ReadAllBytesAsync(newer);
        for (var i = 0; i < BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)); i++)
        {
            var e = bytes.AsSpan(SegmentFile.HeaderSize + (i * SegmentFile.EntrySize), SegmentFile.EntrySize);
            if ((SegmentFile.BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(e) is SegmentFile.BlockKind.KeyOrder or SegmentFile.BlockKind.SortedKeys)
            {
                bytes[(int)BinaryPrimitives.ReadInt64LittleEndian(e[8..])] ^= 0x20;
            }
        }

        await File.WriteAllBytesAsync(newer, bytes);
        await using (var db = await QuiverEngine.OpenAsync(Dir.Path, NoBackground))
        {
            // Writes of keys the newer segment's filter rules out (keys of the older one, a new key) read only that
            // filter of it: nothing eager touches every key block of every segment after an open.
            await db.UpsertAsync(Collection, Rows(42, 1));
            await db.DeleteAsync(Collection, [7L]);
            await db.InsertAsync(Collection, Rows(500, 1));
            Assert.Equal([42L], (await db.GetAsync(Collection, [42L, 7L])).Select(r => (long)r["id"]!));

            // The damage is still found the moment a key of that segment is looked up.
            AssertNamesFile(newer, await Assert.ThrowsAsync<CorruptionException>(() => db.GetAsync(Collection, [150L])));
        }
    }

    private async Task<string> WriteSegmentAsync()
    {
        await using (var db = await CreateAsync())
        {
            await db.InsertAsync(Collection, Rows(0, 100));
            await db.FlushAsync(Collection);
        }

        return Directory.GetFiles(Path.Combine(CollectionFolder(), "segments"), "*.qseg").Single();
    }

    private static async Task FlipAsync(string segment, byte[] pristine, int at)
    {
        var bytes = (byte[])pristine.Clone();
        bytes[at] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes);
    }

    /// <summary>Touches every block: all rows with every field (values, offsets, null bitmaps, timestamps through
    /// visibility), a brute-force search (vectors and their norms) and a read by key (the key order).</summary>
    private static async Task ReadEverythingAsync(QuiverEngine db)
    {
        var rows = await db.QueryAsync(Collection, new QueryRequest
        {
            Filter = "id >= 0",
            OutputFields = ["id", "title", "category", "price", "stock", "tags", "meta", "embedding"],
            Limit = 1000,
        });
        Assert.Equal(100, rows.Count);
        await db.SearchAsync(Collection, new SearchRequest { Vectors = [new float[8]], Limit = 5 });
        Assert.Single(await db.GetAsync(Collection, [42L]));
    }

    private static void AssertNamesFile(string segment, CorruptionException ex)
    {
        Assert.Equal(QuiverErrorCode.Corruption, ex.Code);
        Assert.Equal(Path.GetFileName(segment), Path.GetFileName(ex.Path));
        Assert.Contains(Path.GetFileName(segment), ex.Message, StringComparison.Ordinal);
    }
}
