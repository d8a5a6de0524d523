using Quiver.Common;
using Quiver.Filtering;
using Quiver.Segments;

namespace Quiver.Search;

/// <summary>Per sealed segment: the bitmaps of the last few filters evaluated over it by scanning its columns, so that a
/// filter repeated on a segment whose columns no longer change is evaluated once, not once per read.
/// <list type="bullet">
/// <item>The filter's own rows depend only on the segment's columns, which a sealed segment never changes: they are kept
/// under the bound filter (by reference: <see cref="ReadPlanCache"/> hands the same plan to every read of one text and
/// schema) and the segment's schema (an added field gives the segment a new one).</item>
/// <item>Those rows AND the segment's live rows (<see cref="SegmentSnapshot.Visible(long)"/>) are kept as well, under the
/// shared live bitmap they were built from: the segment builds one per number of delete marks a reader observes, so a
/// delete (its delete generation) makes the next read build the intersection once, and the reads after it take it as it is.</item>
/// </list>
/// A read at an older timestamp, or with the TTL masking rows, gets a bitmap of its own (one AND of words). Filters with
/// template parameters are bound per call and are not kept. Bounded: <see cref="Capacity"/> filters per segment, the least
/// recently used out first, so at most <c>2 × Capacity</c> bitmaps of rows / 8 bytes (one byte per row with the default).
/// <para>Every bitmap kept is charged to the engine's memory budget (<see cref="Bitmap.MemoryBytes"/>, held as
/// <see cref="EngineMemoryUsage.FilterCacheBytes"/> through the owning segment) and taken back when it is dropped; a
/// bitmap that does not fit is not kept, and the read uses it once as if the cache were off, with the same rows. The
/// ledger drops every cache (<see cref="Evict"/>) before it would refuse a write, index or merge for want of room.</para>
/// Bitmaps handed out are shared and never changed. Thread-safe.</summary>
internal sealed class FilterBitmapCache(Segment? owner = null) : MemoryLedger.IEvictable
{
    /// <summary>Filters kept per segment.</summary>
    public const int Capacity = 4;

    private readonly Lock _lock = new();
    private readonly Entry?[] _entries = new Entry?[Capacity];
    private long _clock;
    private long _evaluations;

    /// <summary>Filters evaluated over the segment's columns through this cache (each miss once), for tests.</summary>
    public long Evaluations => Interlocked.Read(ref _evaluations);

    /// <summary>Whether a read of <paramref name="snap"/> with <paramref name="filter"/> may go through the segment's cache:
    /// the snapshot covers every row of a sealed segment, and the filter is one shared plan (no template parameters).</summary>
    public static bool Applies(SegmentSnapshot snap, BoundFilter filter) =>
        filter.Parameters is null && snap.Segment.IsSealed && snap.RowCount == snap.Segment.Count;

    /// <summary>The rows of <paramref name="snap"/> matching <paramref name="filter"/> among <paramref name="visible"/>
    /// (null: every row; else <paramref name="visibleCount"/> of them). <paramref name="sharedVisible"/> says that
    /// <paramref name="visible"/> is the segment's shared live bitmap, which the cache may key the intersection by.</summary>
    public AllowedRows Allowed(SegmentSnapshot snap, BoundFilter filter, Bitmap? visible, int visibleCount, bool sharedVisible)
    {
        var entry = Matches(snap, filter);
        if (visible is null)
        {
            return new AllowedRows(entry.Matches, entry.MatchCount);
        }

        if (visibleCount == snap.RowCount)
        {
            return new AllowedRows(entry.Matches, entry.MatchCount);
        }

        if (!sharedVisible)
        {
            return Intersect(entry.Matches, visible);
        }

        var combined = Volatile.Read(ref entry.Combined);
        if (combined is not null && ReferenceEquals(combined.Visible, visible))
        {
            return combined.Rows;
        }

        var rows = Intersect(entry.Matches, visible);
        lock (_lock)
        {
            // Kept only while the entry is, in place of the intersection with an older live bitmap (whose bytes make
            // room for it), and if it fits.
            var old = entry.Combined;
            if (entry.Kept && owner?.TryReplaceDerived(old?.Rows.Bits!.MemoryBytes ?? 0, rows.Bits!.MemoryBytes, DerivedKind.FilterCache) != false)
            {
                Volatile.Write(ref entry.Combined, new Combination(visible, rows));
            }
        }

        return rows;
    }

