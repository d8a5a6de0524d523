using System.Collections.Concurrent;
using System.Numerics;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>Scalar indexes of one immutable row source (a sealed segment), built lazily per field on the first filter
/// that can use them, then kept for the segment's life. Thread-safe. Indexes cover every row, deleted or not; the
/// caller intersects with visibility as it does for scans. (Quiver has no explicit scalar index types: CreateIndex takes
/// vector fields only, and every VarChar and numeric field of a sealed segment gets these on demand.)
/// <para>An inverted or sorted index is kept only if its bytes (<see cref="InvertedIndex.MemoryBytes"/>,
/// <see cref="SortedIndex{T}.MemoryBytes"/>) fit the engine's memory budget (<see cref="Segment.TryChargeDerived"/>: held
/// as <see cref="EngineMemoryUsage.ScalarIndexBytes"/> until the segment goes); otherwise it is dropped and the method answers null, and the filter
/// scans the column instead, with the same rows. Its size is remembered, so it is built again only once the budget has
/// room for it. Token indexes (TEXT_MATCH, PHRASE_MATCH: <see cref="TextAnalysis.TokenIndex.MemoryBytes"/>) are held
/// and refused the same way; without one the predicate analyzes each row.</para></summary>
internal sealed class ScalarIndexes(Segment? owner = null)
{
    private readonly ConcurrentDictionary<int, Lazy<object?>> _byField = new();
    private readonly ConcurrentDictionary<int, long> _refused = new();
    private readonly ConcurrentDictionary<int, Lazy<object?>> _tokens = new();
    private readonly ConcurrentDictionary<int, long> _tokensRefused = new();

    /// <summary>Token index of a VarChar column with enable_match (TEXT_MATCH, PHRASE_MATCH), built with the field's
    /// analyzer; null when it does not fit the memory budget.</summary>
    public TextAnalysis.TokenIndex? Tokens(int fieldIndex, StringColumn column, TextAnalysis.Analyzer analyzer) =>
        (TextAnalysis.TokenIndex?)Get(_tokens, _tokensRefused, fieldIndex, () => TextAnalysis.TokenIndex.Build(column, analyzer), static i => ((TextAnalysis.TokenIndex)i).MemoryBytes);

    /// <summary>Inverted index of a VarChar column: value to the ascending rows that hold it; null when it does not fit
    /// the memory budget.</summary>
    public InvertedIndex? Inverted(int fieldIndex, StringColumn column) =>
        (InvertedIndex?)Get(_byField, _refused, fieldIndex, () => InvertedIndex.Build(column), static i => ((InvertedIndex)i).MemoryBytes);

    /// <summary>Sorted index of an integer column: (value, row) pairs in that order, nulls left out; null when it does
    /// not fit the memory budget.</summary>
    public SortedIndex<long>? Sorted(int fieldIndex, NumericColumn column) =>
        (SortedIndex<long>?)Get(_byField, _refused, fieldIndex, () => SortedIndex<long>.Build(column, column.LongAt), static i => ((SortedIndex<long>)i).MemoryBytes);

    /// <summary>Sorted index of a Float or Double column (values widened to double, which is exact); null when it does
    /// not fit the memory budget.</summary>
    public SortedIndex<double>? SortedFloating(int fieldIndex, NumericColumn column) =>
        (SortedIndex<double>?)Get(_byField, _refused, fieldIndex, () => SortedIndex<double>.Build(column, column.DoubleAt), static i => ((SortedIndex<double>)i).MemoryBytes);

    private object? Get(
        ConcurrentDictionary<int, Lazy<object?>> byField, ConcurrentDictionary<int, long> refused, int fieldIndex, Func<object> build, Func<object, long> bytes)
    {
        if (owner is not null && refused.TryGetValue(fieldIndex, out var size) && !owner.FitsDerived(size))
        {
            return null;
        }

        var lazy = byField.GetOrAdd(fieldIndex, _ => new Lazy<object?>(() =>
        {
            var index = build();
            var n = bytes(index);
            if (owner is null || owner.TryChargeDerived(n, DerivedKind.Scalar))
            {
                refused.TryRemove(fieldIndex, out long _);
                return index;
            }

            refused[fieldIndex] = n;
            return null;
        }));
        var value = lazy.Value;
        if (value is null)
        {
            // Refused: forgotten, so that a later filter builds it again once the budget has room.
            byField.TryRemove(KeyValuePair.Create(fieldIndex, lazy));
        }

        return value;
    }
}

/// <summary>VarChar equality and <c>in</c> in time proportional to the matches, instead of a string compare per row.</summary>
internal sealed class InvertedIndex
{
    private readonly Dictionary<string, int[]> _postings;

    private InvertedIndex(Dictionary<string, int[]> postings, int[] nullRows, int rowCount)
    {
        _postings = postings;
        NullRows = nullRows;
        RowCount = rowCount;

        // Per value: its dictionary entry and bucket (28 bytes), the string (22 + 2 a char) and the row array (24 + 4 a row).
        long bytes = 24 + (4L * nullRows.Length);
        foreach (var (value, rows) in postings)
        {
            bytes += 28 + 22 + (2L * value.Length) + 24 + (4L * rows.Length);
        }

        MemoryBytes = bytes;
    }

    /// <summary>Bytes the index holds on the managed heap (counted against the engine's memory budget).</summary>
    public long MemoryBytes { get; }

    /// <summary>The null rows, ascending.</summary>
    public int[] NullRows { get; }

