using System.Runtime.CompilerServices;
using Quiver.Catalog;
using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Shards;

namespace Quiver.Sparse;

/// <summary>Search over a sparse vector field (metric IP): per segment either the posting lists of its sparse index
/// (a sealed segment wholly inside the snapshot, when the field has a SPARSE_INVERTED_INDEX or SPARSE_WAND index) or an
/// exact scan of the allowed rows. Rows scoring 0 (no dimension shared with the query) are never hits.</summary>
internal static class SparseSearch
{
    /// <summary>Posting lists per sealed segment, built on the segment's first indexed search and kept for its life
    /// (they are derived from the segment's rows, which never change; no index file is written).</summary>
    private static readonly ConditionalWeakTable<Segment, Slot> Built = new();

    /// <summary>The query vectors of a request on a sparse field, checked.</summary>
    public static SparseVector[] Queries(SearchRequest request)
    {
        if (request.Vectors is { Count: > 0 })
        {
            Throw.Invalid($"search: field '{request.AnnsField}' is a sparse vector field; pass the queries as SparseVectors, not dense Vectors");
        }

        var given = request.SparseVectors;
        if (given is null || given.Count == 0)
        {
            Throw.Invalid("search: no query vectors");
        }

        if (given.Count > SearchExecutor.MaxQueries)
        {
            Throw.Invalid($"search: {given.Count} query vectors; at most {SearchExecutor.MaxQueries} per call (nq)");
        }

        var queries = new SparseVector[given.Count];
        for (var q = 0; q < queries.Length; q++)
        {
            queries[q] = given[q] ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"search: query vector {q} is null");
        }

        return queries;
    }

    /// <summary>Top <paramref name="k"/> hits per query as (key = -score, packed id), best first.</summary>
    public static (float Key, long Id)[][] Search(
        Shard shard, ReadView view, AllowedRows[] allowed, int fieldIndex, SparseVector[] queries, int k, ScoreRange? range,
        IReadOnlyDictionary<string, string>? searchParams, SearchStats stats, CancellationToken cancellationToken)
    {
        var field = shard.Schema.Fields[fieldIndex];
        var p = SearchExecutor.WithDefaults(shard, field.Name, searchParams);
        var exact = p.GetBool("search params", "exact", false);
        var dropRatio = SparseIndexOptions.ParseSearch(Without(p, "exact"));
        var index = exact ? null : shard.Meta.Indexes.FirstOrDefault(i => i.FieldName == field.Name);
        SparseIndexOptions? options = index is null || !IndexKindNames.TryParse(index.IndexType, out var kind)
            ? null
            : SparseIndexOptions.Parse(kind, new IndexParameters(index.Params));
        var heaps = new TopK[queries.Length];
        for (var q = 0; q < heaps.Length; q++)
        {
            heaps[q] = new TopK(k);
        }

        for (var s = 0; s < view.Segments.Length; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var snap = view.Segments[s];
            var a = allowed[s];
            if (a.Count == 0)
            {
                continue;
            }

            var column = (SparseColumn)snap.GetColumn(fieldIndex);
            var segment = s;
            if (options is { } o && snap.Segment.IsSealed && snap.RowCount == snap.Segment.Count)
            {
                var postings = Postings(snap.Segment, index!, o, column, cancellationToken);
                stats.IndexedSegments++;
                AllowedRows? filter = a.Count == snap.RowCount ? null : a;
                for (var q = 0; q < queries.Length; q++)
                {
                    var heap = heaps[q];
                    postings.Search(
                        SparseQuery.From(queries[q], dropRatio),
                        filter,
                        () => heap.Count < heap.Capacity ? 0 : -heap.Threshold,
                        (row, score) => Offer(heap, score, FlatSearch.PackId(segment, row), range));
                }

                continue;
            }

            stats.ExactSegments++;
            for (var row = a.Next(0); row >= 0; row = row + 1 < snap.RowCount ? a.Next(row + 1) : -1)
            {
                for (var q = 0; q < queries.Length; q++)
                {
                    var score = column.Dot(row, queries[q]);
                    if (score > 0)
                    {
                        Offer(heaps[q], score, FlatSearch.PackId(segment, row), range);
                    }
                }
            }
        }

        return [.. heaps.Select(h => h.ToSortedArray())];
    }

    private static void Offer(TopK heap, float score, long id, ScoreRange? range)
    {
        if (range is { } r && !r.Contains(score))
        {
            return;
        }

        heap.Add(-score, id);
    }

    private static IndexParameters Without(IndexParameters p, string name) =>
        new(p.Values.Where(kv => kv.Key != name).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));

    /// <summary>The segment's posting lists for <paramref name="index"/>, built once (under the slot's lock, so that
    /// concurrent first searches build it once).</summary>
    private static SparseInvertedIndex Postings(Segment segment, IndexMeta index, SparseIndexOptions options, SparseColumn column, CancellationToken cancellationToken)
    {
        var slot = Built.GetValue(segment, _ => new Slot());
        lock (slot)
        {
            if (slot.IndexId != index.Id || slot.Index is null)
            {
                slot.Index = SparseInvertedIndex.Build(column, segment.Count, options, cancellationToken);
                slot.IndexId = index.Id;
            }

            return slot.Index;
        }
    }

    private sealed class Slot
    {
        public long IndexId { get; set; }

        public SparseInvertedIndex? Index { get; set; }
    }
}
