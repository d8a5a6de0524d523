using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Nullable vector fields on Milvus's wire: <c>valid_data</c> says which rows have a vector, and the vector data
/// holds the valid rows only (compact; a dense column, one vector a row, is read too). The engine's column holds every row,
/// zeros (or no sparse vector) where a row is null, and its null flags.</summary>
internal static class NullableVectors
{
    /// <summary>Adds one <c>valid_data</c> entry a row to <paramref name="data"/> and returns the valid rows in order.</summary>
    public static List<int> ValidRows(FieldData data, FieldColumn column, int rows)
    {
        var valid = new List<int>(rows);
        for (var r = 0; r < rows; r++)
        {
            var isNull = column.IsNull(r);
            data.ValidData.Add(!isNull);
            if (!isNull)
            {
                valid.Add(r);
            }
        }

        return valid;
    }

    /// <summary>The slots of the given rows of a row-major column of <paramref name="width"/> slots a row.</summary>
    public static float[] Gather(float[] slots, int width, List<int> rows)
    {
        var result = new float[(long)rows.Count * width];
        for (var i = 0; i < rows.Count; i++)
        {
            slots.AsSpan(rows[i] * width, width).CopyTo(result.AsSpan(i * width, width));
        }

        return result;
    }

    /// <summary>Every row's column from the carried rows (<paramref name="physical"/>, null when none is carried) and each
    /// row's position among them (-1: null).</summary>
    public static FieldColumn Spread(FieldSchema field, FieldColumn? physical, int[] positions)
    {
        var rows = positions.Length;
        var nulls = new bool[rows];
        if (field.IsSparseVector)
        {
            var sparse = new SparseVector?[rows];
            for (var r = 0; r < rows; r++)
            {
                nulls[r] = positions[r] < 0;
                sparse[r] = nulls[r] ? null : physical!.Sparse![positions[r]];
            }

            return new FieldColumn { Name = field.Name, Sparse = sparse, Nulls = nulls };
        }

        var width = field.VectorWidth();
        var vectors = new float[(long)rows * width];
        for (var r = 0; r < rows; r++)
        {
            nulls[r] = positions[r] < 0;
            if (!nulls[r])
            {
                physical!.Vectors.AsSpan(positions[r] * width, width).CopyTo(vectors.AsSpan(r * width, width));
            }
        }

        return new FieldColumn { Name = field.Name, Vectors = vectors, Nulls = nulls };
    }
}
