using System.Numerics;
using Quiver.Common;
using Quiver.Filtering;

namespace Quiver.Search;

/// <summary>The rows of one segment snapshot a read may return, in one of three forms:
/// <list type="bullet">
/// <item><see cref="Bits"/> and <see cref="Sparse"/> null: every row of the snapshot (a sealed segment without deletes and
/// without a filter, which costs nothing to admit);</item>
/// <item><see cref="Sparse"/> a plain <see cref="RowSet"/> (<see cref="Bits"/> null): exactly its rows, visibility applied;</item>
/// <item>otherwise the rows set in <see cref="Bits"/> (null: every row), less the rows a complement <see cref="Sparse"/>
/// leaves out.</item>
/// </list>
/// <see cref="Count"/> is how many rows that is. The bitmap may be a segment's shared live-row bitmap: never change it.</summary>
internal readonly record struct AllowedRows(Bitmap? Bits, int Count)
{
    /// <summary>The filter's rows from scalar indexes: see the type's remarks.</summary>
    public RowSet? Sparse { get; init; }

    /// <summary>The allowed rows as an ascending list, when they are held that way (a selective indexed filter).</summary>
    public int[]? Rows => Sparse is { Complement: false } s ? s.Rows : null;

    /// <summary>Whether <paramref name="row"/> is allowed.</summary>
    public bool Contains(int row) => (Bits is null || Bits[row]) && (Sparse is null || Sparse.Contains(row));

    /// <summary>The first allowed row at or after <paramref name="start"/>, or -1 (with neither bitmap nor row list, the
    /// rows are 0..Count-1).</summary>
    public int Next(int start)
    {
        if (Rows is { } rows)
        {
            var i = Array.BinarySearch(rows, start);
            i = i < 0 ? ~i : i;
            return i < rows.Length ? rows[i] : -1;
        }

        var universe = Sparse?.Universe ?? Count;
        for (var row = start; ; row++)
        {
            row = Bits is not null ? Bits.NextSet(row) : row < universe ? row : -1;
            if (row < 0 || Sparse is null || Sparse.Contains(row))
            {
                return row;
            }
        }
    }

    /// <summary>The allowed rows as a bitmap of <paramref name="rowCount"/> bits, for an index's allow-list or a dense
    /// scan: null when every row is allowed, else <see cref="Bits"/> itself or a new bitmap (O(rowCount / 64 + listed
    /// rows)). Never change the result.</summary>
    public Bitmap? AsBitmap(int rowCount)
    {
        if (Count == rowCount)
        {
            return null;
        }

        if (Sparse is null)
        {
            return Bits;
        }

        if (!Sparse.Complement)
        {
            return Sparse.ToBitmap();
        }

        var bits = Bits?.Clone() ?? new Bitmap(rowCount, true);
        foreach (var r in Sparse.Rows)
        {
            bits.Clear(r);
        }

        return bits;
    }

    /// <summary>These rows less those set in <paramref name="nulls"/> (a field's null bitmap; empty: none), as a new
    /// bitmap when some row goes: O(rowCount / 64).</summary>
    public AllowedRows Without(ReadOnlySpan<ulong> nulls, int rowCount)
    {
        if (nulls.IsEmpty || Count == 0)
        {
            return this;
        }

        var bits = AsBitmap(rowCount)?.Clone() ?? new Bitmap(rowCount, true);
        var words = bits.Words;
        var count = 0;
        for (var w = 0; w < words.Length; w++)
        {
            words[w] &= ~nulls[w];
            count += BitOperations.PopCount(words[w]);
        }

        return count == Count ? this : new AllowedRows(bits, count);
    }

    /// <summary>The rows of an indexed filter's <paramref name="set"/> visible in a snapshot (<paramref name="visible"/>
    /// null: every row; else <paramref name="visibleCount"/> rows), in time proportional to the rows the set lists.</summary>
    public static AllowedRows Restrict(RowSet set, Bitmap? visible, int visibleCount)
    {
        if (visible is null)
        {
            return new AllowedRows(null, set.Count) { Sparse = set };
        }

        if (!set.Complement)
        {
            var kept = new int[set.Rows.Length];
            var n = 0;
            foreach (var r in set.Rows)
            {
                if (visible[r])
                {
                    kept[n++] = r;
                }
            }

            return new AllowedRows(null, n) { Sparse = RowSet.Of(n == kept.Length ? kept : kept[..n], set.Universe) };
        }

        var count = visibleCount;
        foreach (var r in set.Rows)
        {
            if (visible[r])
            {
                count--;
            }
        }

        return new AllowedRows(visible, count) { Sparse = set };
    }
}
