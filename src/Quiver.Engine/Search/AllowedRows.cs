using Quiver.Common;

namespace Quiver.Search;

/// <summary>The rows of one segment snapshot a read may return: <see cref="Bits"/> null means every row of the snapshot
/// (a sealed segment without deletes and without a filter, which costs nothing to admit), else the rows set in it.
/// <see cref="Count"/> is how many rows that is. The bitmap may be a segment's shared live-row bitmap: never change it.</summary>
internal readonly record struct AllowedRows(Bitmap? Bits, int Count)
{
    /// <summary>Whether <paramref name="row"/> is allowed.</summary>
    public bool Contains(int row) => Bits is null || Bits[row];

    /// <summary>The first allowed row at or after <paramref name="start"/>, or -1 (with no bitmap, the rows are 0..Count-1).</summary>
    public int Next(int start) => Bits is not null ? Bits.NextSet(start) : start < Count ? start : -1;
}
