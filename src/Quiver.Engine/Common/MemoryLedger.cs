using System.Collections.Concurrent;
using System.Diagnostics;

namespace Quiver.Common;

/// <summary>What a structure derived from a sealed segment's columns (or a growing segment's BM25 rows) is held as in
/// the <see cref="MemoryLedger"/>: each kind is reported apart (<see cref="EngineMemoryUsage"/>).</summary>
internal enum DerivedKind
{
    /// <summary>BM25 postings (sealed and growing), counted with the vector indexes.</summary>
    Index,

    /// <summary>Scalar indexes and token indexes (TEXT_MATCH, PHRASE_MATCH).</summary>
    Scalar,

    /// <summary>Bitmaps of scanned filters (<see cref="Search.FilterBitmapCache"/>).</summary>
    FilterCache,
}

/// <summary>What the engine holds in memory against <see cref="QuiverOptions.MemoryBudgetBytes"/>: the rows of growing
/// (and frozen, not yet sealed) segments as <see cref="Shards.SegmentSizing.EstimateBytes"/> counts them, the bytes of
/// the vector indexes attached to sealed segments (<see cref="Indexing.VectorIndex.MemoryBytes"/> when attached), the
/// delete marks of every segment (<see cref="Segments.Segment.DeleteMarkBytes"/> a mark), the merges being written (their
/// kept rows), the structures derived from segments on a read's demand (<see cref="DerivedKind"/>), and the bytes that writes in flight and index builds running have reserved. Every charge is undone by the
/// one owner that made it (a segment when it is sealed or released, an index handle when its last reference goes, a merge
/// when it ends), so the counts return to zero when the data goes.
/// <para>Admission (<see cref="TryReserve"/>, <see cref="TryConvert"/>) compares held plus reserved plus the new bytes
/// with the budget under one lock, so two admissions never both take the last room; the other charges are made by work
/// already admitted (rows applied, marks of a delete) and only add.</para>
/// <para>The filter bitmaps kept for reuse (<see cref="DerivedKind.FilterCache"/>) are a cache: counted in what the
/// engine holds, but an admission they would refuse (anything other than another filter bitmap) first drops every
/// cache registered (<see cref="Register"/>) and tries again, so that a write, index or merge is never refused for a
/// cache's sake; one that would not fit even without them is refused with the caches kept. Thread-safe.</para></summary>
internal sealed class MemoryLedger(long budgetBytes)
{
    private readonly Lock _lock = new();
    private long _growing;
    private long _index;
    private long _marks;
    private long _merges;
    private long _scalar;
    private long _filterCache;
    private long _reserved;
    private long _peak;

    // The caches whose bytes are charged as FilterCache, dropped when an admission needs their room. Called outside the
    // lock: a cache takes its own lock and then charges or uncharges here.
    private readonly ConcurrentDictionary<IEvictable, byte> _evictable = new();

    /// <summary>A cache that can give all its charged bytes back on demand.</summary>
    internal interface IEvictable
    {
        /// <summary>Drops everything kept and uncharges it.</summary>
        void Evict();
    }

    /// <summary>Registers a cache holding <see cref="DerivedKind.FilterCache"/> bytes (again is harmless).</summary>
    public void Register(IEvictable cache) => _evictable.TryAdd(cache, 0);

    /// <summary>Forgets a cache that holds nothing any more.</summary>
    public void Unregister(IEvictable cache) => _evictable.TryRemove(cache, out _);

    /// <summary>Drops every registered cache when there is something to drop and <paramref name="bytes"/> more would fit
    /// once it is gone; whether it did. An admission that would not fit even without the caches (a scalar index larger
    /// than the room left, say) leaves them alone: dropping them would cost every later read its bitmaps for nothing.</summary>
    private bool EvictCaches(long bytes)
    {
        lock (_lock)
        {
            if (_filterCache == 0 || Used - _filterCache + _reserved + bytes > BudgetBytes)
            {
                return false;
            }
        }

        foreach (var cache in _evictable.Keys)
        {
            cache.Evict();
        }

        return true;
    }

    /// <summary><see cref="QuiverOptions.MemoryBudgetBytes"/>.</summary>
    public long BudgetBytes { get; } = budgetBytes;

    public long GrowingBytes => Volatile.Read(ref _growing);

    public long IndexBytes => Volatile.Read(ref _index);

    /// <summary>Delete marks of every segment.</summary>
    public long DeleteMarkBytes => Volatile.Read(ref _marks);

    /// <summary>Rows of merges being written (compaction in flight).</summary>
    public long MergeBytes => Volatile.Read(ref _merges);

