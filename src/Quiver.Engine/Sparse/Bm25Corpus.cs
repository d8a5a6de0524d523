using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Common;
using Quiver.Catalog;
using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Shards;
using Quiver.Storage;

namespace Quiver.Sparse;

/// <summary>BM25's corpus statistics (N, the summed row length, df per term) kept per segment and brought up to date
/// incrementally, so that a search pays for what changed since the last one, not for the corpus:
/// <list type="bullet">
/// <item>a sealed segment's totals are its postings' (fixed); a growing segment's are counted over the rows appended
/// since the last search (each row once), and those rows are appended to the segment's growing postings
/// (<see cref="Bm25GrowingPostings"/>), which its searches score;</item>
/// <item>deletes (and upserts, which delete) are a prefix of the segment's append-only delete log: the marks logged
/// since the last search are subtracted, each once (its row's terms read from the column);</item>
/// <item>compaction makes new segments with statistics of their own; a dropped segment's go with it;</item>
/// <item>TTL: segments wholly expired are out of the view; a segment straddling the cut subtracts its expired rows at
/// each search (rows / 64 words to find them, plus their terms).</item>
/// </list>
/// A read at a timestamp older than some of the snapshot's writes (which the engine's own searches never do) walks the
/// segment's visible rows instead.
/// <para>A sealed segment's postings count against the engine's <see cref="QuiverOptions.IndexMemoryBudgetBytes"/> as
/// the memory of the field's index (<see cref="Bm25Budget"/>): a segment whose postings would take the field's loaded
/// postings past it gets none; its statistics are counted from its rows (a count per distinct term) and its rows are
/// scored one by one, exactly. A growing segment's postings are held against the engine's memory budget as in-memory
/// index too (<see cref="EngineMemoryUsage.IndexBytes"/>, their arrays' capacity, charged as they grow): when a search's
/// appends take them past it, they are dropped for a count per term, and the segment's rows are scored one by one,
/// with the same scores. The counts per term that stand in for postings (a sealed segment without them, a growing one
/// whose postings were dropped) are held against the same budget as in-memory index too
/// (<see cref="FieldState.TermCountBytes"/> a slot of their dictionary): when they do not fit they are not kept, and
/// each search counts its query terms over the segment's rows instead, with the same totals. So are the counts of
/// deleted rows' terms (one per distinct term of the segment's deleted rows, 20 bytes a slot): when they do not fit
/// none are kept and each search takes its query terms out over the segment's delete marks, with the same totals.</para>
/// Thread-safety: one lock per (segment, field), held while a search brings it up to
/// date and reads its query terms' counts.</summary>
internal static class Bm25Corpus
{
    private static readonly ConditionalWeakTable<Segment, SegmentFields> States = new();

    /// <summary>Statistics over the rows of <paramref name="view"/> visible at its timestamp and not expired, for the
    /// query terms numbered by <paramref name="terms"/>.</summary>
    public static Bm25Search.Corpus Statistics(
        Shard shard, ReadView view, int fieldIndex, Dictionary<uint, int> terms, Bm25Budget budget, CancellationToken cancellationToken)
    {
        var df = new long[terms.Count];
        long rows = 0;
        double length = 0;
        foreach (var snap in view.Segments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var column = (SparseColumn)snap.GetColumn(fieldIndex);
            if (!snap.SeesAllAt(view.Timestamp))
            {
                var visible = QueryExecutor.Allowed(snap, view.Timestamp, null, view.ExpireBefore);
                Walk(column, snap.RowCount, visible.AsBitmap(snap.RowCount), terms, df, ref rows, ref length);
                continue;
            }

            var state = StateOf(snap.Segment, fieldIndex);
            lock (state)
            {
                var postings = IsWhole(snap) ? state.Postings(shard, snap, fieldIndex, column, budget, cancellationToken) : null;
                state.Add(snap, column, postings, terms, df, ref rows, ref length);
            }

            SubtractExpired(snap, view, column, terms, df, ref rows, ref length);
        }

        return new Bm25Search.Corpus(rows, length, df);
    }

    /// <summary>The postings of a sealed segment wholly in the snapshot (mapped from its file, or built and saved on the
    /// first search), else null; null too when they do not fit <paramref name="budget"/>.</summary>
    public static Bm25Postings? PostingsOf(Shard shard, SegmentSnapshot snap, int fieldIndex, Bm25Budget budget, CancellationToken cancellationToken)
    {
        if (!IsWhole(snap))
        {
            return null;
        }

        var state = StateOf(snap.Segment, fieldIndex);
        lock (state)
        {
            return state.Postings(shard, snap, fieldIndex, (SparseColumn)snap.GetColumn(fieldIndex), budget, cancellationToken);
        }
    }

