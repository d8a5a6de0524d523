using System.Text.Json;
using Quiver.Common;

namespace Quiver.Writes;

/// <summary>One field's values for every row of a <see cref="RowBatch"/>, in the canonical form of its type. Exactly one
/// value array is set: <see cref="Longs"/> (integers), <see cref="Doubles"/> (Float, Double), <see cref="Bools"/>,
/// <see cref="Strings"/> (VarChar), <see cref="Json"/> (JSON, Array) or <see cref="Vectors"/> (row-major, Count x dim).</summary>
internal sealed class BatchColumn
{
    public long[]? Longs { get; init; }

    public double[]? Doubles { get; init; }

    public bool[]? Bools { get; init; }

    public string?[]? Strings { get; init; }

    public JsonElement[]? Json { get; init; }

    public float[]? Vectors { get; init; }

    /// <summary>SparseFloatVector values, one per row (null for a null row).</summary>
    public SparseVector?[]? Sparse { get; init; }

    /// <summary>True entries are null; null when no row is null.</summary>
    public bool[]? Nulls { get; set; }

    public static BatchColumn Allocate(FieldSchema field, int count) => field.DataType.Storage() switch
    {
        DataType.Bool => new() { Bools = new bool[count] },
        _ when field.DataType.Storage().IsInteger() => new() { Longs = new long[count] },
        DataType.Float or DataType.Double => new() { Doubles = new double[count] },
        DataType.VarChar => new() { Strings = new string?[count] },
        DataType.Json or DataType.Array => new() { Json = new JsonElement[count] },
        DataType.SparseFloatVector => new() { Sparse = new SparseVector?[count] },
        _ when field.IsVector => new() { Vectors = new float[checked(count * field.VectorWidth())] },
        _ => throw new ArgumentOutOfRangeException(nameof(field), field.DataType, "unsupported type"),
    };

    public void SetNull(int row, int count)
    {
        Nulls ??= new bool[count];
        Nulls[row] = true;
    }

    public void Set(int row, object value)
    {
        switch (value)
        {
            case long l: Longs![row] = l; break;
            case double d: Doubles![row] = d; break;
            case bool b: Bools![row] = b; break;
            case string s: Strings![row] = s; break;
            case JsonElement j: Json![row] = j; break;
            case SparseVector v: Sparse![row] = v; break;
            default: throw new ArgumentException($"unexpected canonical value {value.GetType()}", nameof(value));
        }
    }
}

/// <summary>A validated batch of rows, column by column, ready to be logged and applied. Built by
/// <see cref="RowValidator"/>; once built, every value obeys the schema.</summary>
internal sealed class RowBatch
{
    public required CollectionSchema Schema { get; init; }

    public required int Count { get; init; }

    /// <summary>One entry per schema field, in schema order.</summary>
    public required BatchColumn[] Columns { get; init; }

    /// <summary>Undeclared keys per row as a JSON object (Undefined where a row has none); null without a dynamic field.</summary>
    public JsonElement[]? Dynamic { get; init; }

    public int PrimaryKeyIndex => Schema.Fields.IndexOf(Schema.PrimaryKey);

    /// <summary>A close upper estimate of <see cref="Encode"/>'s output, so the writer is sized once.</summary>
    public int EstimateEncodedSize()
    {
        long size = 16;
        for (var f = 0; f < Columns.Length; f++)
        {
            var c = Columns[f];
            size += 1 + (c.Nulls is null ? 0 : Count);
            if (c.Vectors is { } v)
            {
                size += (long)v.Length * sizeof(float);
            }
            else if (c.Strings is { } strings)
            {
                foreach (var s in strings)
                {
                    size += 4 + (s is null ? 0 : System.Text.Encoding.UTF8.GetMaxByteCount(s.Length));
                }
            }
            else if (c.Json is not null)
            {
                size += Count * 64L;
            }
            else if (c.Sparse is { } sparse)
            {
                size += SparseValues.EncodedSize(sparse);
            }
            else
            {
                size += Count * 8L;
            }
        }

        size += 1 + (Dynamic is null ? 0 : Count * 64L);
        return (int)Math.Min(size, Array.MaxLength);
    }

