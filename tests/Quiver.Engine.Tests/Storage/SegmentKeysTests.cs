using System.Buffers.Binary;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Primary keys found through each segment (segment format version 3, docs/format-segment.md): a sealed
/// segment's mapped key order answers exactly what a dictionary of its live rows would, for Int64 and VarChar keys with
/// several rows per key; version 2 files (no key order) are migrated on open; and reopening a collection allocates the
/// same whatever its row count, because nothing is rebuilt per key.</summary>
public sealed class SegmentKeysTests(ITestOutputHelper output) : IDisposable
{
    private static readonly IFileSystem Fs = PhysicalFileSystem.Instance;
    private readonly TempFolder _dir = new("quiver-segment-keys");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    [InlineData(true, 4)]
    public void FindLive_OnGrowingAndSealedSegments_EqualsTheOracle(bool stringKeys, int seed)
    {
        var rng = new Random(seed);
        var schema = KeySchema(stringKeys);
        var growing = Segment.CreateGrowing(1, 0, schema, capacity: 4);
        var live = new Dictionary<PrimaryKey, int>();
        var universe = new List<PrimaryKey>();
        long ts = 1;

        // Keys drawn from a small pool so that many are written again (an upsert: the old row deleted, a new one appended)
        // or deleted for good; Int64 keys span the whole range, VarChar keys include empty, non-ASCII and long ones.
        for (var round = 0; round < 400; round++)
        {
            var key = KeyOf(stringKeys, rng.Next(150));
            universe.Add(key);
            if (live.TryGetValue(key, out var old))
            {
                growing.MarkDeleted(old, ts);
                live.Remove(key);
                if (rng.Next(3) == 0)
                {
                    ts++;
                    continue;
                }
            }

            var row = growing.Append(Batch(schema, key), 0, 1, ts++);
            live[key] = row;
        }

        var path = _dir.Sub($"keys-{seed}.qseg");
        var all = Enumerable.Range(0, growing.Count).ToArray();
        SegmentFile.Write(Fs, path, 1, 0, growing.Extract(all), growing.InsertTimestamps(all));
        var sealedSeg = SegmentFile.Open(Fs, path, schema, 1);
        try
        {
            foreach (var (row, markTs) in growing.DeleteMarks())
            {
                sealedSeg.MarkDeleted(row, markTs);
            }

            for (var i = 0; i < 50; i++)
            {
                universe.Add(KeyOf(stringKeys, 1_000 + i));
            }

            foreach (var key in universe.Distinct())
            {
                var expected = live.TryGetValue(key, out var r) ? r : -1;
                Assert.True(expected == growing.FindLive(key), $"seed {seed}: growing segment, key {key}: expected row {expected}, found {growing.FindLive(key)}");
                Assert.True(expected == sealedSeg.FindLive(key), $"seed {seed}: sealed segment, key {key}: expected row {expected}, found {sealedSeg.FindLive(key)}");
            }
        }
        finally
        {
            sealedSeg.Release();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KeyFilter_HasNoFalseNegatives_AndRulesOutMostAbsentKeys(bool stringKeys)
    {
        const int count = 20_000;
        var words = new ulong[KeyFilter.WordCount(count)];
        ulong HashOf(int i) => stringKeys ? KeyFilter.Hash(System.Text.Encoding.UTF8.GetBytes($"key-{i}")) : KeyFilter.Hash(i * 7L);
        for (var i = 0; i < count; i++)
        {
            KeyFilter.Add(words, HashOf(i));
        }

        Assert.All(Enumerable.Range(0, count), i => Assert.True(KeyFilter.MayContain(words, HashOf(i)), $"key {i} was added but the filter rules it out"));
        var falsePositives = Enumerable.Range(count, count).Count(i => KeyFilter.MayContain(words, HashOf(i)));
        output.WriteLine($"{(stringKeys ? "VarChar" : "Int64")} keys: {falsePositives} false positives in {count} absent keys");

        // 10 bits and 7 hashes a key: about 0.8 % in theory; the hash is fixed by the format, so this count is too.
        Assert.InRange(falsePositives, 0, count * 2 / 100);
    }

    [Fact]
    public void Open_VersionTwoFile_RewritesItAsTheCurrentVersion_WithTheSameValues_AndItsKeyOrder()
    {
        var schema = SegmentFormatTests.AllTypesSchema();
        var rows = SegmentFormatTests.AllTypesRows(new Random(5), 150);
        var batch = RowValidator.Build(schema, rows, upsert: false, autoIds: null);
        var insertTs = Enumerable.Range(0, rows.Count).Select(i => 3L + i).ToArray();
        var path = _dir.Sub("v2.qseg");
        SegmentFile.Write(Fs, path, 1, 4, batch, insertTs);
        var current = File.ReadAllBytes(path);
        OldSegmentFiles.DowngradeToVersion2(path);
        Assert.Equal(2, VersionOf(path));

        var migrated = SegmentFile.Open(Fs, path, schema, 1);
        try
        {
            Assert.Equal(SegmentFile.Version, VersionOf(path));
            Assert.False(File.Exists(path + ".tmp"));

            // The same writer from the same values: the rewritten file is the file the current version writes in the first place.
            Assert.Equal(current, File.ReadAllBytes(path));
            Assert.Equal(4, migrated.PartitionId);
            for (var r = 0; r < rows.Count; r++)
            {
                Assert.Equal(r, migrated.FindLive(new PrimaryKey((long)rows[r]["id"]!)));
            }
        }
        finally
        {
            migrated.Release();
        }
    }

    [Fact]
    public async Task Reopen_DataFolderWithVersionTwoSegments_MigratesThem_AndWritesByKeyStayExact()
    {
        var schema = TestData.ProductSchema();
        var query = new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "title"], Limit = 10_000 };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", schema);
            await db.InsertAsync("c", [.. Enumerable.Range(0, 300).Select(i => TestData.ProductRow(new Random(i), i))]);
            await db.FlushAsync("c");

            // A second segment that holds new versions of keys of the first.
            await db.UpsertAsync("c", [.. Enumerable.Range(250, 100).Select(i => TestData.ProductRow(new Random(i + 7), i))]);
            await db.DeleteAsync("c", [5L, 6L, 260L]);
            await db.FlushAsync("c");
        }