    /// <summary>The growing postings of <paramref name="terms"/> covering at least the snapshot's rows, or null when the
    /// segment has none that far (a sealed segment, or a read the statistics walked instead).</summary>
    public static Bm25GrowingPostings.View? GrowingOf(SegmentSnapshot snap, int fieldIndex, IReadOnlyList<(uint Term, float Weight)> terms)
    {
        var state = StateOf(snap.Segment, fieldIndex);
        lock (state)
        {
            return state.Growing is { } g && g.RowCount >= snap.RowCount ? g.Take(terms) : null;
        }
    }

    /// <summary>Bytes of the postings loaded for the field over <paramref name="segments"/> (the field's index memory).</summary>
    public static long LoadedBytes(IEnumerable<Segment> segments, int fieldIndex)
    {
        long bytes = 0;
        foreach (var segment in segments)
        {
            bytes += States.TryGetValue(segment, out var fields) ? fields.Get(fieldIndex).LoadedBytes : 0;
        }

        return bytes;
    }

    /// <summary>After a list of mapped postings failed its check: forgets them and deletes their file, so that the next
    /// search rebuilds them from the segment's column (postings are derived data).</summary>
    public static void Discard(Shard shard, SegmentSnapshot snap, int fieldIndex, Bm25Postings damaged)
    {
        var state = StateOf(snap.Segment, fieldIndex);
        lock (state)
        {
            state.Discard(shard.FileSystem, snap.Segment, damaged);
        }
    }

    /// <summary>Bytes the counts per term of <paramref name="segment"/>'s field charge to the memory budget (0 when it keeps
    /// none: postings, or counts that did not fit). For tests.</summary>
    internal static long CountBytesOf(Segment segment, int fieldIndex)
    {
        var state = StateOf(segment, fieldIndex);
        lock (state)
        {
            return state.CountBytes;
        }
    }

    /// <summary>Bytes the counts per term of <paramref name="segment"/>'s deleted rows charge to the memory budget (0 when
    /// it keeps none: no deletes counted yet, or counts that did not fit). For tests.</summary>
    internal static long DeletedCountBytesOf(Segment segment, int fieldIndex)
    {
        var state = StateOf(segment, fieldIndex);
        lock (state)
        {
            return state.DeletedCountBytes;
        }
    }

    /// <summary>The statistics by walking every visible row (the reference path, and reads at an older timestamp).</summary>
    public static Bm25Search.Corpus Walk(ReadView view, int fieldIndex, Dictionary<uint, int> terms, CancellationToken cancellationToken)
    {
        var df = new long[terms.Count];
        long rows = 0;
        double length = 0;
        foreach (var snap in view.Segments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var visible = QueryExecutor.Allowed(snap, view.Timestamp, null, view.ExpireBefore);
            Walk((SparseColumn)snap.GetColumn(fieldIndex), snap.RowCount, visible.AsBitmap(snap.RowCount), terms, df, ref rows, ref length);
        }

        return new Bm25Search.Corpus(rows, length, df);
    }

    private static bool IsWhole(SegmentSnapshot snap) => snap.Segment.IsSealed && snap.RowCount == snap.Segment.Count;

    private static FieldState StateOf(Segment segment, int fieldIndex) =>
        States.GetValue(segment, static _ => new SegmentFields()).Get(fieldIndex);

    private static void Walk(SparseColumn column, int rowCount, Bitmap? visible, Dictionary<uint, int> terms, long[] df, ref long rows, ref double length)
    {
        byte[]? scratch = null;
        for (var row = 0; row < rowCount; row++)
        {
            if (visible is null || visible[row])
            {
                rows++;
                length += Count(column.Pairs(row, ref scratch), terms, df, 1);
            }
        }
    }

    /// <summary>Adds <paramref name="sign"/> × the row's terms to the query terms' df and returns its length.</summary>
    private static double Count(ReadOnlySpan<byte> pairs, Dictionary<uint, int> terms, long[] df, int sign)
    {
        double length = 0;
        for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
        {
            var (term, tf) = Bm25Postings.Pair(pairs, i);
            length += tf;
            if (terms.TryGetValue(term, out var slot))
            {
                df[slot] += sign;
            }
        }

        return length;
    }

