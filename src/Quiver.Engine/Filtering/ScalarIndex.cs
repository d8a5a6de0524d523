using System.Collections.Concurrent;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>Scalar indexes of one immutable row source (a sealed segment), built lazily per field on the first filter
/// that can use them, then kept for the segment's life. Thread-safe. Indexes cover every row, deleted or not; the
/// caller intersects with visibility as it does for scans.</summary>
internal sealed class ScalarIndexes
{
    private readonly ConcurrentDictionary<int, Lazy<object>> _byField = new();

    /// <summary>Inverted index of a VarChar column: value to the ascending rows that hold it.</summary>
    public InvertedIndex Inverted(int fieldIndex, StringColumn column) =>
        (InvertedIndex)_byField.GetOrAdd(fieldIndex, _ => new Lazy<object>(() => InvertedIndex.Build(column))).Value;

    /// <summary>Sorted index of an integer column: (value, row) pairs in value order, nulls left out.</summary>
    public SortedIndex Sorted(int fieldIndex, NumericColumn column) =>
        (SortedIndex)_byField.GetOrAdd(fieldIndex, _ => new Lazy<object>(() => SortedIndex.Build(column))).Value;
}

/// <summary>VarChar equality and <c>in</c> in time proportional to the matches, instead of a string compare per row.</summary>
internal sealed class InvertedIndex
{
    private readonly Dictionary<string, int[]> _postings;

    private InvertedIndex(Dictionary<string, int[]> postings) => _postings = postings;

    public static InvertedIndex Build(StringColumn column)
    {
        var lists = new Dictionary<string, List<int>>(StringComparer.Ordinal);
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
        }

        return new InvertedIndex(lists.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }

    /// <summary>Sets the rows below <paramref name="rowCount"/> that hold <paramref name="value"/>.</summary>
    public void SetRows(string value, Bitmap bits, int rowCount)
    {
        if (_postings.TryGetValue(value, out var rows))
        {
            foreach (var r in rows)
            {
                if (r >= rowCount)
                {
                    break;
                }

                bits.Set(r);
            }
        }
    }
}

/// <summary>Selective integer comparisons (<c>x == c</c>, ranges) in time proportional to the matches.</summary>
internal sealed class SortedIndex
{
    private readonly long[] _values;
    private readonly int[] _rows;

    private SortedIndex(long[] values, int[] rows)
    {
        _values = values;
        _rows = rows;
    }

    public static SortedIndex Build(NumericColumn column)
    {
        var n = column.Count;
        var values = new List<long>(n);
        var rows = new List<int>(n);
        for (var i = 0; i < n; i++)
        {
            if (!column.IsNull(i))
            {
                values.Add(column.LongAt(i));
                rows.Add(i);
            }
        }

        var v = values.ToArray();
        var r = rows.ToArray();
        Array.Sort(v, r);
        return new SortedIndex(v, r);
    }

    /// <summary>The positions [Lo, Hi) of the sorted values that satisfy <c>value op c</c>; null for <c>!=</c>, which an
    /// index does not help.</summary>
    public (int Lo, int Hi)? Range(FilterOp op, long c) => op switch
    {
        FilterOp.Eq => (LowerBound(c), UpperBound(c)),
        FilterOp.Lt => (0, LowerBound(c)),
        FilterOp.Le => (0, UpperBound(c)),
        FilterOp.Gt => (UpperBound(c), _values.Length),
        FilterOp.Ge => (LowerBound(c), _values.Length),
        _ => null,
    };

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
    private int LowerBound(long c)
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
    private int UpperBound(long c)
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
}