        var paths = Directory.GetFiles(_dir.Path, "*.qseg", SearchOption.AllDirectories);
        Assert.Equal(2, paths.Length);
        foreach (var p in paths)
        {
            OldSegmentFiles.DowngradeToVersion2(p);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            Assert.All(paths, p => Assert.Equal(SegmentFile.Version, VersionOf(p)));
            var model = Enumerable.Range(0, 350).Where(i => i is not (5 or 6 or 260)).ToHashSet();
            Assert.Equal(model.Order().Select(i => (long)i), (await db.QueryAsync("c", query)).Select(r => (long)r["id"]!).Order());

            // Every write by key finds the one live row: insert of a live key refused, of a deleted one accepted; upsert
            // and delete replace and remove exactly one row.
            var refused = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [TestData.ProductRow(new Random(1), 280)]));
            Assert.Equal(QuiverErrorCode.AlreadyExists, refused.Code);
            await db.InsertAsync("c", [TestData.ProductRow(new Random(2), 5)]);
            await db.UpsertAsync("c", [TestData.ProductRow(new Random(3), 10), TestData.ProductRow(new Random(4), 255), TestData.ProductRow(new Random(5), 999)]);
            Assert.Equal(3, (int)(await db.DeleteAsync("c", [20L, 270L, 999L, 6L])).Count);
            model.UnionWith([5, 999]);
            model.ExceptWith([20, 270, 999]);
            Assert.Equal(model.Order().Select(i => (long)i), (await db.QueryAsync("c", query)).Select(r => (long)r["id"]!).Order());
            Assert.Equal(model.Count, db.CountRows("c"));
        }
    }

    [Fact]
    public async Task Reopen_AllocatesTheSame_WhateverTheRowCount()
    {
        var small = await AllocatedByReopenAsync("small", 2_000);
        var large = await AllocatedByReopenAsync("large", TestTier.Pick(200_000, 1_000_000));
        output.WriteLine($"reopening allocated {small:N0} bytes for 2,000 rows, {large:N0} bytes for {TestTier.Pick(200_000, 1_000_000):N0} rows");

        // A primary-key dictionary rebuilt at open would cost tens of bytes per row (megabytes here).
        Assert.True(Math.Abs(large - small) <= 16 * 1024, $"reopening 2,000 rows allocated {small} bytes, the large collection {large}");
    }

    /// <summary>Bytes the current thread allocates reopening a folder of one flushed segment of <paramref name="rows"/>
    /// rows (the second reopen, so that JIT compilation and type loading are not counted). The open must complete on
    /// this thread (it does: recovery runs synchronously), or the count would miss the rest.</summary>
    private async Task<long> AllocatedByReopenAsync(string name, int rows)
    {
        var (folder, options) = await FlushedFolderAsync(_dir, name, rows);
        long allocated = 0;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var open = QuiverEngine.OpenAsync(folder, options);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(open.IsCompleted, "the open did not complete on the calling thread, so its allocation cannot be counted");
            await using var db = await open;
            Assert.Equal(rows, db.CountRows("c"));
        }

        return allocated;
    }

    /// <summary>A folder holding collection "c" of <paramref name="rows"/> rows (id, n = id mod 1000, a 2-d vector), all
    /// flushed to sealed segments, and the options to open it with.</summary>
    internal static async Task<(string Folder, QuiverOptions Options)> FlushedFolderAsync(TempFolder dir, string name, int rows)
    {
        var folder = dir.Sub(name);
        var options = new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never };
        await using (var db = await QuiverEngine.OpenAsync(folder, options))
        {
            await db.CreateCollectionAsync("c", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int32), FieldSchema.Vector("v", 2, MetricType.L2)],
            });
            for (var first = 0; first < rows; first += 10_000)
            {
                var count = Math.Min(10_000, rows - first);
                var columns = new ColumnBatch(count)
                    .Add(new FieldColumn { Name = "id", Longs = [.. Enumerable.Range(first, count).Select(i => (long)i)] })
                    .Add(new FieldColumn { Name = "n", Longs = [.. Enumerable.Range(first, count).Select(i => (long)(i % 1000))] })
                    .Add(new FieldColumn { Name = "v", Vectors = [.. Enumerable.Range(first, count).SelectMany(i => new float[] { i, 1 })] });
                await db.InsertAsync("c", columns);
            }

            await db.FlushAsync("c");
        }

        return (folder, options);
    }

    private static CollectionSchema KeySchema(bool stringKeys) => new()
    {
        Fields =
        [
            stringKeys ? FieldSchema.VarCharKey("k", 2_000) : FieldSchema.Int64Key("k"),
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
    };

    private static PrimaryKey KeyOf(bool stringKeys, int i) => stringKeys
        ? new PrimaryKey(i switch
        {
            0 => string.Empty,
            1 => new string('x', 700),
            2 => "é🌍中",
            _ => $"k{i}{(i % 7 == 0 ? "ü" : string.Empty)}",
        })
        : new PrimaryKey(i switch
        {
            0 => long.MinValue,
            1 => long.MaxValue,
            2 => 0,
            _ => (i * 2_654_435_761L % 1_000_003) - 500_000,
        });

    private static RowBatch Batch(CollectionSchema schema, PrimaryKey key)
    {
        var keyColumn = key.Str is { } s ? new BatchColumn { Strings = [s] } : new BatchColumn { Longs = [key.Int] };
        return new RowBatch { Schema = schema, Count = 1, Columns = [keyColumn, new BatchColumn { Vectors = [1f, 2f] }] };
    }

    private static int VersionOf(string path) => BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8));
}

