using System.Buffers;
using Quiver.Common;
using Quiver.Distance;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>Exact (brute-force) top-k over a read view. Distances are turned into keys where smaller is closer:
/// L2 squared distance as is, IP and cosine negated. Hit ids pack the view's segment index (high 32 bits) and the
/// row (low 32 bits). Dense segments go through the many-rows kernels tile by tile; batches of queries through the
/// blocked kernel; very selective filters through the allowed rows one by one.</summary>
internal static class FlatSearch
{
    private const int Tile = 256;
    private const int BatchThreshold = 4;

    public static long PackId(int segment, int row) => ((long)segment << 32) | (uint)row;

    public static (int Segment, int Row) UnpackId(long id) => ((int)(id >> 32), (int)id);

    public static float ScoreFromKey(MetricType metric, float key) => metric.SmallerIsCloser() ? key : -key;

    /// <summary>Runs the search. <paramref name="allowed"/> has one entry per view segment (visible and matching rows; a
    /// null bitmap admits every row, and then nothing here is O(rows) unless the segment is scanned exactly).
    /// <paramref name="range"/> keeps only hits whose score lies in it. Returns per query the hits sorted best first.</summary>
    public static (float Key, long Id)[][] Search(
        ReadView view, AllowedRows[] allowed, int fieldIndex, MetricType metric, IReadOnlyList<float[]> queries, int k, ScoreRange? range,
        AnnSearchParams ann = default, SearchStats? stats = null)
    {
        if (metric.IsBinary())
        {
            return BinarySearch.Search(view, allowed, fieldIndex, metric, queries, k, range, ann, stats);
        }

        var nq = queries.Count;
        // No query can keep more hits than there are allowed rows: a top-16,384 heap over 100 rows holds 100.
        long allowedRows = 0;
        foreach (var a in allowed)
        {
            allowedRows += a.Count;
        }

        var capacity = (int)Math.Clamp(allowedRows, 1, k);
        var heaps = new TopK[nq];
        for (var q = 0; q < nq; q++)
        {
            heaps[q] = new TopK(capacity);
        }

        var queryNorms = new float[nq];
        for (var q = 0; q < nq; q++)
        {
            queryNorms[q] = VectorMath.SquaredNorm(queries[q]);
        }

        var scratch = ArrayPool<float>.Shared.Rent(Tile * Math.Max(nq, 1));
        try
        {
            for (var s = 0; s < view.Segments.Length; s++)
            {
                var snap = view.Segments[s];
                if (allowed[s].Count == 0)
                {
                    continue;
                }

                if (stats is not null && allowed[s].Sparse is not null)
                {
                    stats.RowListSegments++;
                }

                if (TrySearchIndexed(snap, allowed[s], s, fieldIndex, metric, queries, queryNorms, heaps, k, range, ann, stats, scratch))
                {
                    continue;
                }

                if (stats is not null)
                {
                    stats.ExactSegments++;
                }

                SearchExact(snap, allowed[s], s, fieldIndex, metric, queries, queryNorms, heaps, range, scratch);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }

        var results = new (float, long)[nq][];
        for (var q = 0; q < nq; q++)
        {
            results[q] = heaps[q].ToSortedArray();
        }

        return results;
    }

    /// <summary>Distances an exact search of one segment of <paramref name="rowCount"/> rows computes per query: one per
    /// allowed row for a row list or a sparse bitmap, else one per row (the many-rows kernels compute every row of a
    /// tile and skip the disallowed ones after).</summary>
    public static double ExactCost(in AllowedRows allowed, int rowCount) =>
        allowed.Rows is not null || IsSparse(allowed.Count, rowCount) ? allowed.Count : rowCount;

    /// <summary>Whether an exact search reads <paramref name="count"/> allowed rows of <paramref name="rowCount"/> one by
    /// one rather than tile by tile (below an eighth of the rows).</summary>
    private static bool IsSparse(int count, int rowCount) => count < rowCount / 8;

    /// <summary>Brute force over the allowed rows of one segment: a row list or a sparse bitmap row by row, else the
    /// many-rows kernels tile by tile.</summary>
    private static void SearchExact(
        SegmentSnapshot snap, in AllowedRows allowed, int segment, int fieldIndex, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms,
        TopK[] heaps, ScoreRange? range, float[] scratch)
    {
        var vectors = snap.Vectors[fieldIndex];
        if (allowed.Rows is { } rows)
        {
            SearchRows(vectors, rows, segment, metric, queries, queryNorms, heaps, range);
            return;
        }

        // Row lists exist only on sealed segments wholly in the snapshot, so a bitmap of RowCount bits covers the vectors.
        var bitmap = allowed.Sparse is null ? allowed.Bits : allowed.AsBitmap(snap.RowCount);
        if (bitmap is not null && IsSparse(allowed.Count, snap.RowCount))
        {
            SearchSparse(vectors, bitmap, segment, metric, queries, queryNorms, heaps, range);
        }
        else if (queries.Count >= BatchThreshold)
        {
            SearchBlocked(vectors, bitmap, segment, metric, queries, queryNorms, heaps, range, scratch);
        }
        else
        {
            SearchDense(vectors, bitmap, segment, metric, queries, queryNorms, heaps, range, scratch);
        }
    }

    /// <summary>The planner for one segment: searches it through its index when the segment is sealed, wholly visible in
    /// the snapshot and indexed, and <see cref="SearchPlanner.Choose"/> prefers the index (pre- or post-filtered) to an
    /// exact scan of the allowed rows. A query whose traversal finds fewer than min(k, allowed) rows is re-run exactly on
    /// this segment, so a restrictive filter never loses hits the segment has. Returns false when the segment should be
    /// scanned exactly instead.</summary>
    private static bool TrySearchIndexed(
        SegmentSnapshot snap, AllowedRows allowed, int segment, int fieldIndex, MetricType metric, IReadOnlyList<float[]> queries,
        float[] queryNorms, TopK[] heaps, int k, ScoreRange? range, AnnSearchParams ann, SearchStats? stats, float[] scratch)
    {
        var allowedCount = allowed.Count;
        var seg = snap.Segment;
        if (ann.Exact || !seg.IsSealed || snap.RowCount != seg.Count || (range is not null && range.Value.Radius is null))
        {
            return false;
        }

        var handle = seg.AcquireIndex(fieldIndex);
        if (handle is null)
        {
            return false;
        }

        try
        {
            var index = handle.Index;
            if (index.Kind == IndexKind.Flat || index.Metric != metric)
            {
                return false;
            }

            if (allowedCount <= k)
            {
                return false;
            }

            var (strategy, p, postK) = SearchPlanner.Choose(index, ann, k, snap.RowCount, allowed, queries.Count, index.Dimension);
            if (strategy == SegmentStrategy.Exact)
            {
                return false;
            }

            if (stats is not null)
            {
                stats.IndexedSegments++;
            }

            // The allow-list the index takes, built on first use (a post-filter without range search needs none); every row
            // allowed is passed as none, so the index takes its unfiltered path.
            Bitmap? filter = null;
            var filterBuilt = false;
            Bitmap? Filter()
            {
                if (!filterBuilt)
                {
                    filter = allowed.AsBitmap(snap.RowCount);
                    filterBuilt = true;
                }

                return filter;
            }

            var pre = strategy == SegmentStrategy.PreFilter ? p : index.ForSelectivity(ann, k, allowedCount / (double)snap.RowCount);
            var hits = ArrayPool<IndexHit>.Shared.Rent(Math.Max(k, strategy == SegmentStrategy.PostFilter ? postK : 0));
            try
            {
                for (var q = 0; q < queries.Count; q++)
                {
                    if (range is { Radius: { } radius } r)
                    {
                        var bound = (float)(metric == MetricType.L2 ? radius : -radius);
                        var found = new List<IndexHit>();
                        index.RangeSearch(queries[q], bound, pre, Filter(), found);
                        foreach (var h in found)
                        {
                            Offer(heaps[q], h.Key, PackId(segment, h.Row), metric, r);
                        }

                        continue;
                    }

                    if (strategy == SegmentStrategy.PostFilter && PostFilter(index, queries[q], k, postK, p, pre, allowedCount / (double)snap.RowCount, allowed, ref hits, stats) is { } kept)
                    {
                        for (var i = 0; i < kept; i++)
                        {
                            Offer(heaps[q], hits[i].Key, PackId(segment, hits[i].Row), metric, range);
                        }

                        continue;
                    }

                    var n = index.Search(queries[q], k, pre, Filter(), hits);
                    if (n < Math.Min(k, allowedCount))
                    {
                        // Too few allowed rows reached: this query's answer on this segment comes from an exact scan.
                        if (stats is not null)
                        {
                            stats.Fallbacks++;
                        }

                        SearchExact(snap, allowed, segment, fieldIndex, metric, [queries[q]], [queryNorms[q]], [heaps[q]], range, scratch);
                        continue;
                    }

                    for (var i = 0; i < n; i++)
                    {
                        Offer(heaps[q], hits[i].Key, PackId(segment, hits[i].Row), metric, range);
                    }
                }
            }
            finally
            {
                ArrayPool<IndexHit>.Shared.Return(hits);
            }

            return true;
        }
        finally
        {
            handle.Release();
        }
    }

    /// <summary>One post-filtered query: an unfiltered search for <paramref name="postK"/> hits with <paramref name="p"/>,
    /// of which the allowed ones are moved to the front of <paramref name="hits"/>; with fewer than min(k, allowed)
    /// survivors it searches again for twice as many with parameters widened as for half the
    /// <paramref name="selectivity"/> (from the pre-filter's <paramref name="pre"/>; <see cref="SearchPlanner.PostFilterRetries"/>
    /// times). Returns how many survivors lead <paramref name="hits"/> (at most k, best first), or null when the caller
    /// should pre-filter instead.</summary>
    private static int? PostFilter(
        VectorIndex index, float[] query, int k, int postK, AnnSearchParams p, AnnSearchParams pre, double selectivity, in AllowedRows allowed,
        ref IndexHit[] hits, SearchStats? stats)
    {
        var need = Math.Min(k, allowed.Count);
        for (var attempt = 0; ; attempt++)
        {
            if (hits.Length < postK)
            {
                ArrayPool<IndexHit>.Shared.Return(hits);
                hits = ArrayPool<IndexHit>.Shared.Rent(postK);
            }

            var n = index.Search(query, postK, p, null, hits);
            var kept = 0;
            for (var i = 0; i < n && kept < k; i++)
            {
                if (allowed.Contains(hits[i].Row))
                {
                    hits[kept++] = hits[i];
                }
            }

            if (stats is not null)
            {
                stats.PostFiltered += attempt == 0 ? 1 : 0;
            }

            if (kept >= need)
            {
                return kept;
            }

            if (attempt >= SearchPlanner.PostFilterRetries || n < postK || postK >= index.Count)
            {
                if (stats is not null)
                {
                    stats.PostFilterGaveUp++;
                }

                return null;
            }

            if (stats is not null)
            {
                stats.PostFilterRetries++;
            }

            postK = (int)Math.Min(index.Count, postK * 2L);
            selectivity /= 2;
            p = index.ForPostFilter(pre, postK, selectivity).Params;
        }
    }

    private static float Key(MetricType metric, float raw, float queryNorm, float rowSquaredNorm) => metric switch
    {
        MetricType.L2 => raw,
        MetricType.IP => -raw,
        _ => -(raw / MathF.Sqrt(queryNorm * rowSquaredNorm)),
    };

    private static void Offer(TopK heap, float key, long id, MetricType metric, ScoreRange? range)
    {
        if (key > heap.Threshold)
        {
            return;
        }

        if (range is { } r && !r.Contains(ScoreFromKey(metric, key)))
        {
            return;
        }

        heap.Add(key, id);
    }

    /// <summary>Offers the allowed rows of one tile of raw kernel outputs (rows start..start+raw.Length) to a heap; empty
    /// <paramref name="words"/> allow every row.</summary>
    private static void OfferTile(
        TopK heap, ReadOnlySpan<float> raw, int start, ReadOnlySpan<ulong> words, MetricType metric, float queryNorm, ReadOnlySpan<float> norms, int segment,
        ScoreRange? range)
    {
        var all = words.IsEmpty;
        for (var i = 0; i < raw.Length; i++)
        {
            var row = start + i;
            if (all || (words[row >> 6] & (1UL << row)) != 0)
            {
                Offer(heap, Key(metric, raw[i], queryNorm, norms[row]), PackId(segment, row), metric, range);
            }
        }
    }

    private static void SearchSparse(
        VectorView vectors, Bitmap bitmap, int segment, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms, TopK[] heaps, ScoreRange? range)
    {
        for (var row = bitmap.NextSet(0); row >= 0; row = bitmap.NextSet(row + 1))
        {
            SearchRow(vectors, row, segment, metric, queries, queryNorms, heaps, range);
        }
    }

    private static void SearchRows(
        VectorView vectors, int[] rows, int segment, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms, TopK[] heaps, ScoreRange? range)
    {
        foreach (var row in rows)
        {
            SearchRow(vectors, row, segment, metric, queries, queryNorms, heaps, range);
        }
    }

    private static void SearchRow(
        VectorView vectors, int row, int segment, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms, TopK[] heaps, ScoreRange? range)
    {
        var v = vectors.Row(row);
        var norm = vectors.SquaredNorms[row];
        for (var q = 0; q < queries.Count; q++)
        {
            var raw = metric == MetricType.L2 ? VectorMath.L2Squared(queries[q], v) : VectorMath.Dot(queries[q], v);
            Offer(heaps[q], Key(metric, raw, queryNorms[q], norm), PackId(segment, row), metric, range);
        }
    }

    private static void SearchDense(
        VectorView vectors, Bitmap? bitmap, int segment, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms, TopK[] heaps,
        ScoreRange? range, float[] scratch)
    {
        var dim = vectors.Dimension;
        var norms = vectors.SquaredNorms;
        ReadOnlySpan<ulong> words = bitmap is null ? default : bitmap.Words;
        for (var start = 0; start < vectors.Count;)
        {
            // A tile never spans two of a growing segment's chunks.
            var n = Math.Min(Tile, vectors.RowsInBlockAt(start));
            var rows = vectors.Rows(start, n);
            var dist = scratch.AsSpan(0, n);
            for (var q = 0; q < queries.Count; q++)
            {
                if (metric == MetricType.L2)
                {
                    VectorMath.L2SquaredMany(queries[q], rows, dim, dist);
                }
                else
                {
                    VectorMath.DotMany(queries[q], rows, dim, dist);
                }

                OfferTile(heaps[q], dist, start, words, metric, queryNorms[q], norms, segment, range);
            }

            start += n;
        }
    }

    private static void SearchBlocked(
        VectorView vectors, Bitmap? bitmap, int segment, MetricType metric, IReadOnlyList<float[]> queries, float[] queryNorms, TopK[] heaps,
        ScoreRange? range, float[] scratch)
    {
        var dim = vectors.Dimension;
        var nq = queries.Count;
        var packed = ArrayPool<float>.Shared.Rent(nq * dim);
        try
        {
            for (var q = 0; q < nq; q++)
            {
                queries[q].CopyTo(packed, q * dim);
            }

            var queryBlock = packed.AsSpan(0, nq * dim);
            var norms = vectors.SquaredNorms;
            ReadOnlySpan<ulong> words = bitmap is null ? default : bitmap.Words;
            for (var start = 0; start < vectors.Count;)
            {
                var n = Math.Min(Tile, vectors.RowsInBlockAt(start));
                var rows = vectors.Rows(start, n);
                var result = scratch.AsSpan(0, nq * n);
                if (metric == MetricType.L2)
                {
                    VectorMath.L2SquaredBlock(queryBlock, nq, queryNorms, rows, n, norms.Slice(start, n), dim, result);
                }
                else
                {
                    VectorMath.DotBlock(queryBlock, nq, rows, n, dim, result);
                }

                for (var q = 0; q < nq; q++)
                {
                    OfferTile(heaps[q], result.Slice(q * n, n), start, words, metric, queryNorms[q], norms, segment, range);
                }

                start += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }
}

/// <summary>How a search ran, per segment: through an index, or exactly; and how many indexed queries fell back to an
/// exact scan of a segment because the traversal found too few allowed rows. For tests and EXPLAIN-style reports.</summary>
internal sealed class SearchStats
{
    public int IndexedSegments { get; set; }

    public int ExactSegments { get; set; }

    public int Fallbacks { get; set; }

    /// <summary>Segments whose filter was answered from scalar indexes as a list of rows (or of rows left out).</summary>
    public int RowListSegments { get; set; }

    /// <summary>Queries searched post-filtered on a segment (an unfiltered search for more hits, the allowed ones kept).</summary>
    public int PostFiltered { get; set; }

    /// <summary>Post-filtered searches that had too few survivors and searched again for more.</summary>
    public int PostFilterRetries { get; set; }

    /// <summary>Post-filtered queries that still had too few survivors and were pre-filtered instead.</summary>
    public int PostFilterGaveUp { get; set; }

    /// <summary>BM25 over sealed postings: candidate rows visited (their essential lists' parts summed; MaxScore's work
    /// per row).</summary>
    public long Bm25RowsVisited { get; set; }

    /// <summary>BM25 over sealed postings: rows of the lists stepped over by block-max bounds without being scored.</summary>
    public long Bm25PostingsSkipped { get; set; }
}

/// <summary>Range-search bounds on the score as reported (L2: squared distance; IP, COSINE: similarity).
/// L2 keeps RangeFilter &lt;= score &lt; Radius; IP and COSINE keep Radius &lt; score &lt;= RangeFilter.</summary>
internal readonly record struct ScoreRange(MetricType Metric, double? Radius, double? RangeFilter)
{
    public bool Contains(float score)
    {
        if (Metric.SmallerIsCloser())
        {
            return (Radius is not { } r || score < r) && (RangeFilter is not { } f || score >= f);
        }

        return (Radius is not { } r2 || score > r2) && (RangeFilter is not { } f2 || score <= f2);
    }
}
