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
/// signed order, VarChar keys by their UTF-8 bytes, which is code-point order), for Int64 keys the sorted keys
/// themselves, so that a probe reads one contiguous array, and a bloom filter of the keys (<see cref="KeyFilter"/>), so
/// that a probe for a key the segment does not hold mostly ends after a few bit tests. The blocks are read value by value
/// (<see cref="PagedView{T}"/>): in a version 4 file each read verifies only its own page, so that the first probe after
/// an open checksums the pages a binary search touches, O(log rows), not the blocks (a version 3 file verifies a block on
/// its first touch).</summary>
internal sealed class SortedKeys
{
    private const int StackLimit = 256;
    private readonly PagedView<int> _order;
    private readonly PagedView<long> _ints;
    private readonly StringColumn? _strings;
    private readonly PagedView<ulong> _filter;

    /// <summary>Int64 keys: the rows in key order, the keys in that order, and the keys' bloom filter.</summary>
    public SortedKeys(PagedView<int> order, PagedView<long> sortedKeys, PagedView<ulong> filter)
    {
        _order = order;
        _ints = sortedKeys;
        _filter = filter;
    }

    /// <summary>VarChar keys: the rows in key order, compared through the key column's UTF-8 bytes, and the keys' bloom
    /// filter.</summary>
    public SortedKeys(PagedView<int> order, StringColumn keys, PagedView<ulong> filter)
    {
        _order = order;
        _strings = keys;
        _filter = filter;
    }

    /// <summary>Row of position <paramref name="position"/> in key order (a probe's result indexes into it).</summary>
    public int RowAt(int position) => _order[position];

    /// <summary>Positions [lo, hi) of <paramref name="key"/> in key order: empty when no row holds it. O(log rows), or a
    /// few bit tests when the filter rules the key out; a VarChar key is encoded once, on the stack when short.</summary>
    public (int Lo, int Hi) Range(PrimaryKey key)
    {
        if (_order.Length == 0)
        {
            return (0, 0);
        }

        if (key.Str is not { } s)
        {
            // Bit tests first; the sorted keys' ends then rule out a key beyond them (new auto-ids) in two reads.
            var sorted = _ints;
            return !KeyFilter.MayContain(_filter, KeyFilter.Hash(key.Int)) || key.Int < sorted[0] || key.Int > sorted[sorted.Length - 1]
                ? (0, 0)
                : Range(sorted, key.Int);
        }

        byte[]? rented = null;
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var utf8 = buffer[..Encoding.UTF8.GetBytes(s, buffer)];
            return KeyFilter.MayContain(_filter, KeyFilter.Hash(utf8)) ? Range(_order, utf8) : (0, 0);
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
    private static (int Lo, int Hi) Range(PagedView<long> sorted, long key)
    {
        var lo = LowerBound(sorted, key);
        var hi = lo;
        while (hi < sorted.Length && sorted[hi] == key)
        {
            hi++;
        }

        return (lo, hi);
    }

    private static int LowerBound(PagedView<long> sorted, long key)
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

    private (int Lo, int Hi) Range(PagedView<int> order, ReadOnlySpan<byte> key)
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


/// <summary>A bloom filter of a sealed segment's primary keys (block kind 10 of format version 3): a probe for a key the
/// segment does not hold skips its binary search with probability about 99 %. <see cref="BitsPerKey"/> bits a key,
/// <see cref="Hashes"/> bit positions per key by double hashing of one 64-bit hash (Int64 keys: the SplitMix64 finalizer
/// of the key; VarChar keys: FNV-1a 64 over the UTF-8 bytes, then the same finalizer). The hash is fixed by the format,
/// never the runtime's randomized string hash, since the bits are stored.</summary>
internal static class KeyFilter
{
    /// <summary>Bits per key: 10 gives a false-positive rate near 1 % with 7 hashes.</summary>
    public const int BitsPerKey = 10;

    /// <summary>Bit positions per key (k in the bloom filter literature).</summary>
    public const int Hashes = 7;

    /// <summary>Words of a filter for <paramref name="count"/> keys: at least one.</summary>
    public static int WordCount(int count) => Math.Max(1, (int)(((long)count * BitsPerKey + 63) / 64));

    public static ulong Hash(long key) => Mix(unchecked((ulong)key));

    public static ulong Hash(ReadOnlySpan<byte> utf8)
    {
        var h = 14695981039346656037UL;
        foreach (var b in utf8)
        {
            h = unchecked((h ^ b) * 1099511628211UL);
        }

        return Mix(h);
    }

    public static void Add(Span<ulong> words, ulong hash)
    {
        var bits = (ulong)words.Length * 64;
        var (h1, h2) = Split(hash);
        for (var i = 0UL; i < Hashes; i++)
        {
            var bit = unchecked(h1 + (i * h2)) % bits;
            words[(int)(bit >> 6)] |= 1UL << (int)(bit & 63);
        }
    }

    /// <summary>Whether the filter may hold the key of <paramref name="hash"/> (false: it surely does not).</summary>
    public static bool MayContain(ReadOnlyMemory<ulong> words, ulong hash) => MayContain(new PagedView<ulong>(words), hash);

    /// <summary>As <see cref="MayContain(ReadOnlyMemory{ulong}, ulong)"/>, reading only the filter's words it tests.</summary>
    public static bool MayContain(PagedView<ulong> words, ulong hash)
    {
        var bits = (ulong)words.Length * 64;
        var (h1, h2) = Split(hash);
        for (var i = 0UL; i < Hashes; i++)
        {
            var bit = unchecked(h1 + (i * h2)) % bits;
            if ((words[(int)(bit >> 6)] & (1UL << (int)(bit & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static (ulong H1, ulong H2) Split(ulong hash) => (hash & 0xFFFF_FFFF, (hash >> 32) | 1);

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