    /// <summary>The batch as public columns in schema order, sharing its arrays; the primary key column left out
    /// unless <paramref name="includePrimaryKey"/>.</summary>
    public ColumnBatch ToColumns(bool includePrimaryKey)
    {
        var result = new ColumnBatch(Count) { Dynamic = Dynamic };
        for (var f = 0; f < Columns.Length; f++)
        {
            if (f == PrimaryKeyIndex && !includePrimaryKey)
            {
                continue;
            }

            var c = Columns[f];
            result.Add(new FieldColumn
            {
                Name = Schema.Fields[f].Name,
                Longs = c.Longs,
                Doubles = c.Doubles,
                Bools = c.Bools,
                Strings = c.Strings,
                Json = c.Json,
                Vectors = c.Vectors,
                Sparse = c.Sparse,
                Nulls = c.Nulls,
            });
        }

        return result;
    }

    public PrimaryKey Key(int row)
    {
        var c = Columns[PrimaryKeyIndex];
        return c.Longs is { } l ? new PrimaryKey(l[row]) : new PrimaryKey(c.Strings![row]!);
    }

    /// <summary>Writes the batch; with <paramref name="includeVectors"/> false the vector columns are left out (segment files store them apart).</summary>
    public void Encode(ByteWriter w, bool includeVectors = true)
    {
        w.I32(Count);
        for (var f = 0; f < Columns.Length; f++)
        {
            var c = Columns[f];
            if (c.Nulls is { } nulls)
            {
                w.U8(1);
                foreach (var n in nulls)
                {
                    w.U8(n ? (byte)1 : (byte)0);
                }
            }
            else
            {
                w.U8(0);
            }

            if (c.Longs is { } longs)
            {
                w.Raw<long>(longs);
            }
            else if (c.Doubles is { } doubles)
            {
                w.Raw<double>(doubles);
            }
            else if (c.Bools is { } bools)
            {
                foreach (var b in bools)
                {
                    w.U8(b ? (byte)1 : (byte)0);
                }
            }
            else if (c.Strings is { } strings)
            {
                foreach (var s in strings)
                {
                    WriteNullableString(w, s);
                }
            }
            else if (c.Json is { } json)
            {
                foreach (var j in json)
                {
                    WriteJson(w, j);
                }
            }
            else if (c.Sparse is { } sparse)
            {
                SparseValues.Encode(w, sparse);
            }
            else if (includeVectors)
            {
                w.Raw<float>(c.Vectors);
            }
        }

        if (Dynamic is { } dyn)
        {
            w.U8(1);
            foreach (var j in dyn)
            {
                WriteJson(w, j);
            }
        }
        else
        {
            w.U8(0);
        }
    }

    public static RowBatch Decode(CollectionSchema schema, ref ByteReader r, bool includeVectors = true)
    {
        var count = r.I32();
        if (count < 0)
        {
            throw new FormatException($"negative row count {count}");
        }

        var columns = new BatchColumn[schema.Fields.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            var field = schema.Fields[f];
            bool[]? nulls = null;
            if (r.U8() == 1)
            {
                nulls = new bool[count];
                var raw = r.Take(count);
                for (var i = 0; i < count; i++)
                {
                    nulls[i] = raw[i] != 0;
                }
            }

            BatchColumn c;
            if (field.DataType.Storage().IsInteger())
            {
                c = new BatchColumn { Longs = r.Raw<long>(count) };
            }
            else if (field.DataType.IsFloatingPoint())
            {
                c = new BatchColumn { Doubles = r.Raw<double>(count) };
            }
            else if (field.DataType == DataType.Bool)
            {
                var raw = r.Take(count);
                var bools = new bool[count];
                for (var i = 0; i < count; i++)
                {
                    bools[i] = raw[i] != 0;
                }

                c = new BatchColumn { Bools = bools };
            }
            else if (field.DataType.Storage() == DataType.VarChar)
            {
                var strings = new string?[count];
                for (var i = 0; i < count; i++)
                {
                    strings[i] = ReadNullableString(ref r);
                }

                c = new BatchColumn { Strings = strings };
            }
            else if (field.DataType is DataType.Json or DataType.Array)
            {
                var json = new JsonElement[count];
                for (var i = 0; i < count; i++)
                {
                    json[i] = ReadJson(ref r);
                }

                c = new BatchColumn { Json = json };
            }
            else if (field.IsSparseVector)
            {
                c = new BatchColumn { Sparse = SparseValues.Decode(ref r, count) };
            }
            else
            {
                c = includeVectors ? new BatchColumn { Vectors = r.Raw<float>(checked(count * field.VectorWidth())) } : new BatchColumn();
            }

            c.Nulls = nulls;
            columns[f] = c;
        }

        JsonElement[]? dynamic = null;
        if (r.U8() == 1)
        {
            dynamic = new JsonElement[count];
            for (var i = 0; i < count; i++)
            {
                dynamic[i] = ReadJson(ref r);
            }
        }

        return new RowBatch { Schema = schema, Count = count, Columns = columns, Dynamic = dynamic };
    }

