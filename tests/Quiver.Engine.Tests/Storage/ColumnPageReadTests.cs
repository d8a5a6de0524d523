using System.Globalization;
using System.Text.Json;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Reading a few rows of a sealed segment right after an open checksums the pages those rows lie in, not the
/// blocks: a get's visibility test reads one insert timestamp, its output fields one value (or one offset pair and the
/// value's bytes, one null bitmap word, one vector) of each column. Before, the first read of a row verified every block
/// it touched whole, so the first get after opening a 10M-row collection cost 8 ms where 100k rows cost 0.4 ms. Bulk
/// readers (filters, exact search) still verify whole blocks. These tests count <see cref="MappedBlock.VerifiedBytes"/>,
/// which is process-wide, so they run alone (<see cref="AllocationCountingCollection"/>).</summary>
[Collection(nameof(AllocationCountingCollection))]
public sealed class ColumnPageReadTests(ITestOutputHelper output) : IDisposable
{
    private const int Dim = 8;
    private const int SmallRows = 50_000;
    private readonly TempFolder _dir = new("quiver-column-pages");

    private static CollectionSchema Schema { get; } = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("i8", DataType.Int8),
            FieldSchema.Scalar("i16", DataType.Int16),
            FieldSchema.Scalar("i32", DataType.Int32),
            FieldSchema.Scalar("f", DataType.Float),
            FieldSchema.Scalar("d", DataType.Double),
            FieldSchema.Scalar("b", DataType.Bool),
            FieldSchema.VarChar("s", 64),
            FieldSchema.Json("j"),
            FieldSchema.Scalar("ni", DataType.Int32, nullable: true),
            FieldSchema.Vector("v", Dim, MetricType.L2) with { Nullable = true },
        ],
        EnableDynamicField = true,
    };

    public void Dispose() => _dir.Dispose();

    /// <summary>Three gets by key right after reopening a flushed collection (rows spread over the segment), every field
    /// and the dynamic field asked for: each value equals the row written, and the reads checksum a bounded number of
    /// pages whatever the row count (whole blocks would be more than 60 bytes a row: over 12 MB here).</summary>
    [Fact]
    public async Task FirstGetsAfterReopen_ChecksumThePagesTheyRead_NotWholeColumns()
    {
        var rows = TestTier.Pick(200_000, 1_000_000);
        var folder = _dir.Sub("c");
        var options = new QuiverOptions { BackgroundMaintenance = false, Durability = DurabilityMode.Never };
        await using (var db = await QuiverEngine.OpenAsync(folder, options))
        {
            await db.CreateCollectionAsync("c", Schema);
            for (var first = 0; first < rows; first += 10_000)
            {
                await db.InsertAsync("c", [.. Enumerable.Range(first, Math.Min(10_000, rows - first)).Select(RowOf)]);
            }

            await db.FlushAsync("c");
        }

        await using (var db = await QuiverEngine.OpenAsync(folder, options))
        {
            long[] keys = [rows / 7, rows / 2 + 1, rows - 3];
            var before = MappedBlock.VerifiedBytes;
            var got = await db.GetAsync("c", [.. keys.Cast<object>()]);
            var verified = MappedBlock.VerifiedBytes - before;
            output.WriteLine($"three gets of every field right after reopening {rows:N0} rows checksummed {verified:N0} bytes");

            Assert.Equal(keys.Length, got.Count);
            for (var i = 0; i < keys.Length; i++)
            {
                AssertRow(keys[i], got[i]);
            }

            // Per get: the key probe (bloom filter up to 7 pages, the binary search's path about 10, one of the key order)
            // and one or two pages of each of 15 blocks read (insert timestamps, 9 value blocks, 3 offset blocks, 2 null
            // bitmaps, the vectors): at most 60 pages a get, whatever the row count.
            Assert.True(verified <= 3 * 60L * SegmentFile.PageSize, $"three gets checksummed {verified} bytes at {rows} rows");

            // The same rows as columns, and every row through a scan (which verifies whole blocks) still agree.
            var columns = await db.GetColumnsAsync("c", [.. keys.Cast<object>()], ["i32", "ni", "v"]);
            Assert.Equal(keys.Select(k => k * 7), columns.Columns.Single(c => c.Name == "i32").Longs!);
            var count = await db.QueryAsync("c", new QueryRequest { Filter = "i32 >= 0", OutputFields = ["count(*)"] });
            Assert.Equal((long)rows, (long)count[0]["count(*)"]!);
        }
    }

    /// <summary>A flipped byte in one page of a sealed segment's Int32 values: reads of rows in other pages answer, the
    /// first read of a row in that page is a <see cref="CorruptionException"/> naming the file, the block and the page, and
    /// so is a scan of the column.</summary>
    [Fact]
    public void DamagedValuePage_IsFoundByTheFirstPointReadOfIt_AndByAScan()
    {
        var (path, schema) = WriteInt32Segment("damaged.qseg");

        // Damage the Int32 value of row 30,000 (page 29 of the 4-byte values).
        var bytes = File.ReadAllBytes(path);
        var (offset, _) = SegmentBlocks.Find(bytes, SegmentFile.BlockKind.Values, field: 1);
        const int damagedRow = 30_000;
        var page = damagedRow * sizeof(int) / SegmentFile.PageSize;
        bytes[offset + (damagedRow * sizeof(int))] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var segment = SegmentFile.Open(PhysicalFileSystem.Instance, path, schema, 1);
        try
        {
            using var snap = segment.Snapshot();
            var column = (NumericColumn)snap.GetColumn(1);
            for (var r = 0; r < SmallRows; r += 997)
            {
                if (r * sizeof(int) / SegmentFile.PageSize != page)
                {
                    Assert.Equal(r * 3L, column.LongAt(r));
                    Assert.Equal(r * 3L, (long)column.GetValue(r)!);
                }
            }

            var ex = Assert.Throws<CorruptionException>(() => column.LongAt(damagedRow));
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Contains($"page {page} ", ex.Message, StringComparison.Ordinal);
            Assert.Throws<CorruptionException>(() => column.GetValue(damagedRow - 1));
            Assert.Throws<CorruptionException>(() => column.Longs(SmallRows, out _).ToArray());
        }
        finally
        {
            segment.Release();
        }
    }

    /// <summary>Point reads of every row of a column, one after another, checksum each page of its value block once (the
    /// block's length in all); the block then counts as verified, so a bulk read of it checksums nothing more (not even
    /// the page checksum table).</summary>
    [Fact]
    public void PointReadsOfEveryPage_ChecksumEachPageOnce_ThenTheBlockCountsAsVerified()
    {
        var (path, schema) = WriteInt32Segment("every-page.qseg");
        var segment = SegmentFile.Open(PhysicalFileSystem.Instance, path, schema, 1);
        try
        {
            using var snap = segment.Snapshot();
            var column = (NumericColumn)snap.GetColumn(1);
            var before = MappedBlock.VerifiedBytes;
            for (var r = 0; r < SmallRows; r++)
            {
                Assert.Equal(r * 3L, column.LongAt(r));
            }

            Assert.Equal(SmallRows * (long)sizeof(int), MappedBlock.VerifiedBytes - before);
            before = MappedBlock.VerifiedBytes;
            var all = column.Longs(SmallRows, out var rented);
            Assert.Equal(Enumerable.Range(0, SmallRows).Select(r => r * 3L), all.ToArray());
            Assert.Equal(0, MappedBlock.VerifiedBytes - before);
            if (rented is not null)
            {
                System.Buffers.ArrayPool<long>.Shared.Return(rented);
            }
        }
        finally
        {
            segment.Release();
        }
    }

    /// <summary>A segment file of <see cref="SmallRows"/> rows: key r, Int32 field "n" = 3r, a 2-d zero vector.</summary>
    private (string Path, CollectionSchema Schema) WriteInt32Segment(string name)
    {
        var schema = new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int32), FieldSchema.Vector("v", 2, MetricType.L2)],
        };
        var batch = new RowBatch
        {
            Schema = schema,
            Count = SmallRows,
            Columns =
            [
                new BatchColumn { Longs = [.. Enumerable.Range(0, SmallRows).Select(i => (long)i)] },
                new BatchColumn { Longs = [.. Enumerable.Range(0, SmallRows).Select(i => (long)i * 3)] },
                new BatchColumn { Vectors = new float[SmallRows * 2] },
            ],
        };
        var path = _dir.Sub(name);
        SegmentFile.Write(PhysicalFileSystem.Instance, path, 1, 0, batch, new long[SmallRows]);
        return (path, schema);
    }

    private static Row RowOf(int i) => new()
    {
        ["id"] = (long)i,
        ["i8"] = (long)((i % 200) - 100),
        ["i16"] = (long)((i % 30_000) - 15_000),
        ["i32"] = (long)i * 7,
        ["f"] = i * 0.5,
        ["d"] = i / 3.0,
        ["b"] = i % 3 == 0,
        ["s"] = $"s{i}",
        ["j"] = JsonElement.Parse($$"""{"k":{{i}}}"""),
        ["ni"] = i % 5 == 0 ? null : (long)i,
        ["v"] = i % 7 == 0 ? null : Enumerable.Range(0, Dim).Select(d => (float)(i + d)).ToArray(),
        ["extra"] = (long)i * 2,
    };

    private static void AssertRow(long key, Row got)
    {
        var i = (int)key;
        Assert.Equal(key, Long(got["id"]));
        Assert.Equal((i % 200) - 100, Long(got["i8"]));
        Assert.Equal((i % 30_000) - 15_000, Long(got["i16"]));
        Assert.Equal(key * 7, Long(got["i32"]));
        Assert.Equal(i * 0.5, Convert.ToDouble(got["f"], CultureInfo.InvariantCulture));
        Assert.Equal(i / 3.0, Convert.ToDouble(got["d"], CultureInfo.InvariantCulture));
        Assert.Equal(i % 3 == 0, (bool)got["b"]!);
        Assert.Equal($"s{i}", (string)got["s"]!);
        Assert.Equal(i, ((JsonElement)got["j"]!).GetProperty("k").GetInt64());
        Assert.Equal(i % 5 == 0 ? (long?)null : key, got["ni"] is null ? (long?)null : Long(got["ni"]));
        if (i % 7 == 0)
        {
            Assert.Null(got["v"]);
        }
        else
        {
            Assert.Equal(Enumerable.Range(0, Dim).Select(d => (float)(i + d)), (float[])got["v"]!);
        }

        Assert.Equal(key * 2, Long(got["extra"]));
    }

    /// <summary>An integer as the API hands it out (a field's own width; a dynamic key as a JSON number).</summary>
    private static long Long(object? value) =>
        value is JsonElement e ? e.GetInt64() : Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
