using System.Collections.Immutable;
using System.Globalization;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>Validates a search request, takes a read view, builds per-segment allow-lists (visible AND filter), runs the
/// exact search, then applies offset / grouping and fetches output fields.</summary>
internal static class SearchExecutor
{
    public const int MaxQueries = 16_384;

    public static SearchResult Run(Shard shard, SearchRequest request, CancellationToken cancellationToken) =>
        Execute(shard, request, cancellationToken, static (s, view, projection, perQuery, stats) => Hits(s.Schema, view, projection, perQuery, stats));

    /// <summary>As <see cref="Run"/>, the hits as columns: scores and hit counts per query first, then the output
    /// fields (the primary key first) read only for the hits returned, straight into columns.</summary>
    public static SearchColumns RunColumns(Shard shard, SearchRequest request, CancellationToken cancellationToken) =>
        Execute(shard, request, cancellationToken, static (_, view, projection, perQuery, _) => Columns(view, projection, perQuery));

    /// <summary>The hits of <paramref name="request"/> over a view the caller holds (a hybrid search runs each of its
    /// requests over one view), per query best first, offset and grouping applied; no output field is read.</summary>
    internal static List<List<(float Score, int Segment, int Row)>> SearchInView(Shard shard, ReadView view, SearchRequest request,
        CancellationToken cancellationToken) =>
        Execute(shard, request, cancellationToken, static (_, _, _, perQuery, _) => perQuery, view);

    /// <summary>Per query its hits, each with the output fields of <paramref name="projection"/> as a row.</summary>
    internal static SearchResult Hits(CollectionSchema schema, ReadView view, Projection projection,
        List<List<(float Score, int Segment, int Row)>> perQuery, SearchStats? stats)
    {
        // The primary key is always among the projected fields: the hit's id is the value the row already holds.
        var pkName = schema.PrimaryKey.Name;
        var hits = ImmutableArray.CreateBuilder<IReadOnlyList<SearchHit>>(perQuery.Count);
        foreach (var list in perQuery)
        {
            var built = new SearchHit[list.Count];
            for (var i = 0; i < built.Length; i++)
            {
                var (score, segment, row) = list[i];
                var fields = projection.Materialize(view.Segments[segment], row);
                built[i] = new SearchHit { Id = fields[pkName]!, Score = score, Fields = fields };
            }

            hits.Add(built);
        }

        return new SearchResult { Hits = hits.MoveToImmutable(), EngineStats = stats };
    }

    /// <summary>Per query its number of hits, every hit's score, and the output fields of the hits as columns.</summary>
    internal static SearchColumns Columns(ReadView view, Projection projection, List<List<(float Score, int Segment, int Row)>> perQuery)
    {
        var counts = new int[perQuery.Count];
        var total = 0;
        for (var q = 0; q < counts.Length; q++)
        {
            counts[q] = perQuery[q].Count;
            total += counts[q];
        }

        var scores = new float[total];
        var rows = new List<(int Segment, int Row)>(total);
        foreach (var list in perQuery)
        {
            foreach (var h in list)
            {
                scores[rows.Count] = h.Score;
                rows.Add((h.Segment, h.Row));
            }
        }

        return new SearchColumns { Counts = counts, Scores = scores, Fields = projection.Collect(view.Segments, rows) };
    }