    /// <summary>Takes out of the totals the rows of a segment straddling the TTL cut that are expired but still counted
    /// (visible at the view's timestamp).</summary>
    private static void SubtractExpired(SegmentSnapshot snap, ReadView view, SparseColumn column, Dictionary<uint, int> terms, long[] df, ref long rows, ref double length)
    {
        Bitmap? kept = null;
        var count = snap.RowCount;
        RowExpiry.Restrict(snap, view.ExpireBefore, ref kept, ref count);
        if (kept is null)
        {
            return;
        }

        byte[]? scratch = null;
        var words = kept.Words;
        for (var w = 0; w < words.Length; w++)
        {
            var expired = ~words[w];
            while (expired != 0)
            {
                var row = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(expired);
                expired &= expired - 1;
                if (row < snap.RowCount && snap.IsVisible(row, view.Timestamp))
                {
                    rows--;
                    length -= Count(column.Pairs(row, ref scratch), terms, df, -1);
                }
            }
        }
    }

    private sealed class SegmentFields
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, FieldState> _fields = new();

        public FieldState Get(int fieldIndex) => _fields.GetOrAdd(fieldIndex, static _ => new FieldState());
    }

    /// <summary>One segment's statistics for one BM25 field: the totals of the first <see cref="_rows"/> rows (growing
    /// segments; a sealed one reads its postings'), less the first <see cref="_marks"/> delete marks.</summary>
    internal sealed class FieldState
    {
        private Dictionary<uint, int>? _deletedDf;
        private long _deletedCharged;
        private long _deletedRefused = -1;
        private Bm25Postings? _postings;
        private long _postingsBytes = -1;
        private Bm25GrowingPostings? _growing;
        private long _growingCharged;
        private bool _growingDropped;
        private Dictionary<uint, int>? _df;
        private long _dfCharged;
        private long _dfRefused = -1;
        private double _length;
        private int _rows;
        private double _deletedLength;
        private int _marks;

        /// <summary>The growing postings (a growing segment, or one sealed in place without postings of its own yet).
        /// The caller holds the lock.</summary>
        public Bm25GrowingPostings? Growing => _growing;

        /// <summary>Bytes of the sealed postings held (0 when none). Thread-safe.</summary>
        public long LoadedBytes => Volatile.Read(ref _postings)?.MemoryBytes ?? 0;
        /// <summary>Adds the snapshot's totals for the query terms; the caller holds the lock and has checked that the
        /// snapshot sees all its rows and marks at the read's timestamp.</summary>
        public void Add(SegmentSnapshot snap, SparseColumn column, Bm25Postings? postings, Dictionary<uint, int> terms, long[] df, ref long rows, ref double length)
        {
            var marks = snap.Marks;
            if ((postings is null && snap.RowCount < _rows) || marks.Count < _marks)
            {
                // An older snapshot than the one last counted: count this one on its own.
                var visible = snap.Visible(long.MaxValue);
                Walk(column, snap.RowCount, visible, terms, df, ref rows, ref length);
                return;
            }

            byte[]? scratch = null;
            if (postings is null && !CountRows(snap.Segment, snap.RowCount, column, ref scratch))
            {
                // No room for the counts per term in the memory budget: this search counts its query terms over the
                // segment's rows (the same totals, so the same scores).
                Walk(column, snap.RowCount, snap.Visible(long.MaxValue), terms, df, ref rows, ref length);
                return;
            }

            var deleted = CountMarks(snap.Segment, column, marks, ref scratch);
            rows += (postings?.RowCount ?? _rows) - marks.Count;
            length += (postings?.TotalLength ?? _growing?.TotalLength ?? _length) - _deletedLength;
            foreach (var (term, slot) in terms)
            {
                long n = postings is not null
                    ? postings.Find(term) is var s and >= 0 ? postings.DocumentFrequency(s) : 0
                    : _growing?.DocumentFrequency(term) ?? _df!.GetValueOrDefault(term);
                df[slot] += n - (deleted?.GetValueOrDefault(term) ?? 0);
            }

            if (deleted is null)
            {
                // No room for the deleted rows' counts per term: this search takes its query terms out row by row over
                // the segment's delete marks (the same totals).
                var log = marks.Entries;
                for (var m = 0; m < marks.Count; m++)
                {
                    Count(column.Pairs(log[m].Row, ref scratch), terms, df, -1);
                }
            }
        }

        /// <summary>Brings the deleted rows' length (always) and counts per term (when they fit) up to the snapshot's delete
        /// marks, and charges what the counts grew by to the engine's memory budget. Returns the counts, or null when they
        /// do not fit (then none are kept; counts refused before are rebuilt from the first mark once their size fits).
        /// The caller holds the lock.</summary>
        private Dictionary<uint, int>? CountMarks(Segment segment, SparseColumn column, DeleteLogView marks, ref byte[]? scratch)
        {
            var first = _marks;
            if (_deletedDf is null && marks.Count > 0 && (_deletedRefused < 0 || segment.FitsDerived(_deletedRefused)))
            {
                // First marks of the segment, or counts refused before: counted from the first mark (the length only
                // from the first mark not counted yet).
                _deletedDf = [];
                first = 0;
            }

            var log = marks.Entries;
            for (var m = first; m < marks.Count; m++)
            {
                var pairs = column.Pairs(log[m].Row, ref scratch);
                for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
                {
                    var (term, tf) = Bm25Postings.Pair(pairs, i);
                    if (m >= _marks)
                    {
                        _deletedLength += tf;
                    }

                    if (_deletedDf is not null)
                    {
                        CollectionsMarshal.GetValueRefOrAddDefault(_deletedDf, term, out _)++;
                    }
                }
            }

            _marks = Math.Max(_marks, marks.Count);
            if (_deletedDf is null)
            {
                return null;
            }

            var bytes = (long)_deletedDf.Capacity * TermCountBytes;
            var grown = bytes - _deletedCharged;
            if (grown <= 0)
            {
                segment.UnchargeDerived(-grown);
            }
            else if (!segment.TryChargeDerived(grown))
            {
                _deletedRefused = bytes;
                _deletedDf = null;
                segment.UnchargeDerived(_deletedCharged);
                _deletedCharged = 0;
                return null;
            }

            _deletedCharged = bytes;
            _deletedRefused = -1;
            return _deletedDf;
        }

        /// <summary>Bytes the deleted rows' counts per term are charged now (0 when the segment keeps none). The caller
        /// holds the lock.</summary>
        public long DeletedCountBytes => _deletedCharged;

        /// <summary>Bytes a count per term is charged: a <c>Dictionary&lt;uint, int&gt;</c> entry (hash, next, key, value) and
        /// its bucket, per slot of the dictionary's capacity.</summary>
        public const int TermCountBytes = 20;

        /// <summary>Bytes the counts per term are charged now (0 when the segment keeps none). The caller holds the
        /// lock.</summary>
        public long CountBytes => _dfCharged;

        /// <summary>Brings the growing postings, or the counts per term, up to the first <paramref name="rowCount"/> rows
        /// of a segment searched without sealed postings, and charges what they grew by to the engine's memory budget.
        /// False when the counts per term do not fit (then none are kept: the caller walks the rows); counts refused
        /// before are not counted again until their size fits. The caller holds the lock.</summary>
        private bool CountRows(Segment segment, int rowCount, SparseColumn column, ref byte[]? scratch)
        {
            if (_growing is null && _df is null)
            {
                if (_dfRefused >= 0 && !segment.FitsDerived(_dfRefused))
                {
                    return false;
                }

                // The first search of the segment, or counts dropped before: count from the first row.
                _rows = 0;
                _length = 0;
                if (!segment.IsSealed && !_growingDropped)
                {
                    _growing = new Bm25GrowingPostings();
                }
                else
                {
                    _df = [];
                }
            }

            var counted = _rows;
            for (; _rows < rowCount; _rows++)
            {
                var pairs = column.Pairs(_rows, ref scratch);
                if (_growing is { } growing)
                {
                    growing.Append(pairs);
                    continue;
                }

                for (var i = 0; i < pairs.Length; i += SparseVector.PairBytes)
                {
                    var (term, tf) = Bm25Postings.Pair(pairs, i);
                    _length += tf;
                    CollectionsMarshal.GetValueRefOrAddDefault(_df!, term, out _)++;
                }
            }

            ChargeGrowing(segment);
            if (_df is null)
            {
                return true;
            }

            if (segment.IsSealed && _rows > counted && _rows == segment.Count)
            {
                // A sealed segment's counts are complete: give back the dictionary's growth slack.
                _df.TrimExcess();
            }

            return ChargeCounts(segment);
        }

        /// <summary>Charges what the counts per term grew by (or gives back what they shrank by); when that does not fit,
        /// drops them, remembers their size and returns false. The caller holds the lock.</summary>
        private bool ChargeCounts(Segment segment)
        {
            var bytes = (long)_df!.Capacity * TermCountBytes;
            var grown = bytes - _dfCharged;
            if (grown <= 0)
            {
                segment.UnchargeDerived(-grown);
            }
            else if (!segment.TryChargeDerived(grown))
            {
                _dfRefused = bytes;
                DropCounts(segment);
                return false;
            }

            _dfCharged = bytes;
            _dfRefused = -1;
            return true;
        }

        /// <summary>Forgets the counts per term and gives back their charge. The caller holds the lock.</summary>
        private void DropCounts(Segment segment)
        {
            _df = null;
            segment.UnchargeDerived(_dfCharged);
            _dfCharged = 0;
            _rows = 0;
            _length = 0;
        }

        /// <summary>Charges what the growing postings grew by since the last charge; when that does not fit the budget,
        /// keeps a count per term in their place (the totals stay the same; charged by the caller) and gives their bytes
        /// back. The caller holds the lock.</summary>
        private void ChargeGrowing(Segment segment)
        {
            if (_growing is not { } growing)
            {
                return;
            }

            var grown = growing.MemoryBytes - _growingCharged;
            if (segment.TryChargeDerived(grown))
            {
                _growingCharged += grown;
                return;
            }

            _df = growing.DocumentFrequencies();
            _length = growing.TotalLength;
            _growingDropped = true;
            DropGrowing(segment);
        }

        /// <summary>Forgets the growing postings and gives back their charge. The caller holds the lock.</summary>
        private void DropGrowing(Segment segment)
        {
            _growing = null;
            segment.UnchargeDerived(_growingCharged);
            _growingCharged = 0;
        }

        /// <summary>The sealed segment's postings: in memory once loaded; else mapped from the index file of the field's
        /// index when there is a valid one, else built (and saved there when the field has an index). Null when they do
        /// not fit <paramref name="budget"/> (their size is remembered, so a later search does not load them again to
        /// find out unless the budget has room for them by then).</summary>
        public Bm25Postings? Postings(Shard shard, SegmentSnapshot snap, int fieldIndex, SparseColumn column, Bm25Budget budget, CancellationToken cancellationToken)
        {
            if (_postings is not null)
            {
                return _postings;
            }

            if (_postingsBytes >= 0 && (!budget.Fits(_postingsBytes) || !snap.Segment.FitsDerived(_postingsBytes)))
            {
                return null;
            }

            var segment = snap.Segment;
            var index = shard.Meta.Indexes.FirstOrDefault(i => i.FieldName == shard.Schema.Fields[fieldIndex].Name);
            var path = index is null ? null : Path.Combine(shard.IndexFolder, IndexMeta.FileName(index.Id, segment.Id));
            var fs = shard.FileSystem;
            var postings = path is not null ? Bm25Postings.TryLoad(fs, path, segment.Count, out _) : null;
            if (postings is null)
            {
                postings = Bm25Postings.Build(column, segment.Count, cancellationToken);
                if (path is not null && index is not null)
                {
                    Save(fs, path, index, postings);
                }
            }

            // Two limits: the field's index budget (IndexMemoryBudgetBytes) and the engine's memory budget, where the
            // postings are held as in-memory index until the segment goes.
            _postingsBytes = postings.MemoryBytes;
            if (!budget.Fits(_postingsBytes) || !segment.TryChargeDerived(_postingsBytes))
            {
                postings.Dispose();
                return null;
            }

            budget.Take(_postingsBytes);

            Volatile.Write(ref _postings, postings);

            // A growing segment sealed in place, or one whose postings did not fit before: its postings now hold the
            // totals.
            DropCounts(segment);
            DropGrowing(segment);
            return _postings;
        }

        /// <summary>Forgets <paramref name="damaged"/> (when they are still the segment's) and deletes their file. The
        /// mapping is not unmapped (a search running over another of its lists may still read it): it stays until the
        /// process exits, which damage, being rare, can afford.</summary>
        public void Discard(IFileSystem fs, Segment segment, Bm25Postings damaged)
        {
            if (!ReferenceEquals(_postings, damaged))
            {
                return;
            }

            _postings = null;
            segment.UnchargeDerived(damaged.MemoryBytes);
            _postingsBytes = -1;
            try
            {
                if (damaged.Path is { } path)
                {
                    fs.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The next load finds the same damage and rebuilds then.
            }
        }

        private static void Save(IFileSystem fs, string path, IndexMeta index, Bm25Postings postings)
        {
            try
            {
                if (fs.DirectoryExists(Path.GetDirectoryName(path)!))
                {
                    postings.Save(fs, path, IndexKindNames.TryParse(index.IndexType, out var kind) ? kind : IndexKind.SparseInvertedIndex);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Postings are derived data: a folder that cannot be written (read-only open, full disk) only costs a
                // rebuild at the next open.
            }
        }
    }
}
