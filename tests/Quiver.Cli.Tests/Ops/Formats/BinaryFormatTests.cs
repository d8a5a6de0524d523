using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Quiver.Toolbox.Formats;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Ops.Formats;

/// <summary>Parquet, .npy and .fvecs through <see cref="RowFormats"/>: round trips and malformed files.</summary>
public sealed class BinaryFormatTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-binfmt");

    public void Dispose() => _dir.Dispose();

    /// <summary>Every field type, nullable and not, plus the dynamic field.</summary>
    private static readonly CollectionSchema AllTypes = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("i32", DataType.Int32, nullable: true),
            FieldSchema.Scalar("i16", DataType.Int16),
            FieldSchema.Scalar("i8", DataType.Int8, nullable: true),
            FieldSchema.Scalar("flag", DataType.Bool, nullable: true),
            FieldSchema.Scalar("f", DataType.Float),
            FieldSchema.Scalar("d", DataType.Double, nullable: true),
            FieldSchema.VarChar("s", 64, nullable: true),
            FieldSchema.Json("j", nullable: true),
            FieldSchema.Array("ints", DataType.Int64, 8, nullable: true),
            FieldSchema.Array("words", DataType.VarChar, 8, maxLength: 16),
            FieldSchema.Array("reals", DataType.Double, 8, nullable: true),
            FieldSchema.Array("bits", DataType.Bool, 8, nullable: true),
            FieldSchema.Vector("vec", 4, MetricType.L2),
        ],
        EnableDynamicField = true,
    };

    private static Row AllTypesRow(long id, bool nulls) => new()
    {
        ["id"] = id,
        ["i32"] = nulls ? null : (int)(id * 1000),
        ["i16"] = (short)(-id),
        ["i8"] = nulls ? null : (sbyte)(id % 100),
        ["flag"] = nulls ? null : id % 2 == 0,
        ["f"] = id + 0.5f,
        ["d"] = nulls ? null : id / 3.0,
        ["s"] = nulls ? null : $"row {id} é",
        ["j"] = nulls ? null : JsonSerializer.SerializeToElement(new { a = id, b = new[] { "x" } }),
        ["ints"] = nulls ? null : JsonSerializer.SerializeToElement(new[] { id, -id }),
        ["words"] = JsonSerializer.SerializeToElement(id % 3 == 0 ? Array.Empty<string>() : ["w" + id]),
        ["reals"] = nulls ? null : JsonSerializer.SerializeToElement(new[] { 1.25, id }),
        ["bits"] = nulls ? null : JsonSerializer.SerializeToElement(new[] { true, false }),
        ["vec"] = new[] { id, 1f, -2.5f, 0.125f },
        ["extra"] = JsonSerializer.SerializeToElement(id % 2 == 0 ? "even" : "odd"),
    };

    [Fact]
    public async Task Parquet_EveryType_RoundTripsThroughWriterAndReader()
    {
        var path = _dir.Sub("all.parquet");
        var rows = Enumerable.Range(1, 7).Select(i => AllTypesRow(i, nulls: i % 2 == 0)).ToList();
        await using (var writer = RowFormats.OpenWriter(path, RowFormat.Parquet, AllTypes, new FormatOptions()))
        {
            await writer.WriteAsync(rows[..4], CancellationToken.None);
            await writer.WriteAsync(rows[4..], CancellationToken.None);
            await writer.CompleteAsync(CancellationToken.None);
        }

        await using var reader = RowFormats.OpenReader(path, RowFormat.Parquet, AllTypes, new FormatOptions());
        Assert.Equal(7, reader.TotalRows);
        var back = await ReadAllAsync(reader, 0);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), back.Select(r => r.Number));
        for (var i = 0; i < rows.Count; i++)
        {
            var want = rows[i];
            var got = back[i].Values!;
            Assert.Null(back[i].Error);
            var nulls = (i + 1) % 2 == 0;
            Assert.Equal(want["id"], got["id"]);
            Assert.Equal(nulls ? null : (long)(int)want["i32"]!, got["i32"]);
            Assert.Equal((long)(short)want["i16"]!, got["i16"]);
            Assert.Equal(nulls ? null : (long)(sbyte)want["i8"]!, got["i8"]);
            Assert.Equal(want["flag"], got["flag"]);
            Assert.Equal(want["f"], got["f"]);
            Assert.Equal(want["d"], got["d"]);
            Assert.Equal(want["s"], got["s"]);
            Assert.Equal(nulls ? null : ((JsonElement)want["j"]!).GetRawText(), got["j"]);
            Assert.Equal(nulls ? null : new List<object?> { i + 1L, -(i + 1L) }, got["ints"]);
            Assert.Equal((i + 1) % 3 == 0 ? [] : new List<object?> { "w" + (i + 1) }, got["words"]);
            Assert.Equal(nulls ? null : new List<object?> { 1.25, (double)(i + 1) }, got["reals"]);
            Assert.Equal(nulls ? null : new List<object?> { true, false }, got["bits"]);
            Assert.Equal((float[])want["vec"]!, (float[])got["vec"]!);
            Assert.Equal($"{{\"extra\":\"{((i + 1) % 2 == 0 ? "even" : "odd")}\"}}", got["$meta"]);
        }

        // Resuming skips whole row groups and then rows, keeping the file's numbering.
        Assert.Equal([6L, 7L], (await ReadAllAsync(reader, 5)).Select(r => r.Number));
    }

    [Fact]
    public async Task Parquet_ExportImport_ThroughTheEngine_KeepsEveryValue()
    {
        using var data = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(data.Path);
        await engine.CreateCollectionAsync("a", AllTypes);
        await engine.CreateCollectionAsync("b", AllTypes);
        await engine.InsertAsync("a", [.. Enumerable.Range(1, 20).Select(i => (IReadOnlyDictionary<string, object?>)AllTypesRow(i, i % 3 == 0))]);
        var original = await engine.QueryAsync("a", new QueryRequest { Filter = "id > 0", OutputFields = ["*"] });

        var path = _dir.Sub("a.parquet");
        await using (var writer = RowFormats.OpenWriter(path, RowFormat.Parquet, AllTypes, new FormatOptions()))
        {
            await writer.WriteAsync(original, CancellationToken.None);
            await writer.CompleteAsync(CancellationToken.None);
        }

        await using (var reader = RowFormats.OpenReader(path, RowFormat.Parquet, AllTypes, new FormatOptions()))
        {
            var rows = await ReadAllAsync(reader, 0);
            await engine.InsertAsync("b", [.. rows.Select(r => r.Values!)]);
        }

        var copy = await engine.QueryAsync("b", new QueryRequest { Filter = "id > 0", OutputFields = ["*"] });
        Assert.Equal(original.Select(Canonical), copy.Select(Canonical));
    }

    [Fact]
    public async Task Parquet_ColumnOfTheWrongType_NamesColumnAndExpectedType()
    {
        var path = _dir.Sub("wrong.parquet");
        var id = new DataField<string>("id");
        var vec = new ListField("vec", new DataField<float>("element"));
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, vec), file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, new[] { "a" });
            var item = (DataField)vec.Item;
            await group.WriteAllPartsAsync<float>(item, new float[] { 1, 2, 3, 4 }, new[] { 2, 2, 2, 2 }, new[] { 0, 1, 1, 1 }, CancellationToken.None);
        }

        var e = Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(path, RowFormat.Parquet, AllTypes, new FormatOptions()));
        Assert.Contains("column 'id' is a string column", e.Message);
        Assert.Contains("an integer column (int64)", e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public async Task Parquet_VectorOfTheWrongLength_IsARowErrorNamingBothDimensions()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 4)] };
        var path = _dir.Sub("dims.parquet");
        var id = new DataField<long>("id");
        var vec = new ListField("vec", new DataField<double>("element"));
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, vec), file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<long>(id, new long[] { 1, 2 });
            var item = (DataField)vec.Item;
            await group.WriteAllPartsAsync<double>(item, new double[] { 1, 2, 3, 4, 5, 6, 7 }, new[] { 2, 2, 2, 2, 2, 2, 2 }, new[] { 0, 1, 1, 1, 0, 1, 1 }, CancellationToken.None);
        }

        await using var reader = RowFormats.OpenReader(path, RowFormat.Parquet, schema, new FormatOptions());
        var rows = await ReadAllAsync(reader, 0);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, (float[])rows[0].Values!["vec"]!);
        Assert.Null(rows[1].Values);
        Assert.Equal(2, rows[1].Number);
        Assert.Contains("field 'vec': vector of 3 values, the field's dimension is 4", rows[1].Error);
    }

    [Fact]
    public async Task Parquet_ColumnsThatAreNoField_AreDynamicKeys_OrRefusedWithoutADynamicField()
    {
        var path = _dir.Sub("extra.parquet");
        var id = new DataField<int>("id");
        var vec = new ListField("vec", new DataField<float>("element"));
        var color = new DataField<string>("color", true);
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, vec, color), file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(id, new[] { 7 });
            await group.WriteAllPartsAsync<float>((DataField)vec.Item, new float[] { 1, 2 }, new[] { 2, 2 }, new[] { 0, 1 }, CancellationToken.None);
            await group.WriteAsync(color, new[] { "red" });
        }

        var dynamic = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 2)], EnableDynamicField = true };
        await using (var reader = RowFormats.OpenReader(path, RowFormat.Parquet, dynamic, new FormatOptions()))
        {
            var row = Assert.Single(await ReadAllAsync(reader, 0));
            Assert.Equal((7L, "red"), ((long)row.Values!["id"]!, (string)row.Values["color"]!));
        }

        var closed = dynamic with { EnableDynamicField = false };
        var e = Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(path, RowFormat.Parquet, closed, new FormatOptions()));
        // The file's own column name is not quoted (it is the file's content); its position is.
        Assert.Matches("column [0-9]+ is no field of the collection, which has no dynamic field", e.Message);
        Assert.DoesNotContain("color", e.Message, StringComparison.Ordinal);

        var required = closed with { Fields = [.. closed.Fields, FieldSchema.VarChar("title", 8)] };
        File.Delete(path);
        await using (var file = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, vec), file);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>(id, new[] { 7 });
            await group.WriteAllPartsAsync<float>((DataField)vec.Item, new float[] { 1, 2 }, new[] { 2, 2 }, new[] { 0, 1 }, CancellationToken.None);
        }

        Assert.Contains("no column 'title', and field 'title' (VarChar) is required",
            Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(path, RowFormat.Parquet, required, new FormatOptions())).Message);
    }

    [Fact]
    public void Parquet_MissingRequiredColumnOrNotParquet_IsRefusedAtOpen()
    {
        var notParquet = _dir.Sub("x.parquet");
        File.WriteAllText(notParquet, "id,vec\n1,[1,2,3,4]\n");
        Assert.Contains("not a readable Parquet file", Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(notParquet, RowFormat.Parquet, AllTypes, new FormatOptions())).Message);
    }

    [Fact]
    public async Task Writer_DisposedWithoutComplete_LeavesNoFile()
    {
        foreach (var (name, format) in new[] { ("p.parquet", RowFormat.Parquet), ("v.npy", RowFormat.Npy), ("v.fvecs", RowFormat.Fvecs) })
        {
            var path = _dir.Sub(name);
            await using (var writer = RowFormats.OpenWriter(path, format, AllTypes, new FormatOptions()))
            {
                await writer.WriteAsync([AllTypesRow(1, false)], CancellationToken.None);
            }

            Assert.Empty(Directory.EnumerateFiles(_dir.Path, name + "*"));
        }
    }

    [Theory]
    [InlineData("v.npy")]
    [InlineData("v.fvecs")]
    public async Task Vectors_RoundTrip_KeysFromIdStart(string name)
    {
        var format = RowFormats.Resolve(name, null);
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("note", DataType.Int32, nullable: true), FieldSchema.Vector("vec", 3)] };
        var rng = new Random(7);
        var rows = Enumerable.Range(0, 2500).Select(i => new Row { ["id"] = (long)i, ["vec"] = TestData.Vector(rng, 3) }).ToList();
        var path = _dir.Sub(name);
        await using (var writer = RowFormats.OpenWriter(path, format, schema, new FormatOptions()))
        {
            await writer.WriteAsync(rows[..1000], CancellationToken.None);
            await writer.WriteAsync(rows[1000..], CancellationToken.None);
            await writer.CompleteAsync(CancellationToken.None);
        }

        await using var reader = RowFormats.OpenReader(path, format, schema, new FormatOptions { IdStart = 100 });
        Assert.Equal(2500, reader.TotalRows);
        var back = await ReadAllAsync(reader, 0);
        Assert.Equal(2500, back.Count);
        for (var i = 0; i < back.Count; i++)
        {
            Assert.Equal(i + 1L, back[i].Number);
            Assert.Equal(100L + i, back[i].Values!["id"]);
            Assert.Equal((float[])rows[i]["vec"]!, (float[])back[i].Values!["vec"]!);
        }

        var resumed = await ReadAllAsync(reader, 2498);
        Assert.Equal([2499L, 2500L], resumed.Select(r => r.Number));
        Assert.Equal(2599L, resumed[1].Values!["id"]);
    }

    [Fact]
    public async Task Npy_AutoIdKeyAndFloat64_GiveVectorsOnly()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id", autoId: true), FieldSchema.Vector("vec", 2)] };
        var path = _dir.Sub("f8.npy");
        VectorFile.Write<long>(path, new long[] { 1, 2, 3, 4 }, 2);

        // Rewrite the dtype: same byte width, so the file stays whole: an int64 file read as float64.
        var bytes = File.ReadAllBytes(path);
        var header = System.Text.Encoding.ASCII.GetString(bytes, 10, 60).Replace("<i8", "<f8", StringComparison.Ordinal);
        System.Text.Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        BitConverter.GetBytes(1.5).CopyTo(bytes, bytes.Length - 32);
        File.WriteAllBytes(path, bytes);

        await using var reader = RowFormats.OpenReader(path, RowFormat.Npy, schema, new FormatOptions());
        var rows = await ReadAllAsync(reader, 0);
        Assert.Equal(2, rows.Count);
        Assert.False(rows[0].Values!.ContainsKey("id"));
        Assert.Equal(1.5f, ((float[])rows[0].Values!["vec"]!)[0]);
    }

    [Fact]
    public void Npy_Truncated_NamesFileRowAndOffset()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 4)] };
        var path = _dir.Sub("t.npy");
        VectorFile.Write<float>(path, new float[10 * 4], 4);
        using (var f = File.OpenWrite(path))
        {
            f.SetLength(f.Length - 10);
        }

        // 128-byte header, 16 bytes a row, 150 data bytes left: 9 whole rows, row 10 starts at byte 128 + 9 * 16 = 272.
        var e = Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(path, RowFormat.Npy, schema, new FormatOptions()));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("row 10 of 10 starts at byte offset 272", e.Message);
    }

    [Fact]
    public void Fvecs_Truncated_NamesFileRowAndOffset()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 4)] };
        var path = _dir.Sub("t.fvecs");
        VectorFile.Write<float>(path, new float[3 * 4], 4);
        using (var f = File.OpenWrite(path))
        {
            f.SetLength(f.Length - 5);
        }

        var e = Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(path, RowFormat.Fvecs, schema, new FormatOptions()));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains("row 3 starting at byte offset 40", e.Message);
    }

    [Fact]
    public void Npy_WrongDtypeOrDimension_IsRefusedNamingBoth()
    {
        var schema = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 4)] };
        var ids = _dir.Sub("ids.npy");
        VectorFile.Write<long>(ids, new long[8], 4);
        Assert.Contains("holds int64 values; expected float vectors", Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(ids, RowFormat.Npy, schema, new FormatOptions())).Message);

        var narrow = _dir.Sub("narrow.npy");
        VectorFile.Write<float>(narrow, new float[9], 3);
        var e = Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(narrow, RowFormat.Npy, schema, new FormatOptions()));
        Assert.Contains("vectors of dimension 3, but field 'vec' has dimension 4", e.Message);

        var required = new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 8), FieldSchema.Vector("vec", 4)] };
        Assert.Contains("field 'title' (VarChar) is required", Assert.Throws<ToolboxException>(() => RowFormats.OpenReader(narrow, RowFormat.Npy, required, new FormatOptions())).Message);
    }

    private static async Task<List<SourceRow>> ReadAllAsync(IRowReader reader, long skip)
    {
        var rows = new List<SourceRow>();
        await foreach (var row in reader.ReadAsync(skip, CancellationToken.None))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static string Canonical(Row row) =>
        JsonSerializer.Serialize(new SortedDictionary<string, object?>(row, StringComparer.Ordinal));
}