    private static T Execute<T>(Shard shard, SearchRequest request, CancellationToken cancellationToken,
        Func<Shard, ReadView, Projection, List<List<(float Score, int Segment, int Row)>>, SearchStats, T> materialize, ReadView? shared = null)
    {
        var schema = shard.Schema;
        var fieldIndex = ResolveField(schema, request.AnnsField);
        var field = schema.Fields[fieldIndex];
        var metric = request.Metric ?? field.Metric;
        if (metric != field.Metric)
        {
            Throw.Invalid($"search: metric {request.Metric} does not match field '{field.Name}', which uses {field.Metric}");
        }

        var texts = field.Metric == MetricType.BM25 ? Sparse.Bm25Search.Queries(request, field.Name) : null;
        if (texts is null && request.SearchParams.ContainsKey(Sparse.Bm25Shared.Param))
        {
            // Collection-wide BM25 statistics mean nothing to another field's search: dropped, as Milvus drops keys it
            // does not know.
            request = request with { SearchParams = Sparse.Bm25Shared.Without(request.SearchParams) };
        }

        var sparse = field.IsSparseVector && texts is null ? Sparse.SparseSearch.Queries(request) : null;
        if (sparse is null && texts is null && (request.Vectors is null || request.Vectors.Count == 0))
        {
            Throw.Invalid("search: no query vectors");
        }

        if (request.Vectors.Count > MaxQueries)
        {
            Throw.Invalid($"search: {request.Vectors.Count} query vectors; at most {MaxQueries} per call (nq)");
        }

        if (request.Limit is < 1 or > SearchRequest.MaxTopK)
        {
            Throw.Invalid($"search: limit (topk) must be in 1..{SearchRequest.MaxTopK}, got {request.Limit}");
        }

        if (request.Offset < 0 || (long)request.Offset + request.Limit > SearchRequest.MaxTopK)
        {
            Throw.Invalid($"search: offset + limit must be at most {SearchRequest.MaxTopK}, got {request.Offset} + {request.Limit}");
        }

        // Checked copies: the caller may change its arrays while the search runs.
        var queries = new float[request.Vectors.Count][];
        for (var q = 0; q < queries.Length; q++)
        {
            var v = ValueConverter.ConvertVector(field, request.Vectors[q], out var error);
            if (error is not null || v is null)
            {
                Throw.Invalid($"search: query vector {q}: {error}");
            }

            queries[q] = v;
        }

        int? groupIndex = null;
        if (request.GroupByField is { } g)
        {
            var gi = schema.IndexOf(g);
            if (gi < 0)
            {
                Throw.Invalid($"search: group-by field '{g}' does not exist");
            }

            var gt = schema.Fields[gi].DataType;
            if (gt is not (DataType.Bool or DataType.Int8 or DataType.Int16 or DataType.Int32 or DataType.Int64 or DataType.VarChar))
            {
                Throw.Invalid($"search: group-by field '{g}' is {gt}; grouping needs Bool, an integer or VarChar");
            }

            if (request.GroupSize < 1)
            {
                Throw.Invalid($"search: group size must be at least 1, got {request.GroupSize}");
            }

            groupIndex = gi;
        }

        ScoreRange? range = request.Radius is null && request.RangeFilter is null ? null : new ScoreRange(metric, request.Radius, request.RangeFilter);
        if (range is { Radius: { } rad, RangeFilter: { } rf } && (metric.SmallerIsCloser() ? rf >= rad : rf <= rad))
        {
            Throw.Invalid(string.Create(CultureInfo.InvariantCulture, $"search: range_filter {rf} must be {(metric.SmallerIsCloser() ? "below" : "above")} radius {rad} for {metric}"));
        }

        var ann = sparse is null && texts is null ? shard.Plans.SearchParams(shard, field.Name, request.SearchParams) : default;
        ann.RequireSearchListCovers(request.Offset + request.Limit);
        var zone = Timestamptz.Resolve(request.Timezone, shard.Meta.Properties);
        var filter = shard.Plans.Filter(request.Filter, schema, request.FilterParams, zone);
        PartitionKeyIsolation.CheckSearch(shard.Meta, filter);
        var projection = request.OutputFields.Count == 0 ? shard.Plans.KeyOnlyProjection(schema, zone) : Projection.Resolve(schema, request.OutputFields, zone: zone);
        using var owned = shared is null ? shard.AcquireView(Shards.PartitionKeys.ReadScope(shard.Meta, request.Partitions, filter)) : null;
        var view = shared ?? owned!;
        var allowed = new AllowedRows[view.Segments.Length];
        for (var s = 0; s < allowed.Length; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            allowed[s] = QueryExecutor.Allowed(view.Segments[s], view.Timestamp, filter, view.ExpireBefore);
            if (field.Nullable)
            {
                // A null vector is no candidate (Milvus 2.6): its rows leave the allowed set before any index sees it.
                var snap = view.Segments[s];
                allowed[s] = allowed[s].Without(sparse is null ? snap.Vectors[fieldIndex].Nulls.Span : snap.GetColumn(fieldIndex).NullWords, snap.RowCount);
            }
        }

        // Grouping needs every allowed hit ranked; plain top-k needs only limit + offset (FlatSearch counts per segment).
        var want = request.Offset + request.Limit;
        var k = groupIndex is null ? want : (int)Math.Clamp(allowed.Sum(a => (long)a.Count), 1, int.MaxValue);
        var stats = new SearchStats();
        var raw = texts is not null
            ? Sparse.Bm25Search.Search(shard, view, allowed, fieldIndex, texts, k, range, request.SearchParams, stats, cancellationToken)
            : sparse is null
            ? FlatSearch.Search(view, allowed, fieldIndex, metric, queries, k, range, ann, stats)
            : Sparse.SparseSearch.Search(shard, view, allowed, fieldIndex, sparse, k, range, request.SearchParams, stats, cancellationToken);
        var hits = new List<List<(float Score, int Segment, int Row)>>(raw.Length);
        foreach (var perQuery in raw)
        {
            var chosen = groupIndex is { } gi ? Group(view, perQuery, gi, request.GroupSize, want) : perQuery;
            var list = new List<(float Score, int Segment, int Row)>(Math.Max(0, chosen.Length - request.Offset));
            var skip = groupIndex is null ? request.Offset : 0;
            var skipGroups = groupIndex is null ? 0 : request.Offset;
            object? lastGroup = null;
            var groupsSeen = 0;
            foreach (var (key, id) in chosen)
            {
                var (s, row) = FlatSearch.UnpackId(id);
                var snap = view.Segments[s];
                if (groupIndex is { } gidx)
                {
                    var gv = snap.GetColumn(gidx).GetValue(row);
                    if (groupsSeen == 0 || !Equals(gv, lastGroup))
                    {
                        groupsSeen++;
                        lastGroup = gv;
                    }

                    if (groupsSeen <= skipGroups)
                    {
                        continue;
                    }
                }
                else if (skip > 0)
                {
                    skip--;
                    continue;
                }

                list.Add((FlatSearch.ScoreFromKey(metric, key), s, row));
            }

            hits.Add(list);
        }

        return materialize(shard, view, projection, hits, stats);
    }

