using Quiver.Filtering;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>Filter queries: per segment, visible rows AND the filter bitmap, then offset / limit in storage order.</summary>
internal static class QueryExecutor
{
    public const int MaxWindow = 16_384;
    public const string CountStar = "count(*)";

    public static IReadOnlyList<Row> Run(Shard shard, QueryRequest request, CancellationToken cancellationToken)
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

        var filter = shard.Plans.Filter(request.Filter, schema, request.FilterParams);
        var projection = count ? null : Projection.Resolve(schema, request.OutputFields);
        using var view = shard.AcquireView(request.Partitions);
        var rows = new List<Row>();
        long matched = 0;
        var skip = request.Offset;
        var limit = request.Limit ?? int.MaxValue;
        foreach (var snap in view.Segments)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var allowed = Allowed(snap, view.Timestamp, filter);
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

                rows.Add(projection!.Materialize(snap, row));
            }

            if (rows.Count >= limit)
            {
                break;
            }
        }

        if (count)
        {
            return [new Row { [CountStar] = matched }];
        }

        return rows;
    }

    /// <summary>Rows of a segment snapshot visible at <paramref name="ts"/> and matching the filter. Without a filter this
    /// is O(1) on a sealed segment (see <see cref="Segments.SegmentSnapshot.Visible(long)"/>); with one, the filter's own cost
    /// plus one AND of words.</summary>
    public static AllowedRows Allowed(Segments.SegmentSnapshot snap, long ts, BoundFilter? filter)
    {
        var visible = snap.Visible(ts, out var visibleCount);
        if (filter is null || visibleCount == 0)
        {
            return new AllowedRows(visible, visibleCount);
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
