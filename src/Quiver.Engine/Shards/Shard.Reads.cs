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
        var ids = PartitionIds(partitions);

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

    /// <summary>The ids of the named partitions (NotFound for an unknown name), or null for all when none are named.</summary>
    private HashSet<long>? PartitionIds(IReadOnlyList<string> partitions)
    {
        if (partitions.Count == 0)
        {
            return null;
        }

        var ids = new HashSet<long>();
        foreach (var name in partitions)
        {
            ids.Add(ResolvePartition(name));
        }

        return ids;
    }

    /// <summary>Finds live rows by primary key, in the order of the keys given (missing keys are skipped), together with a
    /// view that keeps their segments alive. The view holds only the segments where the keys were found (the key index
    /// says where each key lives, so no other segment or partition is read: with a partition key this is the pruning a
    /// filter on the key gives, and more); partition names are refused in a partition-key collection, as by Milvus.</summary>
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

        ThrowIfDisposed();
        var ids = PartitionIds(PartitionKeys.ReadScope(Meta, partitions, null));
        var expireBefore = Search.RowExpiry.ExpireBefore(Search.RowExpiry.TtlMs(Meta.Properties), _host.Options.Time);
        var rows = new List<(int, int)>(keys.Count);

        // One lock for the lookups and the view, so both see the same state.
        lock (_applyLock)
        {
            ThrowIfDisposed();
            var segments = new List<SegmentSnapshot>();
            var slot = new Dictionary<Segment, int>();
            foreach (var k in parsed)
            {
                if (Lookup(k) is not { } where || (ids is not null && !ids.Contains(where.Segment.PartitionId))
                    || Search.RowExpiry.IsExpired(where.Segment.InsertTsOf(where.Row), expireBefore))
                {
                    continue;
                }

                if (!slot.TryGetValue(where.Segment, out var s))
                {
                    s = segments.Count;
                    slot.Add(where.Segment, s);
                    segments.Add(where.Segment.Snapshot());
                }

                if (where.Row < segments[s].RowCount && segments[s].IsVisible(where.Row, _appliedTs))
                {
                    rows.Add((s, where.Row));
                }
            }

            return (new ReadView(_appliedTs, [.. segments], expireBefore), rows);
        }
    }

    /// <summary>Live rows, growing and sealed segment counts. O(segments): a row is live or marked deleted, and live rows
    /// hold distinct keys. With a collection TTL, rows expired at this moment are not counted (Milvus hides them from
    /// statistics as from reads): the count is then the one a <c>count(*)</c> read gets, O(1) per segment except for a
    /// segment straddling the cut (<see cref="Search.RowExpiry.Restrict"/>).</summary>
    public (long Rows, int Sealed, int Growing) Statistics()
    {
        var ttlMs = Search.RowExpiry.TtlMs(Meta.Properties);
        lock (_applyLock)
        {
            long rows = 0;
            if (ttlMs > 0)
            {
                using var view = AcquireView([]);
                foreach (var snap in view.Segments)
                {
                    rows += Search.QueryExecutor.Allowed(snap, view.Timestamp, null, view.ExpireBefore).Count;
                }
            }
            else
            {
                foreach (var seg in AllSegments())
                {
                    rows += seg.Count - seg.DeletedCount;
                }
            }

            return (rows, _sealed.Count, _growing.Count + _frozen.Count);
        }
    }
}
