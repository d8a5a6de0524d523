using Quiver.Common;

namespace Quiver.Segments;

/// <summary>The delete marks of one segment, kept sparse: memory and work in proportion to the marks, never to the rows,
/// so that the first delete or upsert that reaches a large sealed segment after an open allocates a few entries, not
/// 8 bytes a row. Two forms of the same marks:
/// <list type="bullet">
/// <item>row → timestamp, for the point questions of writes and gets (<see cref="TsOf"/>);</item>
/// <item>an append-only log in arrival order, of which a reader holds a prefix (<see cref="View"/>): entries before a
/// published count never change, and growing the log publishes a new array, so a reader walks its prefix without a
/// lock.</item>
/// </list>
/// A search of a sealed segment with deletes needs its live rows as a bitmap; it is built by the first reader that asks
/// for a given number of marks (<see cref="Live"/>), from the last one built plus the marks logged since, and kept for
/// the next readers; a bitmap handed out is never changed. A write therefore never copies or touches a bitmap: its cost
/// is O(1) whatever the segment's size, and readers pay one O(rows / 64) copy per change they observe, as before.
/// Thread-safety: marks are added by one writer at a time (under the shard's apply lock); readers may call any member
/// concurrently.</summary>
internal sealed class DeleteMarks
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, long> _byRow = [];
    private (int Row, long Ts)[] _log = [];
    private int _count;
    private long _maxTs;
    private int _journalStart = -1;
    private Bitmap? _live;
    private int _liveMarks;

    /// <summary>Marks so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The highest timestamp of a mark (0 without marks).</summary>
    public long MaxTs
    {
        get
        {
            lock (_lock)
            {
                return _maxTs;
            }
        }
    }

    /// <summary>The timestamp of the row's mark, or <see cref="Segment.NotDeleted"/>.</summary>
    public long TsOf(int row)
    {
        lock (_lock)
        {
            return _byRow.TryGetValue(row, out var ts) ? ts : Segment.NotDeleted;
        }
    }

    /// <summary>Marks <paramref name="row"/> deleted at <paramref name="ts"/>; false (and nothing changes) when it already
    /// has a mark, which it keeps. O(1) amortized.</summary>
    public bool Add(int row, long ts)
    {
        lock (_lock)
        {
            if (!_byRow.TryAdd(row, ts))
            {
                return false;
            }

            if (_count == _log.Length)
            {
                // A new array: readers holding the old one keep a valid prefix of it.
                var grown = new (int, long)[Math.Max(4, _log.Length * 2)];
                Array.Copy(_log, grown, _count);
                _log = grown;
            }

            _log[_count] = (row, ts);
            Volatile.Write(ref _count, _count + 1);
            _maxTs = Math.Max(_maxTs, ts);
            return true;
        }
    }

    /// <summary>The marks so far, as a prefix of the log that later marks do not change.</summary>
    public DeleteLogView View()
    {
        lock (_lock)
        {
            return new DeleteLogView(_log, _count, _maxTs);
        }
    }

    /// <summary>(row, ts) of every mark, in row order.</summary>
    public List<(int Row, long Ts)> ToList()
    {
        var view = View();
        var list = new List<(int Row, long Ts)>(view.Count);
        list.AddRange(view.Entries);
        list.Sort((a, b) => a.Row.CompareTo(b.Row));
        return list;
    }

    /// <summary>The rows of <paramref name="rowCount"/> that none of the first <paramref name="marks"/> marks names, as a
    /// shared bitmap that must not be changed. Built from the newest bitmap built so far when it covers fewer marks (one
    /// copy plus one bit per mark since), kept for the next reader; a reader of an older prefix than the kept one gets a
    /// bitmap of its own.</summary>
    public Bitmap Live(int rowCount, int marks)
    {
        Bitmap? start;
        int from;
        (int Row, long Ts)[] log;
        lock (_lock)
        {
            if (_live is not null && _liveMarks == marks)
            {
                return _live;
            }

            (start, from) = _live is not null && _liveMarks < marks ? (_live, _liveMarks) : (null, 0);
            log = _log;
        }

        // Built outside the lock, so that a write never waits for a copy of the bitmap.
        var live = start?.Clone() ?? new Bitmap(rowCount, initial: true);
        for (var i = from; i < marks; i++)
        {
            live.Clear(log[i].Row);
        }

        lock (_lock)
        {
            if (marks > _liveMarks || _live is null)
            {
                _live = live;
                _liveMarks = marks;
            }
        }

        return live;
    }

    /// <summary>Starts recording marks from now on for <see cref="ReadJournal"/>; a journal already running starts again
    /// empty.</summary>
    public void StartJournal()
    {
        lock (_lock)
        {
            _journalStart = _count;
        }
    }

    /// <summary>Stops the journal.</summary>
    public void StopJournal()
    {
        lock (_lock)
        {
            _journalStart = -1;
        }
    }

    /// <summary>Adds the journal's marks from position <paramref name="from"/> on to <paramref name="into"/> and returns the
    /// position after them. O(those marks).</summary>
    public int ReadJournal(int from, List<(int Row, long Ts)> into)
    {
        DeleteLogView view;
        int start;
        lock (_lock)
        {
            start = _journalStart;
            view = new DeleteLogView(_log, _count, _maxTs);
        }

        if (start < 0)
        {
            throw new InvalidOperationException("no delete journal is running");
        }

        into.AddRange(view.Entries[(start + from)..]);
        return view.Count - start;
    }
}

/// <summary>A prefix of a segment's delete log (<see cref="DeleteMarks"/>): <see cref="Count"/> marks, the newest at
/// <see cref="MaxTs"/>. Immutable.</summary>
internal readonly struct DeleteLogView((int Row, long Ts)[] log, int count, long maxTs)
{
    private readonly (int Row, long Ts)[]? _log = log;

    public int Count { get; } = count;

    public long MaxTs { get; } = maxTs;

    public ReadOnlySpan<(int Row, long Ts)> Entries => _log.AsSpan(0, Count);

    /// <summary>Clears in <paramref name="rows"/> every row whose mark is at or before <paramref name="ts"/>.</summary>
    public void ClearDeletedAt(Bitmap rows, long ts)
    {
        foreach (var (row, markTs) in Entries)
        {
            if (markTs <= ts && row < rows.Length)
            {
                rows.Clear(row);
            }
        }
    }
}
