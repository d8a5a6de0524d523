using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Common;
using Quiver.Engine.Tests.Filtering;
using Quiver.Filtering;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;
using Quiver.Writes;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Storage;

/// <summary>Segment format version 2 (docs/format-segment.md): typed, mapped columns read back exactly as a growing
/// segment holds them, filters over them equal to filters over growing data, an open whose allocation does not grow with
/// the rows, and version 1 files migrated on open.</summary>
public sealed class SegmentFormatTests(ITestOutputHelper output) : IDisposable
{
    private static readonly IFileSystem Fs = PhysicalFileSystem.Instance;
    private static readonly string[] Pieces = ["a", "é", "🌍", " ", "z", "中"];
    private readonly TempFolder _dir = new("quiver-segment-format");

    public void Dispose() => _dir.Dispose();

    /// <summary>Version 4 (page checksums) as written today, and version 3 (a checksum per block), which is read in place:
    /// not rewritten on open, every value as the growing segment holds it.</summary>
    [Theory]
    [InlineData(SegmentFile.Version)]
    [InlineData(SegmentFile.OldestReadInPlace)]
    public void RoundTrip_EveryScalarType_ReadsBackAsTheGrowingSegmentHoldsIt(int version)
    {
        var schema = AllTypesSchema();
        var rows = AllTypesRows(new Random(7), 300);
        var batch = RowValidator.Build(schema, rows, upsert: false, autoIds: null);
        var insertTs = Enumerable.Range(0, rows.Count).Select(i => 100L + (i / 7)).ToArray();
        var growing = Growing(batch, insertTs);
        var sealedSeg = WriteAndOpen(batch, insertTs, $"all-v{version}.qseg", version);
        try
        {
            Assert.Equal(version, VersionOf(_dir.Sub($"all-v{version}.qseg")));
            for (var r = 0; r < rows.Count; r++)
            {
                Assert.Equal(r, sealedSeg.FindLive(new PrimaryKey((long)rows[r]["id"]!)));
            }

            using var g = growing.Snapshot();
            using var m = sealedSeg.Snapshot();
            Assert.Equal(rows.Count, m.RowCount);
            Assert.Equal(insertTs.Max(), sealedSeg.MaxInsertTs);
            for (var f = 0; f < schema.Fields.Length; f++)
            {
                if (schema.Fields[f].IsVector)
                {
                    Assert.Equal(g.Vectors[f].All.ToArray(), m.Vectors[f].All.ToArray());
                    Assert.Equal(g.Vectors[f].SquaredNorms[..rows.Count].ToArray(), m.Vectors[f].SquaredNorms.ToArray());
                    continue;
                }

                for (var r = 0; r < rows.Count; r++)
                {
                    AssertSameValue(g.GetColumn(f).GetValue(r), m.GetColumn(f).GetValue(r), $"field {schema.Fields[f].Name}, row {r}");
                    Assert.Equal(g.GetColumn(f).IsNull(r), m.GetColumn(f).IsNull(r));
                }
            }

            for (var r = 0; r < rows.Count; r++)
            {
                AssertSameValue(g.Dynamic!.GetValue(r), m.Dynamic!.GetValue(r), $"dynamic field, row {r}");
                Assert.Equal(insertTs[r], sealedSeg.InsertTsOf(r));
                Assert.True(m.IsVisible(r, insertTs[r]));
                Assert.False(m.IsVisible(r, insertTs[r] - 1));
            }

            // The edge rows, against literal values rather than the growing segment.
            Assert.Equal((long)sbyte.MinValue, m.GetColumn(1).GetValue(0));
            Assert.Equal((long)short.MaxValue, m.GetColumn(2).GetValue(1));
            Assert.Equal((long)int.MinValue, m.GetColumn(3).GetValue(0));
            Assert.Equal(long.MaxValue, m.GetColumn(4).GetValue(1));
            Assert.Equal((double)float.MaxValue, m.GetColumn(5).GetValue(1));
            Assert.Equal(double.MinValue, m.GetColumn(6).GetValue(0));
            Assert.Equal(string.Empty, m.GetColumn(8).GetValue(0));
            Assert.Equal("héllo 🌍 中文 \u0000 end", m.GetColumn(8).GetValue(1));
            Assert.Equal("ünïcode 🌍", ((JsonElement)m.GetColumn(9).GetValue(1)!).GetProperty("s").GetString());
            Assert.Null(m.GetColumn(8).GetValue(2));
            Assert.Null(m.GetColumn(9).GetValue(2));
            Assert.Null(m.Dynamic!.GetValue(1));
        }
        finally
        {
            sealedSeg.Release();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Filter_OnMappedSegment_EqualsFilterOnGrowingSegment_AndTheReference(int seed)
    {
        var rng = new Random(seed);
        var schema = FilterFixture.Schema();
        var rows = Enumerable.Range(0, 300).Select(i => WithVector(FilterDifferentialTests.RandomRow(rng, i))).ToList();
        var batch = RowValidator.Build(schema, [.. rows.Select(ToEngineRow)], upsert: false, autoIds: null);
        var insertTs = new long[rows.Count];
        var growing = Growing(batch, insertTs);
        var sealedSeg = WriteAndOpen(batch, insertTs, $"filter{seed}.qseg");
        try
        {
            using var g = growing.Snapshot();
            using var m = sealedSeg.Snapshot();
            var generator = new FilterDifferentialTests.ExpressionGenerator(rng);
            for (var i = 0; i < 300; i++)
            {
                var expr = generator.Predicate(3);
                var bound = FilterExpression.Parse(expr.Text).Bind(schema, null);
                var onGrowing = SetBits(bound.Evaluate(g));
                var onMapped = SetBits(bound.Evaluate(m));
                var expected = Enumerable.Range(0, rows.Count).Where(r => expr.Eval(rows[r]) == true).ToArray();
                Assert.True(expected.SequenceEqual(onMapped), $"seed {seed}, `{expr.Text}`: mapped segment differs from the reference");
                Assert.True(onGrowing.SequenceEqual(onMapped), $"seed {seed}, `{expr.Text}`: mapped segment differs from the growing one");
            }
        }
        finally
        {
            sealedSeg.Release();
        }
    }

    [Fact]
    public void Open_AllocatesTheSame_WhateverTheRowCount()
    {
        var schema = AllTypesSchema();
        var smallPath = WriteSynthetic(schema, 1_000, "small.qseg");
        var largePath = WriteSynthetic(schema, TestTier.Pick(200_000, 1_000_000), "large.qseg");

        // Once each first, so that JIT compilation and type loading are not counted.
        SegmentFile.Open(Fs, smallPath, schema, 1).Release();
        SegmentFile.Open(Fs, largePath, schema, 1).Release();
        var small = AllocatedByOpen(smallPath, schema);
        var large = AllocatedByOpen(largePath, schema);

        output.WriteLine($"open allocated {small:N0} bytes for 1,000 rows, {large:N0} bytes for {TestTier.Pick(200_000, 1_000_000):N0} rows");

        // Identical work per block: any per-row array (8 bytes x 200,000 rows) would show here by orders of magnitude.
        Assert.True(Math.Abs(large - small) <= 512, $"opening 1,000 rows allocated {small} bytes, the large segment {large}");
        Assert.True(large < 64 * 1024, $"opening allocated {large} bytes");
    }

    [Fact]
    public void Open_VersionOneFile_RewritesItAsVersionTwo_WithTheSameValues()
    {
        var schema = AllTypesSchema();
        var rows = AllTypesRows(new Random(11), 120);
        var batch = RowValidator.Build(schema, rows, upsert: false, autoIds: null);
        var insertTs = Enumerable.Range(0, rows.Count).Select(i => 5L + i).ToArray();
        var path = _dir.Sub("old.qseg");
        V1SegmentWriter.Write(path, 1, 9, batch, insertTs);
        Assert.Equal(1, VersionOf(path));

        var growing = Growing(batch, insertTs);
        var migrated = SegmentFile.Open(Fs, path, schema, 1);
        try
        {
            Assert.Equal(SegmentFile.Version, VersionOf(path));
            Assert.False(File.Exists(path + ".tmp"));
            Assert.Equal(9, migrated.PartitionId);
            Assert.Equal(insertTs.Max(), migrated.MaxInsertTs);
            using var g = growing.Snapshot();
            using var m = migrated.Snapshot();
            for (var f = 0; f < schema.Fields.Length; f++)
            {
                for (var r = 0; r < rows.Count; r++)
                {
                    if (schema.Fields[f].IsVector)
                    {
                        Assert.Equal(g.Vectors[f].Row(r).ToArray(), m.Vectors[f].Row(r).ToArray());
                    }
                    else
                    {
                        AssertSameValue(g.GetColumn(f).GetValue(r), m.GetColumn(f).GetValue(r), $"field {schema.Fields[f].Name}, row {r}");
                    }
                }
            }

            for (var r = 0; r < rows.Count; r++)
            {
                Assert.Equal(insertTs[r], migrated.InsertTsOf(r));
                AssertSameValue(g.Dynamic!.GetValue(r), m.Dynamic!.GetValue(r), $"dynamic field, row {r}");
            }
        }
        finally
        {
            migrated.Release();
        }
    }

    [Fact]
    public async Task Reopen_DataFolderWithVersionOneSegment_MigratesIt_KeepingRowsAndDeletes()
    {
        var schema = TestData.ProductSchema(dynamic: true);
        var rows = Enumerable.Range(0, 200).Select(i => TestData.ProductRow(new Random(i), i)).ToList();
        for (var i = 0; i < rows.Count; i += 3)
        {
            rows[i]["color"] = $"c{i % 4}";
        }

        var query = new QueryRequest { Filter = "id >= 0", OutputFields = ["*"], Limit = 1000 };
        List<Row> before;
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", schema);
            await db.InsertAsync("c", rows);
            await db.FlushAsync("c");
            await db.DeleteAsync("c", [5L, 6L, 150L]);
            await db.FlushAsync("c");
            before = [.. await db.QueryAsync("c", query)];
        }

        // Rewrite the flushed segment in the old format, as a data folder from before version 2 would hold it.
        var path = Directory.GetFiles(_dir.Path, "*.qseg", SearchOption.AllDirectories).Single();
        var id = BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path).AsSpan(16));
        var seg = SegmentFile.Open(Fs, path, schema, id);
        var all = Enumerable.Range(0, seg.Count).ToArray();
        var batch = seg.Extract(all);
        var insertTs = seg.InsertTimestamps(all);
        var partition = seg.PartitionId;
        seg.Release();
        V1SegmentWriter.Write(path, id, partition, batch, insertTs);
        Assert.Equal(1, VersionOf(path));

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            Assert.Equal(SegmentFile.Version, VersionOf(path));
            var after = await db.QueryAsync("c", query);
            Assert.Equal(197, after.Count);
            Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(after));
            var hits = await db.SearchAsync("c", new SearchRequest { Vectors = [(float[])rows[7]["embedding"]!], Limit = 1 });
            Assert.Equal(7L, hits.Hits[0][0].Id);
        }
    }

    [Fact]
    public void Open_VersionOneFile_OnAFullDisk_FailsNamingTheFile_AndLeavesTheOldFileToMigrateLater()
    {
        var schema = AllTypesSchema();
        var rows = AllTypesRows(new Random(3), 50);
        var batch = RowBatch(schema, rows);
        var path = _dir.Sub("old.qseg");
        V1SegmentWriter.Write(path, 1, 0, batch, new long[rows.Count]);
        var original = File.ReadAllBytes(path);
        var fs = new FaultInjectingFileSystem();
        fs.FailWritesAfter(1000);

        var ex = Assert.Throws<IOException>(() => SegmentFile.Open(fs, path, schema, 1));
        Assert.Contains("old.qseg", ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 1", ex.Message, StringComparison.Ordinal);
        Assert.Equal(original, File.ReadAllBytes(path));

        fs.Reset();
        SegmentFile.Open(fs, path, schema, 1).Release();
        Assert.Equal(SegmentFile.Version, VersionOf(path));
    }

    [Fact]
    public void Open_UnknownVersion_IsRefusedNamingTheFileAndVersion()
    {
        var schema = AllTypesSchema();
        var path = WriteSynthetic(schema, 10, "future.qseg");
        var bytes = File.ReadAllBytes(path);
        var future = SegmentFile.Version + 1;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), future);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(52), Crc32C.Compute(bytes.AsSpan(0, 52)));
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<CorruptionException>(() => SegmentFile.Open(Fs, path, schema, 1));
        Assert.Contains($"version {future},", ex.Message, StringComparison.Ordinal);
        Assert.Contains("future.qseg", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Every scalar type, nullable, plus a vector and the dynamic field.</summary>
    internal static CollectionSchema AllTypesSchema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("i8", DataType.Int8, nullable: true),
            FieldSchema.Scalar("i16", DataType.Int16, nullable: true),
            FieldSchema.Scalar("i32", DataType.Int32, nullable: true),
            FieldSchema.Scalar("i64", DataType.Int64, nullable: true),
            FieldSchema.Scalar("f32", DataType.Float, nullable: true),
            FieldSchema.Scalar("f64", DataType.Double, nullable: true),
            FieldSchema.Scalar("flag", DataType.Bool, nullable: true),
            FieldSchema.VarChar("name", 200, nullable: true),
            FieldSchema.Json("doc", nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, 8, maxLength: 40, nullable: true),
            FieldSchema.Array("nums", DataType.Int32, 8, nullable: true),
            FieldSchema.Vector("vec", 3, MetricType.L2),
        ],
        EnableDynamicField = true,
    };

    /// <summary>Row 0 holds minimum values and empty ones, row 1 maximum values and unicode, row 2 nulls everywhere
    /// allowed, the rest random.</summary>
    internal static List<IReadOnlyDictionary<string, object?>> AllTypesRows(Random rng, int count)
    {
        var rows = new List<IReadOnlyDictionary<string, object?>>
        {
            new Dictionary<string, object?>
            {
                ["id"] = 0L, ["i8"] = (long)sbyte.MinValue, ["i16"] = (long)short.MinValue, ["i32"] = (long)int.MinValue,
                ["i64"] = long.MinValue, ["f32"] = (double)float.MinValue, ["f64"] = double.MinValue, ["flag"] = false, ["name"] = string.Empty,
                ["doc"] = Json("{}"), ["tags"] = Json("[]"), ["nums"] = Json("[]"), ["vec"] = new float[] { 0, 0, 0 }, ["extra"] = "kept",
            },
            new Dictionary<string, object?>
            {
                ["id"] = 1L, ["i8"] = (long)sbyte.MaxValue, ["i16"] = (long)short.MaxValue, ["i32"] = (long)int.MaxValue,
                ["i64"] = long.MaxValue, ["f32"] = (double)float.MaxValue, ["f64"] = double.MaxValue, ["flag"] = true,
                ["name"] = "héllo 🌍 中文 \u0000 end", ["doc"] = Json("""{"s": "ünïcode 🌍", "n": [1, 2.5, null, {"deep": true}]}"""),
                ["tags"] = Json("""["ä", "🌍", ""]"""), ["nums"] = Json($"[{int.MinValue}, {int.MaxValue}]"), ["vec"] = new float[] { float.MaxValue / 4, -1, 1e-30f },
            },
            new Dictionary<string, object?>
            {
                ["id"] = 2L, ["i8"] = null, ["i16"] = null, ["i32"] = null, ["i64"] = null, ["f32"] = null, ["f64"] = null, ["flag"] = null,
                ["name"] = null, ["doc"] = null, ["tags"] = null, ["nums"] = null, ["vec"] = new float[] { 1, 2, 3 }, ["n"] = 7L,
            },
        };
        for (var i = rows.Count; i < count; i++)
        {
            bool Maybe(double p) => rng.NextDouble() < p;
            var row = new Dictionary<string, object?>
            {
                ["id"] = (long)i,
                ["i8"] = Maybe(0.2) ? null : (long)rng.Next(sbyte.MinValue, sbyte.MaxValue + 1),
                ["i16"] = Maybe(0.2) ? null : (long)rng.Next(short.MinValue, short.MaxValue + 1),
                ["i32"] = Maybe(0.2) ? null : (long)rng.Next(int.MinValue, int.MaxValue),
                ["i64"] = Maybe(0.2) ? null : rng.NextInt64(long.MinValue, long.MaxValue),
                ["f32"] = Maybe(0.2) ? null : (double)(float)((rng.NextDouble() - 0.5) * 1e6),
                ["f64"] = Maybe(0.2) ? null : (rng.NextDouble() - 0.5) * 1e300,
                ["flag"] = Maybe(0.2) ? null : Maybe(0.5),
                ["name"] = Maybe(0.2) ? null : string.Concat(Enumerable.Range(0, rng.Next(12)).Select(_ => Pieces[rng.Next(Pieces.Length)])),
                ["doc"] = Maybe(0.2) ? null : Json($$"""{"k": {{rng.Next(100)}}, "t": "v{{rng.Next(5)}}"}"""),
                ["tags"] = Maybe(0.2) ? null : Json(JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(j => $"t{j}").ToArray())),
                ["nums"] = Maybe(0.2) ? null : Json(JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next()).ToArray())),
                ["vec"] = new float[] { rng.NextSingle(), rng.NextSingle(), rng.NextSingle() },
            };
            if (Maybe(0.5))
            {
                row["color"] = Maybe(0.5) ? "red" : "blue";
            }

            rows.Add(row);
        }

        return rows;
    }

    private static RowBatch RowBatch(CollectionSchema schema, List<IReadOnlyDictionary<string, object?>> rows) =>
        RowValidator.Build(schema, rows, upsert: false, autoIds: null);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    internal static Dictionary<string, object?> WithVector(Dictionary<string, object?> row)
    {
        row["vec"] = new float[] { (long)row["id"]!, 1 };
        return row;
    }

    /// <summary>The differential generator writes JSON values as text; the engine takes them as elements.</summary>
    internal static IReadOnlyDictionary<string, object?> ToEngineRow(Dictionary<string, object?> row) =>
        row.ToDictionary(kv => kv.Key, kv => kv.Key is "meta" or "tags" or "nums" && kv.Value is string s ? Json(s) : kv.Value);

    private static Segment Growing(RowBatch batch, long[] insertTs)
    {
        var seg = Segment.CreateGrowing(1, 9, batch.Schema, capacity: 16);
        for (var start = 0; start < batch.Count;)
        {
            var end = start + 1;
            while (end < batch.Count && insertTs[end] == insertTs[start])
            {
                end++;
            }

            seg.Append(batch, start, end - start, insertTs[start]);
            start = end;
        }

        return seg;
    }

    private Segment WriteAndOpen(RowBatch batch, long[] insertTs, string name, int version = SegmentFile.Version)
    {
        var path = _dir.Sub(name);
        SegmentFile.Write(Fs, path, 1, 9, batch, insertTs, version: version);
        return SegmentFile.Open(Fs, path, batch.Schema, 1);
    }

    /// <summary>A segment of <paramref name="count"/> rows built column by column (no validator: large counts stay fast).</summary>
    private string WriteSynthetic(CollectionSchema schema, int count, string name)
    {
        var columns = new BatchColumn[schema.Fields.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            var c = BatchColumn.Allocate(schema.Fields[f], count);
            for (var r = 0; r < count; r++)
            {
                if (c.Longs is { } l)
                {
                    l[r] = r % 100;
                }
                else if (c.Doubles is { } d)
                {
                    d[r] = r * 0.5;
                }
                else if (c.Bools is { } b)
                {
                    b[r] = r % 3 == 0;
                }
                else if (c.Strings is { } s)
                {
                    s[r] = $"row {r}";
                }
                else if (c.Json is { } j && r % 2 == 0)
                {
                    j[r] = Json("[1]");
                }
                else if (r % 5 == 0 && schema.Fields[f].Nullable)
                {
                    c.SetNull(r, count);
                }
            }

            columns[f] = c;
        }

        var path = _dir.Sub(name);
        var batch = new RowBatch { Schema = schema, Count = count, Columns = columns, Dynamic = new JsonElement[count] };
        SegmentFile.Write(Fs, path, 1, 0, batch, new long[count]);
        return path;
    }

    private static long AllocatedByOpen(string path, CollectionSchema schema)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var seg = SegmentFile.Open(Fs, path, schema, 1);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        seg.Release();
        return allocated;
    }

    private static int VersionOf(string path) => BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8));

    private static int[] SetBits(Bitmap b) => [.. Enumerable.Range(0, b.Length).Where(i => b[i])];

    private static void AssertSameValue(object? expected, object? actual, string where)
    {
        if (expected is JsonElement e)
        {
            Assert.True(actual is JsonElement, $"{where}: {actual} is not JSON");
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(e.GetRawText()), JsonNode.Parse(((JsonElement)actual).GetRawText())), $"{where}: {e} != {actual}");
            return;
        }

        Assert.Equal(expected, actual);
    }
}
