using System.Buffers;
using System.Text;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>Where a segment holds a primary key: the rows of a growing segment by key in a dictionary (its rows still
/// come in), those of a sealed one by binary search over the key-order block of its file (<see cref="SortedKeys"/>),
/// which is mapped like the columns, so that opening a sealed segment builds nothing per row. A key may sit in several
/// rows of one segment (an upsert deletes the old row and appends the new one); at most one of them is live.
/// Thread-safety: called under the shard's apply lock, like every mutation of the segment.</summary>
internal sealed class GrowingKeys
{
    private readonly Dictionary<long, int>? _ints;
    private readonly Dictionary<string, int>? _strings;

    public GrowingKeys(bool intKeys)
    {
        if (intKeys)
        {
            _ints = [];
        }
        else
        {
            _strings = new Dictionary<string, int>(StringComparer.Ordinal);
        }
    }

    /// <summary>Records that <paramref name="row"/> holds <paramref name="key"/>; a later row of the same key replaces
    /// the earlier one, which the write deleted first.</summary>
    public void Add(PrimaryKey key, int row)
    {
        if (key.Str is { } s)
        {
            _strings![s] = row;
        }
        else
        {
            _ints![key.Int] = row;
        }
    }

    /// <summary>The last row appended with <paramref name="key"/>, or -1.</summary>
    public int Find(PrimaryKey key) =>
        key.Str is { } s
            ? (_strings!.TryGetValue(s, out var r) ? r : -1)
            : (_ints!.TryGetValue(key.Int, out var ri) ? ri : -1);
}

/// <summary>The primary keys of a sealed segment in key order, read from its file: the rows sorted by key (Int64 keys in
/// signed order, VarChar keys by their UTF-8 bytes, which is code-point order), and for Int64 keys the sorted keys
/// themselves, so that a probe reads one contiguous array. Both blocks are verified on first touch, like every block.</summary>
internal sealed class SortedKeys
{
    private const int StackLimit = 256;
    private readonly ReadOnlyMemory<int> _order;
    private readonly ReadOnlyMemory<long> _ints;
    private readonly StringColumn? _strings;

    /// <summary>Int64 keys: the rows in key order and the keys in that order.</summary>
    public SortedKeys(ReadOnlyMemory<int> order, ReadOnlyMemory<long> sortedKeys)
    {
        _order = order;
        _ints = sortedKeys;
    }

    /// <summary>VarChar keys: the rows in key order, compared through the key column's UTF-8 bytes.</summary>
    public SortedKeys(ReadOnlyMemory<int> order, StringColumn keys)
    {
        _order = order;
        _strings = keys;
    }

    /// <summary>The rows in key order (the probe's result indexes into it).</summary>
    public ReadOnlySpan<int> Order => _order.Span;

    /// <summary>Positions [lo, hi) of <paramref name="key"/> in <see cref="Order"/>: empty when no row holds it.
    /// O(log rows); a VarChar key is encoded once, on the stack when short.</summary>
    public (int Lo, int Hi) Range(PrimaryKey key)
    {
        var order = _order.Span;
        if (order.Length == 0)
        {
            return (0, 0);
        }

        if (key.Str is not { } s)
        {
            return Range(_ints.Span, key.Int);
        }

        byte[]? rented = null;
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            return Range(order, buffer[..Encoding.UTF8.GetBytes(s, buffer)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Positions [lo, hi) of <paramref name="key"/> in the sorted keys.</summary>
    private static (int Lo, int Hi) Range(ReadOnlySpan<long> sorted, long key)
    {
        if (key < sorted[0] || key > sorted[^1])
        {
            return (0, 0);
        }

        var lo = LowerBound(sorted, key);
        var hi = lo;
        while (hi < sorted.Length && sorted[hi] == key)
        {
            hi++;
        }

        return (lo, hi);
    }

    private static int LowerBound(ReadOnlySpan<long> sorted, long key)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (sorted[mid] < key)
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

    private (int Lo, int Hi) Range(ReadOnlySpan<int> order, ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = order.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (_strings!.Utf8(order[mid]).SequenceCompareTo(key) < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        var end = lo;
        while (end < order.Length && _strings!.Utf8(order[end]).SequenceEqual(key))
        {
            end++;
        }

        return (lo, end);
    }

    /// <summary>The row order of keys (ties in any order) for a segment file: Int64 keys sorted with their rows, and the
    /// sorted keys; <paramref name="keys"/> is not changed.</summary>
    public static (int[] Order, long[] Sorted) Sort(ReadOnlySpan<long> keys)
    {
        var sorted = keys.ToArray();
        var order = new int[sorted.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(sorted, order);
        return (order, sorted);
    }

    /// <summary>The row order of VarChar keys given as UTF-8 values with <c>count + 1</c> offsets (the layout of the key
    /// column's blocks), by byte order.</summary>
    public static int[] Sort(byte[] values, long[] offsets, int count)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        order.AsSpan().Sort((a, b) =>
        {
            var x = values.AsSpan((int)offsets[a], (int)(offsets[a + 1] - offsets[a]));
            var y = values.AsSpan((int)offsets[b], (int)(offsets[b + 1] - offsets[b]));
            return x.SequenceCompareTo(y);
        });
        return order;
    }
}