/// <summary>Older segment file versions, made from current files for the migration tests.</summary>
internal static class OldSegmentFiles
{
    /// <summary>Turns a version 3 or 4 file into the version 2 file of the same rows: the key blocks leave the directory
    /// (their bytes stay, unreferenced, which a reader never looks at, as do version 4's page checksums), each entry gets
    /// its block's whole CRC-32C, the version becomes 2, both header checksums are redone.</summary>
    public static void DowngradeToVersion2(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var kept = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var entry = bytes.AsSpan(SegmentFile.HeaderSize + (i * SegmentFile.EntrySize), SegmentFile.EntrySize);
            var kind = (SegmentFile.BlockKind)BinaryPrimitives.ReadUInt32LittleEndian(entry);
            if (kind is not (SegmentFile.BlockKind.KeyOrder or SegmentFile.BlockKind.SortedKeys or SegmentFile.BlockKind.KeyFilter))
            {
                var e = entry.ToArray();
                var block = bytes.AsSpan((int)BinaryPrimitives.ReadInt64LittleEndian(e.AsSpan(8)), (int)BinaryPrimitives.ReadInt64LittleEndian(e.AsSpan(16)));
                BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(24), Crc32C.Compute(block));
                BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(28), 0);
                kept.Add(e);
            }
        }

        var directory = bytes.AsSpan(SegmentFile.HeaderSize, count * SegmentFile.EntrySize);
        directory.Clear();
        for (var i = 0; i < kept.Count; i++)
        {
            kept[i].CopyTo(directory[(i * SegmentFile.EntrySize)..]);
        }

        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 2);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), kept.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(48), Crc32C.Compute(bytes.AsSpan(SegmentFile.HeaderSize, kept.Count * SegmentFile.EntrySize)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(52), Crc32C.Compute(bytes.AsSpan(0, 52)));
        File.WriteAllBytes(path, bytes);
    }
}