    /// <summary>Bytes of the bitmaps kept now (what the cache has charged), for tests.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                long bytes = 0;
                foreach (var e in _entries)
                {
                    bytes += e is null ? 0 : Bytes(e);
                }

                return bytes;
            }
        }
    }

    private static AllowedRows Intersect(Bitmap matches, Bitmap visible)
    {
        var bits = matches.Clone();
        bits.And(visible);
        return new AllowedRows(bits, bits.PopCount());
    }

    private Entry Matches(SegmentSnapshot snap, BoundFilter filter)
    {
        var schema = snap.Schema;
        lock (_lock)
        {
            foreach (var e in _entries)
            {
                if (e is not null && ReferenceEquals(e.Filter, filter) && ReferenceEquals(e.Schema, schema))
                {
                    e.LastUse = ++_clock;
                    return e;
                }
            }
        }

        // Evaluated outside the lock: a scan is the slow part, and two readers evaluating one filter both get its rows.
        Interlocked.Increment(ref _evaluations);
        var matches = filter.Evaluate(snap);
        var entry = new Entry(filter, schema, matches, matches.PopCount());
        lock (_lock)
        {
            var slot = 0;
            for (var i = 0; i < _entries.Length; i++)
            {
                if (_entries[i] is not { } e)
                {
                    slot = i;
                    break;
                }

                if (ReferenceEquals(e.Filter, filter) && ReferenceEquals(e.Schema, schema))
                {
                    e.LastUse = ++_clock;
                    return e;
                }

                if (e.LastUse < _entries[slot]!.LastUse)
                {
                    slot = i;
                }
            }

            // The least recently used makes room for the new one, and goes only if the new one fits in its place.
            var evicted = _entries[slot];
            if (owner?.TryReplaceDerived(evicted is null ? 0 : Bytes(evicted), matches.MemoryBytes, DerivedKind.FilterCache) == false)
            {
                // Past the budget: this read uses the rows once; nothing is kept, and nothing kept is dropped for it.
                return entry;
            }

            if (evicted is not null)
            {
                // Its bytes were taken back by the replacement.
                evicted.Kept = false;
            }

            owner?.Ledger?.Register(this);
            entry.Kept = true;
            entry.LastUse = ++_clock;
            _entries[slot] = entry;
        }

        return entry;
    }

    /// <summary>Drops every filter kept and gives their bytes back (the ledger needs the room, or the segment goes).</summary>
    public void Evict()
    {
        lock (_lock)
        {
            for (var i = 0; i < _entries.Length; i++)
            {
                if (_entries[i] is { } e)
                {
                    _entries[i] = null;
                    Drop(e);
                }
            }

            owner?.Ledger?.Unregister(this);
        }
    }

    /// <summary>Takes back what a dropped entry's bitmaps charged. The caller holds the lock.</summary>
    private void Drop(Entry entry)
    {
        entry.Kept = false;
        owner?.UnchargeDerived(Bytes(entry), DerivedKind.FilterCache);
    }

    /// <summary>What an entry's bitmaps charged. The caller holds the lock.</summary>
    private static long Bytes(Entry entry) => entry.Matches.MemoryBytes + (entry.Combined?.Rows.Bits!.MemoryBytes ?? 0);

    /// <summary>The filter's rows AND one live bitmap, and that bitmap (compared by reference).</summary>
    private sealed record Combination(Bitmap Visible, AllowedRows Rows);

    private sealed class Entry(BoundFilter filter, CollectionSchema schema, Bitmap matches, int matchCount)
    {
        public readonly BoundFilter Filter = filter;
        public readonly CollectionSchema Schema = schema;
        public readonly Bitmap Matches = matches;
        public readonly int MatchCount = matchCount;
        public Combination? Combined;
        public long LastUse;

        /// <summary>In the cache, with its bitmaps charged (changed under the cache's lock).</summary>
        public bool Kept;
    }
}