    /// <summary>Scalar and token indexes of sealed segments (built on a filter's demand).</summary>
    public long ScalarIndexBytes => Volatile.Read(ref _scalar);

    /// <summary>Bitmaps of scanned filters kept by sealed segments (<see cref="Search.FilterBitmapCache"/>).</summary>
    public long FilterCacheBytes => Volatile.Read(ref _filterCache);

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

    private long Used => _growing + _index + _marks + _merges + _scalar + _filterCache;

    public void AddGrowing(long bytes) => Add(ref _growing, bytes);

    public void AddIndex(long bytes) => Add(ref _index, bytes);

    public void AddDeleteMarks(long bytes) => Add(ref _marks, bytes);

    public void AddMerge(long bytes) => Add(ref _merges, bytes);

    /// <summary>Adds (or, negative, takes back) <paramref name="bytes"/> of a derived structure of <paramref name="kind"/>.</summary>
    public void AddDerived(long bytes, DerivedKind kind) => Add(ref Counter(kind), bytes);

    private ref long Counter(DerivedKind kind)
    {
        switch (kind)
        {
            case DerivedKind.Scalar:
                return ref _scalar;
            case DerivedKind.FilterCache:
                return ref _filterCache;
            default:
                return ref _index;
        }
    }

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

    /// <summary>Whether <paramref name="bytes"/> more would stay within the budget now, once the filter caches were
    /// dropped if need be.</summary>
    public bool Fits(long bytes)
    {
        lock (_lock)
        {
            return Used - _filterCache + _reserved + bytes <= BudgetBytes;
        }
    }

    /// <summary>Whether <paramref name="bytes"/> could fit once everything that can be sealed to disk (the growing rows)
    /// is: what stays is the indexes, delete marks, merges and the other reservations.</summary>
    public bool FitsWithoutGrowing(long bytes)
    {
        lock (_lock)
        {
            return Used - _growing - _filterCache + _reserved + bytes <= BudgetBytes;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> if they fit beside what is held and reserved; false (nothing reserved)
    /// otherwise. A reservation is released with <see cref="Release"/> once the write's rows are charged (or it failed),
    /// or turned into a held charge with <see cref="TryConvert"/>.</summary>
    public bool TryReserve(long bytes) => TryReserveOnce(bytes) || (EvictCaches(bytes) && TryReserveOnce(bytes));

    private bool TryReserveOnce(long bytes)
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
    public bool TryConvert(long reserved, long bytes) => TryConvertOnce(reserved, bytes) || (EvictCaches(bytes - reserved) && TryConvertOnce(reserved, bytes));

    private bool TryConvertOnce(long reserved, long bytes)
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

    /// <summary>Charges <paramref name="bytes"/> of a structure derived from a segment (BM25 postings, scalar and token
    /// indexes, built or loaded on a search's demand; filter bitmaps kept for reuse) as <paramref name="kind"/> if they
    /// fit beside what is held and reserved; false (nothing charged) otherwise.</summary>
    public bool TryAddDerived(long bytes, DerivedKind kind) =>
        TryAddDerivedOnce(bytes, kind) || (kind != DerivedKind.FilterCache && EvictCaches(bytes) && TryAddDerivedOnce(bytes, kind));

    private bool TryAddDerivedOnce(long bytes, DerivedKind kind)
    {
        lock (_lock)
        {
            if (Used + _reserved + bytes > BudgetBytes)
            {
                return false;
            }

            Counter(kind) += bytes;
            NotePeak();
            return true;
        }
    }

    /// <summary>In one step: takes back <paramref name="freed"/> bytes held as <paramref name="kind"/> and charges
    /// <paramref name="bytes"/> in their place, if the new bytes fit once the old are gone; false (nothing changed)
    /// otherwise. For a cache that would drop one entry to keep another: the old one stays unless the new one is kept.
    /// Never drops the filter caches to make room.</summary>
    public bool TryReplaceDerived(long freed, long bytes, DerivedKind kind)
    {
        lock (_lock)
        {
            if (bytes > freed && Used + _reserved - freed + bytes > BudgetBytes)
            {
                return false;
            }

            Counter(kind) += bytes - freed;
            Debug.Assert(Counter(kind) >= 0, "a memory count went negative: an owner uncharged more than it charged");
            NotePeak();
            return true;
        }
    }

    /// <summary>Charges <paramref name="bytes"/> of merge rows if they fit beside what is held and reserved; false
    /// (nothing charged) otherwise.</summary>
    public bool TryAddMerge(long bytes) => TryAddMergeOnce(bytes) || (EvictCaches(bytes) && TryAddMergeOnce(bytes));

    private bool TryAddMergeOnce(long bytes)
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
