using System.Numerics;
using Quiver.Common;

namespace Quiver.Filtering;

/// <summary>A set of rows of one row source kept in the smaller of two sparse forms: the matching rows, ascending, or
/// (<see cref="Complement"/>) the rows that do not match, ascending. Built from scalar indexes, so a filter keeping 1%
/// or 99% of a million rows costs the 1% either way, never a pass over every row. Immutable.</summary>
internal sealed class RowSet
{
    private RowSet(int[] rows, bool complement, int universe)
    {
        Rows = rows;
        Complement = complement;
        Universe = universe;
    }

    /// <summary>Ascending, distinct rows below <see cref="Universe"/>: the members, or with <see cref="Complement"/> the
    /// non-members.</summary>
    public int[] Rows { get; }

    /// <summary>True when <see cref="Rows"/> lists the rows left out.</summary>
    public bool Complement { get; }

    /// <summary>Rows of the source (0..Universe-1).</summary>
    public int Universe { get; }

    /// <summary>Members.</summary>
    public int Count => Complement ? Universe - Rows.Length : Rows.Length;

    public static RowSet Of(int[] ascending, int universe) => new(ascending, false, universe);

    public static RowSet AllBut(int[] ascending, int universe) => new(ascending, true, universe);

    public static RowSet None(int universe) => new([], false, universe);

    public static RowSet All(int universe) => new([], true, universe);

    /// <summary>Whether <paramref name="row"/> is a member: a binary search of <see cref="Rows"/>.</summary>
    public bool Contains(int row) => (Array.BinarySearch(Rows, row) >= 0) != Complement;

    public RowSet Not() => new(Rows, !Complement, Universe);

    /// <summary>Intersection, in time linear in the two lists.</summary>
    public RowSet And(RowSet other) => (Complement, other.Complement) switch
    {
        (false, false) => Of(SortedRows.Intersect(Rows, other.Rows), Universe),
        (false, true) => Of(SortedRows.Except(Rows, other.Rows), Universe),
        (true, false) => Of(SortedRows.Except(other.Rows, Rows), Universe),
        _ => AllBut(SortedRows.Union(Rows, other.Rows), Universe),
    };

    /// <summary>Union, in time linear in the two lists.</summary>
    public RowSet Or(RowSet other) => (Complement, other.Complement) switch
    {
        (false, false) => Of(SortedRows.Union(Rows, other.Rows), Universe),
        (false, true) => AllBut(SortedRows.Except(other.Rows, Rows), Universe),
        (true, false) => AllBut(SortedRows.Except(Rows, other.Rows), Universe),
        _ => AllBut(SortedRows.Intersect(Rows, other.Rows), Universe),
    };

    /// <summary>The members as a new bitmap of <see cref="Universe"/> bits: O(Universe / 64 + <see cref="Rows"/>).</summary>
    public Bitmap ToBitmap()
    {
        var bits = new Bitmap(Universe, Complement);
        foreach (var r in Rows)
        {
            if (Complement)
            {
                bits.Clear(r);
            }
            else
            {
                bits.Set(r);
            }
        }

        return bits;
    }
}

/// <summary>Merges of ascending, distinct row lists.</summary>
internal static class SortedRows
{
    public static int[] Intersect(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var result = new int[Math.Min(a.Length, b.Length)];
        int i = 0, j = 0, n = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] < b[j])
            {
                i++;
            }
            else if (a[i] > b[j])
            {
                j++;
            }
            else
            {
                result[n++] = a[i];
                i++;
                j++;
            }
        }

        return n == result.Length ? result : result[..n];
    }

    public static int[] Union(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var result = new int[a.Length + b.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] < b[j])
            {
                result[n++] = a[i++];
            }
            else if (a[i] > b[j])
            {
                result[n++] = b[j++];
            }
            else
            {
                result[n++] = a[i];
                i++;
                j++;
            }
        }

        a[i..].CopyTo(result.AsSpan(n));
        n += a.Length - i;
        b[j..].CopyTo(result.AsSpan(n));
        n += b.Length - j;
        return n == result.Length ? result : result[..n];
    }

    /// <summary>The rows of <paramref name="a"/> not in <paramref name="b"/>.</summary>
    public static int[] Except(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        var result = new int[a.Length];
        int i = 0, j = 0, n = 0;
        while (i < a.Length)
        {
            while (j < b.Length && b[j] < a[i])
            {
                j++;
            }

            if (j >= b.Length || b[j] != a[i])
            {
                result[n++] = a[i];
            }

            i++;
        }

        return n == result.Length ? result : result[..n];
    }

    /// <summary>Distinct rows below <paramref name="universe"/> given as back-to-back ascending runs (postings lists, or
    /// the per-value runs of a sorted index), sorted: a plain copy for one run; else by merging neighbouring runs
    /// pairwise, O(n log runs), or, when that would cost more than a pass over a bitmap of the universe, by setting the
    /// rows' bits and reading them back in order, O(n + universe / 64).</summary>
    public static int[] FromRuns(ReadOnlySpan<int> runs, int universe)
    {
        var a = runs.ToArray();
        if (a.Length < 2)
        {
            return a;
        }

        var starts = new List<int> { 0 };
        for (var i = 1; i < a.Length; i++)
        {
            if (a[i] < a[i - 1])
            {
                starts.Add(i);
            }
        }

        if (starts.Count == 1)
        {
            return a;
        }

        // Each merge pass moves every row once; a bitmap costs a word per 64 rows of the universe plus a set and a read
        // per row (counted as two moves).
        if ((long)a.Length * (BitOperations.Log2((uint)starts.Count - 1) + 1) > (universe / 64L) + (2L * a.Length))
        {
            var bits = new Bitmap(universe);
            foreach (var r in a)
            {
                bits.Set(r);
            }

            bits.CopySetBits(a);
            return a;
        }

        var b = new int[a.Length];
        while (starts.Count > 1)
        {
            var next = new List<int>((starts.Count + 1) / 2);
            for (var r = 0; r < starts.Count; r += 2)
            {
                var lo = starts[r];
                var mid = r + 1 < starts.Count ? starts[r + 1] : a.Length;
                var hi = r + 2 < starts.Count ? starts[r + 2] : a.Length;
                Merge(a.AsSpan(lo, mid - lo), a.AsSpan(mid, hi - mid), b.AsSpan(lo, hi - lo));
                next.Add(lo);
            }

            (a, b) = (b, a);
            starts = next;
        }

        return a;
    }

    private static void Merge(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> into)
    {
        int i = 0, j = 0, n = 0;
        while (i < x.Length && j < y.Length)
        {
            into[n++] = x[i] <= y[j] ? x[i++] : y[j++];
        }

        x[i..].CopyTo(into[n..]);
        y[j..].CopyTo(into[(n + x.Length - i)..]);
    }
}
