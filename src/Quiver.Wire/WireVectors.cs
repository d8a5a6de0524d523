using Google.Protobuf;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Milvus's <c>schema.VectorField</c> for the dense vector types and the engine's float32 columns: FLOAT in
/// <c>float_vector</c>, FLOAT16 / BFLOAT16 / INT8 / BINARY as little-endian bytes in <c>float16_vector</c>,
/// <c>bfloat16_vector</c>, <c>int8_vector</c> and <c>binary_vector</c> (BINARY: dim/8 bytes a row). Converted by
/// <see cref="VectorCodec"/>, so a row read here and written back is the same bytes.</summary>
public static class WireVectors
{
    /// <summary>The bytes a vector field carries for a non-FLOAT type, or null when it carries none of that type.</summary>
    public static ByteString? BytesOf(Quiver.DataType type, VectorField v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return type switch
        {
            Quiver.DataType.Float16Vector when v.DataCase == VectorField.DataOneofCase.Float16Vector => v.Float16Vector,
            Quiver.DataType.BFloat16Vector when v.DataCase == VectorField.DataOneofCase.Bfloat16Vector => v.Bfloat16Vector,
            Quiver.DataType.Int8Vector when v.DataCase == VectorField.DataOneofCase.Int8Vector => v.Int8Vector,
            Quiver.DataType.BinaryVector when v.DataCase == VectorField.DataOneofCase.BinaryVector => v.BinaryVector,
            _ => null,
        };
    }

    /// <summary>Rows a vector column carries at dimension <paramref name="dim"/>, whatever its type (0 when it is empty or
    /// the dimension is unknown).</summary>
    public static long RowCount(VectorField v, long dim)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (dim <= 0)
        {
            return 0;
        }

        return v.DataCase switch
        {
            VectorField.DataOneofCase.FloatVector => v.FloatVector.Data.Count / dim,
            VectorField.DataOneofCase.Float16Vector => v.Float16Vector.Length / (2 * dim),
            VectorField.DataOneofCase.Bfloat16Vector => v.Bfloat16Vector.Length / (2 * dim),
            VectorField.DataOneofCase.Int8Vector => v.Int8Vector.Length / dim,
            VectorField.DataOneofCase.BinaryVector => v.BinaryVector.Length / Math.Max(1, dim / 8),
            _ => 0,
        };
    }

    /// <summary>The engine type a result column's vector data stands for.</summary>
    public static Quiver.DataType? TypeOf(VectorField v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return v.DataCase switch
        {
            VectorField.DataOneofCase.FloatVector => Quiver.DataType.FloatVector,
            VectorField.DataOneofCase.Float16Vector => Quiver.DataType.Float16Vector,
            VectorField.DataOneofCase.Bfloat16Vector => Quiver.DataType.BFloat16Vector,
            VectorField.DataOneofCase.Int8Vector => Quiver.DataType.Int8Vector,
            VectorField.DataOneofCase.BinaryVector => Quiver.DataType.BinaryVector,
            _ => null,
        };
    }

    /// <summary>Reads <paramref name="rows"/> rows of a FLOAT16, BFLOAT16, INT8 or BINARY column into engine slots;
    /// throws an invalid-argument error naming the field when the data is of another type or of the wrong length.</summary>
    public static float[] Read(FieldSchema field, VectorField v, int rows, string op)
    {
        ArgumentNullException.ThrowIfNull(field);
        var dim = field.Dimension!.Value;
        if (BytesOf(field.DataType, v) is not { } bytes)
        {
            throw Invalid($"{op}: field '{field.Name}' is a {field.DataType} field, but fields_data carries {v.DataCase} data");
        }

        // Milvus's proxy (CheckAligned) requires the data's dim to equal the schema's; 0 is no exception.
        if (v.Dim != dim)
        {
            throw Invalid($"{op}: the dim ({v.Dim}) of field data ({field.Name}) is not equal to schema dim ({dim})");
        }

        var rowBytes = VectorCodec.WireBytes(field.DataType, dim);
        if (bytes.Length != (long)rowBytes * rows)
        {
            throw Invalid($"{op}: field '{field.Name}' ({field.DataType}, dim {dim}) carries {bytes.Length} bytes for {rows} rows; expected {(long)rowBytes * rows} ({rowBytes} per row)");
        }

        var slots = new float[(long)VectorCodec.Width(field) * rows];
        if (VectorCodec.Decode(field, bytes.Span, rows, slots) is { } error)
        {
            throw Invalid($"{op}: field '{field.Name}': {error}");
        }

        return slots;
    }

    /// <summary>The wire column of engine slots for a non-FLOAT vector field.</summary>
    public static VectorField Write(FieldSchema field, ReadOnlySpan<float> slots)
    {
        ArgumentNullException.ThrowIfNull(field);
        var bytes = UnsafeByteOperations.UnsafeWrap(VectorCodec.Encode(field, slots));
        var v = new VectorField { Dim = field.Dimension!.Value };
        switch (field.DataType)
        {
            case Quiver.DataType.Float16Vector:
                v.Float16Vector = bytes;
                break;
            case Quiver.DataType.BFloat16Vector:
                v.Bfloat16Vector = bytes;
                break;
            case Quiver.DataType.Int8Vector:
                v.Int8Vector = bytes;
                break;
            default:
                v.BinaryVector = bytes;
                break;
        }

        return v;
    }

    /// <summary>Query vectors of a placeholder value for a FLOAT16, BFLOAT16, INT8 or BINARY field: each value holds one
    /// row in the field's wire form. Added to <paramref name="queries"/> in the engine's query form (numbers: the
    /// components, or for BINARY the byte values 0..255). Null on success, else what is wrong.</summary>
    public static string? ReadQueries(FieldSchema field, IReadOnlyList<ByteString> values, List<float[]> queries)
    {
        ArgumentNullException.ThrowIfNull(values);
        for (var i = 0; i < values.Count; i++)
        {
            if (ReadQuery(field, values[i].Span, i, queries) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>Query vector <paramref name="index"/> of a search on a FLOAT16, BFLOAT16, INT8 or BINARY field, given as
    /// one row in the field's wire form (from a placeholder value, or from a REST body read for the field), added to
    /// <paramref name="queries"/> as <see cref="ReadQueries"/> adds it. Null on success, else what is wrong.</summary>
    public static string? ReadQuery(FieldSchema field, ReadOnlySpan<byte> row, int index, List<float[]> queries)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(queries);
        var dim = field.Dimension!.Value;
        var rowBytes = VectorCodec.WireBytes(field.DataType, dim);
        if (row.Length != rowBytes)
        {
            return $"query vector {index} has {row.Length} bytes; a {field.DataType} of dim {dim} takes {rowBytes}";
        }

        var q = new float[field.DataType == Quiver.DataType.BinaryVector ? rowBytes : dim];
        if (field.DataType == Quiver.DataType.BinaryVector)
        {
            for (var j = 0; j < rowBytes; j++)
            {
                q[j] = row[j];
            }
        }
        else if (VectorCodec.Decode(field, row, 1, q) is { } error)
        {
            return $"query vector {index}: {error}";
        }

        queries.Add(q);
        return null;
    }

    private static QuiverException Invalid(string message) => new(QuiverErrorCode.InvalidArgument, message);
}
