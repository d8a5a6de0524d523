using Quiver.Filtering;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>Filter queries: per segment, visible rows AND the filter bitmap, then offset / limit in storage order.</summary>
internal static class QueryExecutor
{
    public const int MaxWindow = 16_384;
    public const string CountStar = "count(*)";

    public static IReadOnlyList<Row> Run(Shard shard, QueryRequest request, CancellationToken cancellationToken) =>
        Execute<IReadOnlyList<Row>>(shard, request, cancellationToken,
            (segments, rows, projection) => [.. rows.Select(p => projection.Materialize(segments[p.Segment], p.Row))],
            matched => [new Row { [CountStar] = matched }]);

    /// <summary>As <see cref="Run"/>, the rows as columns read straight from the segments (<c>count(*)</c>: one Int64
    /// column of that name and one row).</summary>
    public static ColumnBatch RunColumns(Shard shard, QueryRequest request, CancellationToken cancellationToken) =>
        Execute(shard, request, cancellationToken,
            (segments, rows, projection) => projection.Collect(segments, rows),
            matched => new ColumnBatch(1).Add(new FieldColumn { Name = CountStar, Longs = [matched] }));

    private static T Execute<T>(Shard shard, QueryRequest request, CancellationToken cancellationToken,
        Func<Segments.SegmentSnapshot[], List<(int Segment, int Row)>, Projection, T> materialize, Func<long, T> counted)
    {
        var schema = shard.Schema;
        var count = request.OutputFields.Any(f => string.Equals(f.Replace(" ", "", StringComparison.Ordinal), CountStar, StringComparison.OrdinalIgnoreCase));
        if (count && request.OutputFields.Count > 1)
        {
            Throw.Invalid("query: count(*) cannot be combined with other output fields");
        }

        if (request.Offset < 0 || request.Limit is < 0)
        {
            Throw.Invalid("query: offset and limit must not be negative");
        }

        if (!count && string.IsNullOrWhiteSpace(request.Filter) && request.Limit is null)
        {
            Throw.Invalid("query: an empty filter needs a limit (or use count(*))");
        }

        if (request.Limit is { } lim && (long)lim + request.Offset > MaxWindow)
        {
            Throw.Invalid($"query: offset + limit must be at most {MaxWindow}, got {request.Offset} + {lim}");
        }

        var zone = Timestamptz.Resolve(request.Timezone, shard.Meta.Properties);
        var filter = shard.Plans.Filter(request.Filter, schema, request.FilterParams, zone);
        var projection = count ? null : Projection.Resolve(schema, request.OutputFields, zone: zone);
        using var view = shard.AcquireView(Shards.PartitionKeys.ReadScope(shard.Meta, request.Partitions, filter));
        var rows = new List<(int Segment, int Row)>();
        long matched = 0;
        var skip = request.Offset;
        var limit = request.Limit ?? int.MaxValue;
        for (var s = 0; s < view.Segments.Length; s++)
        {
            var snap = view.Segments[s];
            cancellationToken.ThrowIfCancellationRequested();
            var allowed = Allowed(snap, view.Timestamp, filter, view.ExpireBefore);
            if (count)
            {
                // O(1) per segment without a filter: the count comes with the visibility, not from a bitmap.
                matched += allowed.Count;
                continue;
            }

            if (allowed.Count <= skip)
            {
                skip -= allowed.Count;
                continue;
            }

            for (var row = allowed.Next(0); row >= 0 && rows.Count < limit; row = allowed.Next(row + 1))
            {
                if (skip > 0)
                {
                    skip--;
                    continue;
                }

                rows.Add((s, row));
            }

            if (rows.Count >= limit)
            {
                break;
            }
        }

        return count ? counted(matched) : materialize(view.Segments, rows, projection!);
    }

    /// <summary>Rows of a segment snapshot visible at <paramref name="ts"/> and matching the filter. Without a filter this
    /// is O(1) on a sealed segment (see <see cref="Segments.SegmentSnapshot.Visible(long)"/>); with one, the filter's own cost
    /// plus one AND of words, or, answered from scalar indexes, time proportional to the rows it lists. Rows inserted
    /// before <paramref name="expireBefore"/> are expired by the collection's TTL (<see cref="RowExpiry.Restrict"/>).</summary>
    public static AllowedRows Allowed(Segments.SegmentSnapshot snap, long ts, BoundFilter? filter, long expireBefore = 0)
    {
        var visible = snap.Visible(ts, out var visibleCount);
        var live = visible;
        RowExpiry.Restrict(snap, expireBefore, ref visible, ref visibleCount);
        if (filter is null || visibleCount == 0)
        {
            return new AllowedRows(visible, visibleCount);
        }

        // A filter over indexed fields keeping few rows, or all but a few, is answered as a row list from the sealed
        // segment's scalar indexes; anything else as a bitmap over the segment's rows.
        if (SearchPlanner.UseRowSets && filter.EvaluateSparse(snap) is { } set)
        {
            return AllowedRows.Restrict(set, visible, visibleCount);
        }

        // A sealed segment's columns do not change: its filter bitmap is kept, and with it the AND with the live rows
        // for as long as no delete arrives (the live bitmap is the segment's shared one when the read sees every mark
        // and the TTL masked nothing).
        if ((SearchPlanner.Override?.FilterCache ?? true) && FilterBitmapCache.Applies(snap, filter))
        {
            var shared = visible is not null && ReferenceEquals(visible, live) && snap.SeesAllAt(ts);
            return snap.Segment.FilterBitmaps.Allowed(snap, filter, visible, visibleCount, shared);
        }

        // The filter's bitmap is this call's own; the visibility bitmap may be shared and is only read.
        var matches = filter.Evaluate(snap);
        if (visible is not null)
        {
            matches.And(visible);
        }

        return new AllowedRows(matches, matches.PopCount());
    }

}
