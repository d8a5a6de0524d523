using System.Text.Json;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>State of one evaluation over one row source: the columns a plan reads, fetched and checked once, and
/// their null bitmaps trimmed to <see cref="RowCount"/>. One per <see cref="BoundFilter.Evaluate"/> call.</summary>
internal sealed class EvalContext(IRowSource source)
{
    private readonly Dictionary<int, ScalarColumn> _columns = [];
    private readonly Dictionary<int, Bitmap?> _nulls = [];

    public IRowSource Source => source;

    public int RowCount { get; } = source.RowCount;

    /// <summary>The most rows a leaf answered from scalar indexes may list (<see cref="PredicateNode.TrySparse"/>);
    /// default 1/<see cref="SparseResult.MaxFraction"/> of the rows.</summary>
    public int SparseLimit { get; init; } = source.RowCount / SparseResult.MaxFraction;

    public Bitmap NewBitmap(bool initial = false) => new(RowCount, initial);

    /// <summary>The column of a field; <paramref name="fieldIndex"/> -1 is the dynamic field.</summary>
    public ScalarColumn Column(int fieldIndex, string name)
    {
        if (_columns.TryGetValue(fieldIndex, out var c))
        {
            return c;
        }

        c = fieldIndex < 0
            ? source.Dynamic ?? throw new InvalidOperationException("the row source has no dynamic field but the filter reads one")
            : source.GetColumn(fieldIndex);
        if (fieldIndex >= 0 && c.Field.Name != name)
        {
            throw new InvalidOperationException($"the filter was bound to a schema where field {fieldIndex} is '{name}', but the row source has '{c.Field.Name}'");
        }

        if (c.Count < RowCount)
        {
            throw new InvalidOperationException($"column '{c.Field.Name}' has {c.Count} rows but the row source has {RowCount}");
        }

        _columns[fieldIndex] = c;
        return c;
    }

    public T Column<T>(int fieldIndex, string name)
        where T : ScalarColumn =>
        Column(fieldIndex, name) as T
        ?? throw new InvalidOperationException($"column '{name}' is not a {typeof(T).Name}");

    /// <summary>Null rows of a column as a bitmap of <see cref="RowCount"/> bits, or null when it has none. Cached; callers
    /// must not modify it.</summary>
    public Bitmap? Nulls(int fieldIndex, string name)
    {
        if (_nulls.TryGetValue(fieldIndex, out var b))
        {
            return b;
        }

        var column = Column(fieldIndex, name);
        if (column.HasNulls)
        {
            // The column's bitmap may be longer than RowCount (a growing segment): copy the prefix, drop the tail.
            b = NewBitmap();
            var words = b.Words;
            var src = column.NullWords;
            src[..Math.Min(words.Length, src.Length)].CopyTo(words);
            var rem = RowCount & 63;
            if (rem != 0 && src.Length >= words.Length)
            {
                words[^1] &= (1UL << rem) - 1;
            }

            b = b.Any() ? b : null;
        }

        _nulls[fieldIndex] = b;
        return b;
    }

    /// <summary>The JSON value of a row of a JSON/Array/dynamic column; Undefined for a null row.</summary>
    public JsonElement Json(int fieldIndex, string name, int row)
    {
        var column = Column<JsonColumn>(fieldIndex, name);
        return row >= column.Count ? default : column.Get(row);
    }
}
