using Quiver.Common;

namespace Quiver;

/// <summary>Sparse vectors through the WAL's row encoding: a row is an Int32 pair count (-1 for a null row) followed by
/// its pairs in Milvus's byte form.</summary>
internal static class SparseCodec
{
    /// <summary>Bytes <see cref="Encode"/> writes for <paramref name="rows"/>.</summary>
    public static long EncodedSize(ReadOnlySpan<SparseVector?> rows)
    {
        long size = 0;
        foreach (var v in rows)
        {
            size += 4 + ((long)(v?.Count ?? 0) * SparseVector.PairBytes);
        }

        return size;
    }

    /// <summary>Writes each row as its pair count (-1: null) and its pairs.</summary>
    public static void Encode(ByteWriter w, SparseVector?[] rows)
    {
        foreach (var v in rows)
        {
            if (v is null)
            {
                w.I32(-1);
                continue;
            }

            w.I32(v.Count);
            v.WriteBytes(w.Reserve(v.Count * SparseVector.PairBytes));
        }
    }

    /// <summary>Reads <paramref name="count"/> rows written by <see cref="Encode"/>; a row that does not check is a
    /// <see cref="FormatException"/> (the log holds only validated rows, so it means damage).</summary>
    public static SparseVector?[] Decode(ref ByteReader r, int count)
    {
        var rows = new SparseVector?[count];
        for (var i = 0; i < count; i++)
        {
            var n = r.I32();
            if (n == -1)
            {
                continue;
            }

            if (n < 0 || (long)n * SparseVector.PairBytes > r.Remaining)
            {
                throw new FormatException($"sparse row {i} has {n} pairs");
            }

            rows[i] = SparseVector.TryFromStoredBytes(r.Take(n * SparseVector.PairBytes), out var error)
                ?? throw new FormatException($"sparse row {i}: {error}");
        }

        return rows;
    }
}

/// <summary>Schema rules of a <see cref="DataType.SparseFloatVector"/> field.</summary>
internal static class SparseSchema
{
    public static void Validate(FieldSchema f)
    {
        if (f.Dimension is not null)
        {
            Throw.Invalid($"sparse vector field '{f.Name}' takes no dimension (its rows say theirs)");
        }

        if (f.Metric is not (MetricType.IP or MetricType.BM25))
        {
            Throw.Invalid($"sparse vector field '{f.Name}' supports metric IP only (BM25 when a BM25 function writes it), got {f.Metric}");
        }

        VectorFieldRules.RefuseDefault(f);
    }
}
