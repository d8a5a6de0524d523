using System.Diagnostics;

namespace Quiver.Common;

/// <summary>What the engine holds in memory against <see cref="QuiverOptions.MemoryBudgetBytes"/>: the rows of growing
/// (and frozen, not yet sealed) segments as <see cref="Shards.SegmentSizing.EstimateBytes"/> counts them, the bytes of
/// the vector indexes attached to sealed segments (<see cref="Indexing.VectorIndex.MemoryBytes"/> when attached), the
/// delete marks of every segment (<see cref="Segments.Segment.DeleteMarkBytes"/> a mark), the merges being written (their
/// kept rows), and the bytes that writes in flight and index builds running have reserved. Every charge is undone by the
/// one owner that made it (a segment when it is sealed or released, an index handle when its last reference goes, a merge
/// when it ends), so the counts return to zero when the data goes.
/// <para>Admission (<see cref="TryReserve"/>, <see cref="TryConvert"/>) compares held plus reserved plus the new bytes
/// with the budget under one lock, so two admissions never both take the last room; the other charges are made by work
/// already admitted (rows applied, marks of a delete) and only add. Thread-safe.</para></summary>
internal sealed class MemoryLedger(long budgetBytes)
{
    private readonly Lock _lock = new();
    private long _growing;
    private long _index;
    private long _marks;
    private long _merges;
    private long _scalar;
    private long _reserved;
    private long _peak;

    /// <summary><see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    public long BudgetBytes { get; } = budgetBytes;

    public long GrowingBytes => Volatile.Read(ref _growing);

    public long IndexBytes => Volatile.Read(ref _index);

    /// <summary>Delete marks of every segment.</summary>
    public long DeleteMarkBytes => Volatile.Read(ref _marks);

    /// <summary>Rows of merges being written (compaction in flight).</summary>
    public long MergeBytes => Volatile.Read(ref _merges);

    /// <summary>Scalar indexes of sealed segments (built on a filter's demand).</summary>
    public long ScalarIndexBytes => Volatile.Read(ref _scalar);

    /// <summary>Bytes reserved by writes between their admission and their apply, and by index builds while they run.</summary>
    public long ReservedBytes => Volatile.Read(ref _reserved);

    /// <summary>Growing rows, indexes, delete marks and merges (reservations not included).</summary>
    public long UsedBytes
    {
        get
        {
            lock (_lock)
            {
                return Used;
            }
        }
    }

    /// <summary>The highest <see cref="UsedBytes"/> since the ledger was made (tests check it against the budget).</summary>
    public long PeakUsedBytes => Volatile.Read(ref _peak);

    private long Used => _growing + _index + _marks + _merges + _scalar;

    public void AddGrowing(long bytes) => Add(ref _growing, bytes);

    public void AddIndex(long bytes) => Add(ref _index, bytes);

    public void AddDeleteMarks(long bytes) => Add(ref _marks, bytes);

    public void AddMerge(long bytes) => Add(ref _merges, bytes);

    public void AddScalarIndex(long bytes) => Add(ref _scalar, bytes);

    private void Add(ref long counter, long bytes)
    {
        lock (_lock)
        {
            counter += bytes;
            Debug.Assert(counter >= 0, "a memory count went negative: an owner uncharged more than it charged");
            NotePeak();
        }
    }

    private void NotePeak()
    {
        var used = Used;
        if (used > _peak)
        {
            Volatile.Write(ref _peak, used);
        }
    }

    /// <summary>Whether <paramref name="bytes"/> more would stay within the budget now.</summary>
    public bool Fits(long bytes)
    {
        lock (_lock)
        {
            return Used + _reserved + bytes <= BudgetBytes;
        }
    }

    /// <summary>Whether <paramref name="bytes"/> could fit once everything that can be sealed to disk (the growing rows)
    /// is: what stays is the indexes, delete marks, merges and the other reservations.</summary>
    public bool FitsWithoutGrowing(long bytes)
    {
        lock (_lock)
        {
            return Used - _growing + _reserved + bytes <= BudgetBytes;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> if they fit beside what is held and reserved; false (nothing reserved)
    /// otherwise. A reservation is released with <see cref="Release"/> once the write's rows are charged (or it failed),
    /// or turned into a held charge with <see cref="TryConvert"/>.</summary>
    public bool TryReserve(long bytes)
    {
        lock (_lock)
        {
            if (Used + _reserved + bytes > BudgetBytes)
            {
                return false;
            }

            _reserved += bytes;
            return true;
        }
    }

    public void Release(long bytes)
    {
        lock (_lock)
        {
            _reserved -= bytes;
            Debug.Assert(_reserved >= 0, "reservations went negative");
        }
    }

    /// <summary>In one step: releases <paramref name="reserved"/> and charges <paramref name="bytes"/> of index memory, if
    /// the index fits in place of the reservation; false (the reservation kept) otherwise.</summary>
    public bool TryConvert(long reserved, long bytes)
    {
        lock (_lock)
        {
            if (Used + _reserved - reserved + bytes > BudgetBytes)
            {
                return false;
            }

            _reserved -= reserved;
            _index += bytes;
            NotePeak();
            return true;
        }
    }

    /// <summary>Charges <paramref name="bytes"/> of in-memory index (a sealed segment's BM25 postings or scalar indexes,
    /// built or loaded on a search's demand) if they fit beside what is held and reserved; false (nothing charged)
    /// otherwise.</summary>
    public bool TryAddIndex(long bytes, bool scalar = false)
    {
        lock (_lock)
        {
            if (Used + _reserved + bytes > BudgetBytes)
            {
                return false;
            }

            if (scalar)
            {
                _scalar += bytes;
            }
            else
            {
                _index += bytes;
            }

            NotePeak();
            return true;
        }
    }

    /// <summary>Charges <paramref name="bytes"/> of merge rows if they fit beside what is held and reserved; false
    /// (nothing charged) otherwise.</summary>
    public bool TryAddMerge(long bytes)
    {
        lock (_lock)
        {
            if (Used + _reserved + bytes > BudgetBytes)
            {
                return false;
            }

            _merges += bytes;
            NotePeak();
            return true;
        }
    }
}
