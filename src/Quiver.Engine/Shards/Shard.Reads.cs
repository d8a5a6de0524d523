using Quiver.Segments;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>A consistent read of a shard: a timestamp and a snapshot of every segment in the chosen partitions, taken
/// together under the apply lock. Rows visible at <see cref="Timestamp"/> are exactly the acknowledged state at that
/// moment. Dispose to release the segments.</summary>
internal sealed class ReadView : IDisposable
{
    public ReadView(long timestamp, SegmentSnapshot[] segments, long expireBefore = 0)
    {
        Timestamp = timestamp;
        Segments = segments;
        ExpireBefore = expireBefore;
    }

    public long Timestamp { get; }

    /// <summary>Rows inserted before this hybrid timestamp are expired by the collection's TTL and invisible; 0 without a
    /// TTL (<see cref="Search.RowExpiry"/>).</summary>
    public long ExpireBefore { get; }

    public SegmentSnapshot[] Segments { get; }

    public void Dispose()
    {
        foreach (var s in Segments)
        {
            s.Dispose();
        }
    }
}

internal sealed partial class Shard
{
    /// <summary>Takes a read view over the named partitions (all when empty). Unknown partition names are NotFound. Rows
    /// expired by the collection's TTL are out of the view (<see cref="ReadView.ExpireBefore"/>) unless
    /// <paramref name="allRows"/> asks for every stored row (a check over what index builds will read).</summary>
    public ReadView AcquireView(IReadOnlyList<string> partitions, bool allRows = false)
    {
        ThrowIfDisposed();
        HashSet<long>? ids = null;
        if (partitions.Count > 0)
        {
            ids = [];
            foreach (var name in partitions)
            {
                ids.Add(ResolvePartition(name));
            }
        }

        // One clock read per read, never per row; a segment whose every row is expired is left out at once.
        var expireBefore = allRows ? 0 : Search.RowExpiry.ExpireBefore(Search.RowExpiry.TtlMs(Meta.Properties), _host.Options.Time);
        lock (_applyLock)
        {
            // Again under the lock: a dispose in between has emptied the segment lists, and an empty result would lie.
            ThrowIfDisposed();
            var list = new List<SegmentSnapshot>();
            foreach (var seg in AllSegments())
            {
                if ((ids is null || ids.Contains(seg.PartitionId)) && !Search.RowExpiry.AllExpired(seg, expireBefore))
                {
                    list.Add(seg.Snapshot());
                }
            }

            return new ReadView(_appliedTs, [.. list], expireBefore);
        }
    }

    /// <summary>Finds live rows by primary key, in the order of the keys given (missing keys are skipped), together with a
    /// view that keeps their segments alive.</summary>
    public (ReadView View, List<(int Segment, int Row)> Rows) LookupKeys(IReadOnlyList<object> keys, IReadOnlyList<string> partitions)
    {
        var pk = Schema.PrimaryKey;
        var parsed = new PrimaryKey[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] is null)
            {
                Throw.Invalid($"get: key {i} is null");
            }

            parsed[i] = PrimaryKey.From(pk, keys[i], $"get: key {i}");
        }

        var rows = new List<(int, int)>(keys.Count);
        ReadView view;

        // One lock for the view and the lookups, so both see the same state (the lock is re-entrant).
        lock (_applyLock)
        {
            view = AcquireView(partitions);
            foreach (var k in parsed)
            {
                if (Lookup(k) is not { } where)
                {
                    continue;
                }

                for (var s = 0; s < view.Segments.Length; s++)
                {
                    if (view.Segments[s].Segment == where.Segment && where.Row < view.Segments[s].RowCount
                        && view.Segments[s].IsVisible(where.Row, view.Timestamp)
                        && !Search.RowExpiry.IsExpired(view.Segments[s].InsertTimestamps[where.Row], view.ExpireBefore))
                    {
                        rows.Add((s, where.Row));
                        break;
                    }
                }
            }
        }

        return (view, rows);
    }

    /// <summary>Live rows, growing and sealed segment counts. O(segments): a row is live or marked deleted, and live rows
    /// hold distinct keys.</summary>
    public (long Rows, int Sealed, int Growing) Statistics()
    {
        lock (_applyLock)
        {
            long rows = 0;
            foreach (var seg in AllSegments())
            {
                rows += seg.Count - seg.DeletedCount;
            }

            return (rows, _sealed.Count, _growing.Count + _frozen.Count);
        }
    }
}
