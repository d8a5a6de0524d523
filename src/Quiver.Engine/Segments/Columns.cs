using System.Text.Json;
using Quiver.Common;

namespace Quiver.Segments;

/// <summary>A read-only view of one field's values for rows [0, Count) of a segment snapshot. The backing arrays may be
/// longer than <see cref="Count"/> (a growing segment over-allocates); readers never look past Count.
/// Concrete types: <see cref="Int64Column"/> (all integer types), <see cref="DoubleColumn"/> (Float and Double),
/// <see cref="BoolColumn"/>, <see cref="StringColumn"/> (VarChar), <see cref="JsonColumn"/> (JSON, Array and the dynamic field).</summary>
internal abstract class ScalarColumn
{
    protected ScalarColumn(FieldSchema field, int count, Bitmap? nulls)
    {
        Field = field;
        Count = count;
        Nulls = nulls;
    }

    public FieldSchema Field { get; }

    /// <summary>Rows visible in this view.</summary>
    public int Count { get; }

    /// <summary>Set bit = the row's value is null; null when the column has no null values at all.
    /// May be longer than <see cref="Count"/>.</summary>
    public Bitmap? Nulls { get; }

    public bool IsNull(int row) => Nulls is { } n && n[row];

    /// <summary>The value of a row as the engine's canonical boxed form (long, double, bool, string, JsonElement) or null.
    /// For output paths, not for hot loops.</summary>
    public abstract object? GetValue(int row);
}

/// <summary>Int8..Int64 values widened to long.</summary>
internal sealed class Int64Column(FieldSchema field, long[] values, int count, Bitmap? nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<long> Values => values.AsSpan(0, Count);

    public override object? GetValue(int row) => IsNull(row) ? null : values[row];
}

/// <summary>Float and Double values as double (a Float value is stored exactly as its float32 value).</summary>
internal sealed class DoubleColumn(FieldSchema field, double[] values, int count, Bitmap? nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<double> Values => values.AsSpan(0, Count);

    public override object? GetValue(int row) => IsNull(row) ? null : values[row];
}

internal sealed class BoolColumn(FieldSchema field, bool[] values, int count, Bitmap? nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<bool> Values => values.AsSpan(0, Count);

    public override object? GetValue(int row) => IsNull(row) ? null : values[row];
}

/// <summary>VarChar values; a null row holds null.</summary>
internal sealed class StringColumn(FieldSchema field, string?[] values, int count, Bitmap? nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<string?> Values => values.AsSpan(0, Count);

    public override object? GetValue(int row) => IsNull(row) ? null : values[row];
}

/// <summary>JSON documents, arrays (as JSON arrays whose elements obey the field's element type) and the dynamic field.
/// A null row holds <c>default(JsonElement)</c> (ValueKind Undefined).</summary>
internal sealed class JsonColumn(FieldSchema field, JsonElement[] values, int count, Bitmap? nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<JsonElement> Values => values.AsSpan(0, Count);

    public override object? GetValue(int row) =>
        IsNull(row) || values[row].ValueKind == JsonValueKind.Undefined ? null : values[row];
}

/// <summary>Everything a filter needs from one segment snapshot: the schema, the row count, and a column per scalar field.</summary>
internal interface IRowSource
{
    CollectionSchema Schema { get; }

    /// <summary>Rows in this snapshot. Filter results are bitmaps of this length.</summary>
    int RowCount { get; }

    /// <summary>The column of a scalar (non-vector) field, by index in <see cref="CollectionSchema.Fields"/>.</summary>
    ScalarColumn GetColumn(int fieldIndex);

    /// <summary>The dynamic field's column (<see cref="CollectionSchema.DynamicFieldName"/>), or null when the schema has none.</summary>
    JsonColumn? Dynamic { get; }

    /// <summary>Scalar indexes over these rows, for sources that do not change (sealed segments); null otherwise.</summary>
    Filtering.ScalarIndexes? Indexes => null;
}