    /// <summary>The request's search parameters over the collection's defaults for the field (the property
    /// <see cref="SearchRequest.DefaultSearchParamsProperty"/> + field name): a name the request gives wins.</summary>
    internal static Indexing.IndexParameters WithDefaults(Shard shard, string field, IReadOnlyDictionary<string, string>? given)
    {
        given ??= new Dictionary<string, string>();
        if (!shard.Meta.Properties.TryGetValue(SearchRequest.DefaultSearchParamsProperty + field, out var json))
        {
            return new Indexing.IndexParameters(given);
        }

        var merged = new Dictionary<string, string>(Indexing.IndexParameters.FromJson(json, $"collection property '{SearchRequest.DefaultSearchParamsProperty + field}'").Values, StringComparer.Ordinal);
        foreach (var (name, value) in given)
        {
            merged[name] = value;
        }

        return new Indexing.IndexParameters(merged);
    }

    /// <summary>From all hits sorted best first, keeps the first <paramref name="groups"/> distinct group values with at most
    /// <paramref name="groupSize"/> hits each, ordered by each group's best hit, hits of a group together.</summary>
    private static (float Key, long Id)[] Group(ReadView view, (float Key, long Id)[] sorted, int groupField, int groupSize, int groups)
    {
        var order = new List<object?>();
        var members = new Dictionary<GroupKey, List<(float, long)>>();
        foreach (var hit in sorted)
        {
            var (s, row) = FlatSearch.UnpackId(hit.Id);
            var value = view.Segments[s].GetColumn(groupField).GetValue(row);
            var gk = new GroupKey(value);
            if (!members.TryGetValue(gk, out var list))
            {
                if (order.Count >= groups)
                {
                    continue;
                }

                list = [];
                members[gk] = list;
                order.Add(value);
            }

            if (list.Count < groupSize)
            {
                list.Add(hit);
            }
        }

        var result = new List<(float, long)>();
        foreach (var value in order)
        {
            result.AddRange(members[new GroupKey(value)]);
        }

        return [.. result];
    }

    internal static int ResolveField(CollectionSchema schema, string? name)
    {
        if (name is null)
        {
            var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
            if (vectors.Count != 1)
            {
                Throw.Invalid($"search: the collection has {vectors.Count} vector fields; name one with anns_field");
            }

            return schema.IndexOf(vectors[0].Name);
        }

        var i = schema.IndexOf(name);
        if (i < 0 || !(schema.Fields[i].IsVector || schema.Fields[i].IsSparseVector))
        {
            Throw.Invalid($"search: anns_field '{name}' is not a vector field of the collection");
        }

        return i;
    }

    /// <summary>A group value usable as a dictionary key, null included.</summary>
    private readonly record struct GroupKey(object? Value);
}
