using System.Diagnostics;

namespace Quiver.Common;

/// <summary>What the engine holds in memory against <see cref="QuiverOptions.MemoryBudgetBytes"/>: the rows of growing
/// (and frozen, not yet sealed) segments as <see cref="Shards.SegmentSizing.EstimateBytes"/> counts them, the bytes of
/// the vector indexes attached to sealed segments (<see cref="Indexing.VectorIndex.MemoryBytes"/> when attached), and
/// the bytes writes in flight have reserved. Every charge is undone by the one owner that made it (a segment when it is
/// sealed or released, an index handle when its last reference goes), so the counts return to zero when the data goes.
/// Thread-safe.</summary>
internal sealed class MemoryLedger(long budgetBytes)
{
    private long _growing;
    private long _index;
    private long _reserved;

    /// <summary><see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    public long BudgetBytes { get; } = budgetBytes;

    public long GrowingBytes => Interlocked.Read(ref _growing);

    public long IndexBytes => Interlocked.Read(ref _index);

    /// <summary>Bytes reserved by writes between their admission and their apply.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reserved);

    /// <summary>Growing rows plus indexes (reservations not included).</summary>
    public long UsedBytes => GrowingBytes + IndexBytes;

    public void AddGrowing(long bytes)
    {
        var now = Interlocked.Add(ref _growing, bytes);
        Debug.Assert(now >= 0, "growing bytes went negative: a segment uncharged more than it charged");
    }

    public void AddIndex(long bytes)
    {
        var now = Interlocked.Add(ref _index, bytes);
        Debug.Assert(now >= 0, "index bytes went negative: a handle uncharged more than it charged");
    }

    /// <summary>Whether <paramref name="bytes"/> more would stay within the budget now.</summary>
    public bool Fits(long bytes) => UsedBytes + ReservedBytes + bytes <= BudgetBytes;

    /// <summary>Reserves <paramref name="bytes"/> if they fit beside what is held and reserved; false (nothing reserved)
    /// otherwise. A reservation is released with <see cref="Release"/> once the write's rows are charged (or it failed).</summary>
    public bool TryReserve(long bytes)
    {
        while (true)
        {
            var reserved = Interlocked.Read(ref _reserved);
            if (UsedBytes + reserved + bytes > BudgetBytes)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _reserved, reserved + bytes, reserved) == reserved)
            {
                return true;
            }
        }
    }

    public void Release(long bytes)
    {
        var now = Interlocked.Add(ref _reserved, -bytes);
        Debug.Assert(now >= 0, "reservations went negative");
    }
}
