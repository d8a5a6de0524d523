namespace Quiver.Filtering;

/// <summary>A predicate answered from scalar indexes (<see cref="PredicateNode.TrySparse"/>): the rows where it is true,
/// and whether some rows may be unknown (null operands). Unknown rows are not in <see cref="True"/>, so AND and OR
/// of sparse results are exact without tracking them; only NOT needs them, and refuses a part that may have any.</summary>
internal readonly record struct SparseResult(RowSet True, bool MayBeUnknown)
{
    /// <summary>By default a leaf's result is used only when its smaller form lists at most this fraction of the rows
    /// (<see cref="EvalContext.SparseLimit"/>): a list of R / 32 four-byte rows is as large as a bitmap of R rows, and
    /// past it setting bits from the index (or scanning) costs less than building, sorting and merging lists.</summary>
    public const int MaxFraction = 32;

    /// <summary>Rows of a sorted-index range [lo, hi) in the smaller form, or null when both forms list more than
    /// <paramref name="limit"/> rows.</summary>
    public static SparseResult? FromRange<T>(SortedIndex<T> index, int lo, int hi, bool complement, int limit)
        where T : struct, System.Numerics.INumber<T>
    {
        var rows = index.RowCount;
        var inRange = hi - lo;
        var unknown = index.NullRows.Length > 0;
        if (!complement && inRange <= limit)
        {
            return new SparseResult(RowSet.Of(index.Rows(lo, hi), rows), unknown);
        }

        // The complement of a range is the rows outside it and the null rows; "!= c" is the complement of "== c".
        if (!complement && rows - inRange <= limit)
        {
            return new SparseResult(RowSet.AllBut(index.RowsOutside(lo, hi), rows), unknown);
        }

        if (complement && inRange + index.NullRows.Length <= limit)
        {
            return new SparseResult(RowSet.AllBut(SortedRows.Union(index.Rows(lo, hi), index.NullRows), rows), unknown);
        }

        return null;
    }

    /// <summary>Rows listed as back-to-back ascending runs, or null when they are more than <paramref name="limit"/>.</summary>
    public static SparseResult? FromRuns(ReadOnlySpan<int> runs, int rows, bool unknown, int limit) =>
        runs.Length <= limit ? new SparseResult(RowSet.Of(SortedRows.FromRuns(runs, rows), rows), unknown) : null;
}