    private static void WriteNullableString(ByteWriter w, string? s)
    {
        if (s is null)
        {
            w.I32(-1);
        }
        else
        {
            w.Str(s);
        }
    }

    private static string? ReadNullableString(ref ByteReader r)
    {
        var n = r.I32();
        if (n == -1)
        {
            return null;
        }

        return System.Text.Encoding.UTF8.GetString(r.Take(n));
    }

    internal static void WriteJson(ByteWriter w, JsonElement j)
    {
        if (j.ValueKind == JsonValueKind.Undefined)
        {
            w.I32(-1);
            return;
        }

        var text = JsonSerializer.SerializeToUtf8Bytes(j);
        w.I32(text.Length);
        w.Bytes(text);
    }

    internal static JsonElement ReadJson(ref ByteReader r)
    {
        var n = r.I32();
        if (n == -1)
        {
            return default;
        }

        using var doc = JsonDocument.Parse(r.Take(n).ToArray());
        return doc.RootElement.Clone();
    }
}

/// <summary>Batch helpers used by compaction.</summary>
internal static class RowBatches
{
    /// <summary>Concatenates batches of one schema into one.</summary>
    public static RowBatch Concat(CollectionSchema schema, IReadOnlyList<RowBatch> parts)
    {
        if (parts.Count == 1)
        {
            return parts[0];
        }

        var total = 0;
        foreach (var p in parts)
        {
            total += p.Count;
        }

        var columns = new BatchColumn[schema.Fields.Length];
        for (var f = 0; f < columns.Length; f++)
        {
            var field = schema.Fields[f];
            if (field.IsVector && parts[0].Columns[f].Vectors is null)
            {
                // Parts extracted without vectors (a merge writes them from their own arrays) concatenate without them,
                // but with their null flags (a nullable vector field's).
                columns[f] = new BatchColumn { Nulls = ConcatNulls(parts, f, total) };
                continue;
            }

            var c = BatchColumn.Allocate(field, total);
            var at = 0;
            foreach (var p in parts)
            {
                var src = p.Columns[f];
                if (field.IsVector)
                {
                    var dim = field.VectorWidth();
                    Array.Copy(src.Vectors!, 0, c.Vectors!, (long)at * dim, (long)p.Count * dim);
                }
                else
                {
                    CopyScalars(src, c, at, p.Count, total);
                }

                at += p.Count;
            }

            if (field.IsVector)
            {
                c.Nulls = ConcatNulls(parts, f, total);
            }

            columns[f] = c;
        }

        JsonElement[]? dynamic = null;
        if (schema.EnableDynamicField)
        {
            dynamic = new JsonElement[total];
            var at = 0;
            foreach (var p in parts)
            {
                p.Dynamic?.CopyTo(dynamic, at);
                at += p.Count;
            }
        }

        return new RowBatch { Schema = schema, Count = total, Columns = columns, Dynamic = dynamic };
    }

    /// <summary>The null flags of field <paramref name="f"/> over all parts, or null when no row is null.</summary>
    private static bool[]? ConcatNulls(IReadOnlyList<RowBatch> parts, int f, int total)
    {
        bool[]? nulls = null;
        var at = 0;
        foreach (var p in parts)
        {
            if (p.Columns[f].Nulls is { } n)
            {
                nulls ??= new bool[total];
                Array.Copy(n, 0, nulls, at, p.Count);
            }

            at += p.Count;
        }

        return nulls;
    }

    private static void CopyScalars(BatchColumn src, BatchColumn dst, int at, int count, int total)
    {
        if (src.Longs is { } l)
        {
            l.CopyTo(dst.Longs!, at);
        }
        else if (src.Doubles is { } d)
        {
            d.CopyTo(dst.Doubles!, at);
        }
        else if (src.Bools is { } b)
        {
            b.CopyTo(dst.Bools!, at);
        }
        else if (src.Strings is { } s)
        {
            s.CopyTo(dst.Strings!, at);
        }
        else if (src.Sparse is { } sv)
        {
            sv.CopyTo(dst.Sparse!, at);
        }
        else
        {
            src.Json!.CopyTo(dst.Json!, at);
        }

        if (src.Nulls is { } n)
        {
            for (var i = 0; i < count; i++)
            {
                if (n[i])
                {
                    dst.SetNull(at + i, total);
                }
            }
        }
    }
}
