using System.Text.Json;

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

/// <summary>A validated batch of rows, column by column, ready to be logged and applied (by the engine) or
/// sent (by the remote client). Built by <see cref="RowValidator"/>; once built, every value obeys the schema.</summary>
internal sealed class RowBatch
{
    public required CollectionSchema Schema { get; init; }

    public required int Count { get; init; }

    /// <summary>One entry per schema field, in schema order.</summary>
    public required BatchColumn[] Columns { get; init; }

    /// <summary>Undeclared keys per row as a JSON object (Undefined where a row has none); null without a dynamic field.</summary>
    public JsonElement[]? Dynamic { get; init; }

    public int PrimaryKeyIndex => Schema.Fields.IndexOf(Schema.PrimaryKey);

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
}
