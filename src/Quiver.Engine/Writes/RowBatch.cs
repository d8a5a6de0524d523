using System.Text.Json;
using Quiver.Common;

namespace Quiver.Writes;

/// <summary>The engine's byte form of a <see cref="RowBatch"/> (a WAL record's rows, a segment's scalar block); the
/// batch itself lives with the value rules (Quiver.Values).</summary>
internal static class RowBatchCodec
{
    extension(RowBatch batch)
    {
        /// <summary>A close upper estimate of <see cref="Encode"/>'s output, so the writer is sized once.</summary>
        public int EstimateEncodedSize()
        {
            long size = 16;
            for (var f = 0; f < batch.Columns.Length; f++)
            {
                var c = batch.Columns[f];
                size += 1 + (c.Nulls is null ? 0 : batch.Count);
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
                    size += batch.Count * 64L;
                }
                else if (c.Sparse is { } sparse)
                {
                    size += SparseCodec.EncodedSize(sparse);
                }
                else
                {
                    size += batch.Count * 8L;
                }
            }

            size += 1 + (batch.Dynamic is null ? 0 : batch.Count * 64L);
            return (int)Math.Min(size, Array.MaxLength);
        }

        /// <summary>Writes the batch; with <paramref name="includeVectors"/> false the vector columns are left out (segment files store them apart).</summary>
        public void Encode(ByteWriter w, bool includeVectors = true)
        {
            w.I32(batch.Count);
            for (var f = 0; f < batch.Columns.Length; f++)
            {
                var c = batch.Columns[f];
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
                    SparseCodec.Encode(w, sparse);
                }
                else if (includeVectors)
                {
                    w.Raw<float>(c.Vectors);
                }
            }

            if (batch.Dynamic is { } dyn)
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
                c = new BatchColumn { Sparse = SparseCodec.Decode(ref r, count) };
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
