using Google.Protobuf;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Sparse float vectors on Milvus's wire: a <c>VectorField</c> whose <c>sparse_float_vector</c> holds one byte
/// string per row (little-endian uint32 index and float32 value pairs, indices ascending) and <c>dim</c> = the largest
/// index + 1 over the rows. Shared by the server (requests) and the client (results).</summary>
public static class SparseVectors
{
    /// <summary>Rows a sparse column carries.</summary>
    public static int RowCount(VectorField vectors)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        return vectors.SparseFloatVector?.Contents.Count ?? 0;
    }

    /// <summary>The column of a sparse field, each row parsed and checked (<see cref="SparseVector.TryFromBytes"/>);
    /// InvalidArgument naming the operation, row and problem otherwise.</summary>
    public static FieldColumn Read(FieldSchema field, FieldData column, int rows, string op)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(column);
        if (column.Vectors?.SparseFloatVector is not { } data)
        {
            throw Invalid($"{op}: field '{field.Name}' is a SparseFloatVector field, but fields_data carries no sparse_float_vector data");
        }

        if (data.Contents.Count != rows)
        {
            throw Invalid($"{op}: field '{field.Name}' carries {data.Contents.Count} sparse rows for {rows} rows");
        }

        // The dim says how wide the rows are (the largest index + 1); a negative one describes no vector. The rows' own
        // indices are what is stored, so any dim of 0 or more is taken as Milvus takes it.
        if (Math.Min(column.Vectors.Dim, data.Dim) is var dim and < 0)
        {
            throw Invalid($"{op}: field '{field.Name}': a sparse vector's dim of {dim} is negative; dim is the largest index + 1 (or 0)");
        }

        var values = new SparseVector?[rows];
        for (var r = 0; r < rows; r++)
        {
            values[r] = Parse(data.Contents[r].Span, out var error)
                ?? throw Invalid($"{op}: row {r}, field '{field.Name}': {error}");
        }

        return new FieldColumn { Name = field.Name, Sparse = values };
    }

    /// <summary>One row's bytes as a checked vector; null with <paramref name="error"/> naming the problem.</summary>
    public static SparseVector? Parse(ReadOnlySpan<byte> bytes, out string? error) =>
        SparseVector.TryFromBytes(bytes, out error) is { } v ? v : null;

    /// <summary>The wire column of sparse rows (a null row of a column without valid_data is sent as an empty vector).</summary>
    public static VectorField Write(IReadOnlyList<SparseVector?> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var array = new SparseFloatArray();
        long dim = 0;
        foreach (var v in rows)
        {
            var vector = v ?? SparseVector.Empty;
            array.Contents.Add(UnsafeByteOperations.UnsafeWrap(vector.ToBytes()));
            dim = Math.Max(dim, vector.Dimension);
        }

        array.Dim = dim;
        return new VectorField { Dim = dim, SparseFloatVector = array };
    }

    private static QuiverException Invalid(string reason) => new(QuiverErrorCode.InvalidArgument, reason);
}