    /// <summary>Rows indexed (nulls included).</summary>
    public int RowCount { get; }

    public static InvertedIndex Build(StringColumn column)
    {
        var lists = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var nulls = new List<int>();
        for (var i = 0; i < column.Count; i++)
        {
            if (column.GetString(i) is { } s)
            {
                if (!lists.TryGetValue(s, out var list))
                {
                    list = [];
                    lists[s] = list;
                }

                list.Add(i);
            }
            else
            {
                nulls.Add(i);
            }
        }

        return new InvertedIndex(lists.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal), [.. nulls], column.Count);
    }

    /// <summary>The ascending rows that hold <paramref name="value"/>.</summary>
    public ReadOnlySpan<int> Postings(string value) => _postings.TryGetValue(value, out var rows) ? rows : default;

    /// <summary>Sets the rows below <paramref name="rowCount"/> that hold <paramref name="value"/>.</summary>
    public void SetRows(string value, Bitmap bits, int rowCount)
    {
        foreach (var r in Postings(value))
        {
            if (r >= rowCount)
            {
                break;
            }

            bits.Set(r);
        }
    }
}

/// <summary>Comparisons with a constant (<c>x == c</c>, ranges) in time proportional to the matches: the non-null
/// (value, row) pairs sorted by value, then row, so that the rows of one value are an ascending run.</summary>
internal sealed class SortedIndex<T>
    where T : struct, INumber<T>
{
    private readonly T[] _values;
    private readonly int[] _rows;

    private SortedIndex(T[] values, int[] rows, int[] nullRows)
    {
        _values = values;
        _rows = rows;
        NullRows = nullRows;
    }

    /// <summary>The null rows, ascending.</summary>
    public int[] NullRows { get; }

    /// <summary>Rows indexed (nulls included).</summary>
    public int RowCount => _values.Length + NullRows.Length;

    /// <summary>Bytes the index holds on the managed heap: the value and row arrays and the null rows (counted against the
    /// engine's memory budget).</summary>
    public long MemoryBytes => (3 * 24) + ((long)_values.Length * (System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + 4)) + (4L * NullRows.Length);

    public static SortedIndex<T> Build(NumericColumn column, Func<int, T> read)
    {
        var n = column.Count;
        var pairs = new List<Entry>(n);
        var nulls = new List<int>();
        for (var i = 0; i < n; i++)
        {
            if (column.IsNull(i))
            {
                nulls.Add(i);
            }
            else
            {
                pairs.Add(new Entry(read(i), i));
            }
        }

        var sorted = pairs.ToArray();
        sorted.AsSpan().Sort(default(EntryOrder));
        var values = new T[sorted.Length];
        var rows = new int[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            values[i] = sorted[i].Value;
            rows[i] = sorted[i].Row;
        }

        return new SortedIndex<T>(values, rows, [.. nulls]);
    }

    /// <summary>The positions [Lo, Hi) of the sorted values that satisfy <c>value op c</c>; null for <c>!=</c> (the
    /// complement of <c>==</c>).</summary>
    public (int Lo, int Hi)? Range(FilterOp op, T c) => op switch
    {
        FilterOp.Eq => (LowerBound(c), UpperBound(c)),
        FilterOp.Lt => (0, LowerBound(c)),
        FilterOp.Le => (0, UpperBound(c)),
        FilterOp.Gt => (UpperBound(c), _values.Length),
        FilterOp.Ge => (LowerBound(c), _values.Length),
        _ => null,
    };

    /// <summary>The rows at positions [lo, hi) in index order: an ascending run per distinct value.</summary>
    public ReadOnlySpan<int> Runs(int lo, int hi) => _rows.AsSpan(lo, hi - lo);

    /// <summary>The rows at positions [lo, hi), ascending: one run per distinct value, merged.</summary>
    public int[] Rows(int lo, int hi) => SortedRows.FromRuns(_rows.AsSpan(lo, hi - lo), RowCount);

    /// <summary>The rows at positions outside [lo, hi) and the null rows, ascending: the complement of a range.</summary>
    public int[] RowsOutside(int lo, int hi)
    {
        var outside = new int[lo + (_rows.Length - hi)];
        _rows.AsSpan(0, lo).CopyTo(outside);
        _rows.AsSpan(hi).CopyTo(outside.AsSpan(lo));
        return SortedRows.Union(SortedRows.FromRuns(outside, RowCount), NullRows);
    }

    public Bitmap ToBitmap(int lo, int hi, int rowCount)
    {
        var bits = new Bitmap(rowCount);
        for (var i = lo; i < hi; i++)
        {
            if (_rows[i] < rowCount)
            {
                bits.Set(_rows[i]);
            }
        }

        return bits;
    }

    /// <summary>First position whose value is &gt;= c.</summary>
    private int LowerBound(T c)
    {
        int lo = 0, hi = _values.Length;
        while (lo < hi)
        {
            var mid = (int)(((uint)lo + (uint)hi) >> 1);
            if (_values[mid] < c)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>First position whose value is &gt; c.</summary>
    private int UpperBound(T c)
    {
        int lo = 0, hi = _values.Length;
        while (lo < hi)
        {
            var mid = (int)(((uint)lo + (uint)hi) >> 1);
            if (_values[mid] <= c)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private readonly record struct Entry(T Value, int Row);

    private readonly struct EntryOrder : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y) => x.Value < y.Value ? -1 : x.Value > y.Value ? 1 : x.Row.CompareTo(y.Row);
    }
}
