using Quiver.Distance;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Shards;

namespace Quiver.Search;

/// <summary>Top-k over a BINARY field (HAMMING or JACCARD), the binary counterpart of <see cref="FlatSearch"/>: keys are
/// the distances themselves (smaller is closer, the score Milvus reports). A segment that is sealed, wholly in the
/// snapshot and indexed with BIN_IVF_FLAT is searched through its index (with the allow-list; a query that reaches
/// fewer than min(k, allowed) rows is re-run exactly on that segment); every other segment, and every segment of a
/// range search or an <c>exact</c> request, is scanned row by row with the popcount kernels.</summary>
internal static class BinarySearch
{
    public static (float Key, long Id)[][] Search(
        ReadView view, AllowedRows[] allowed, int fieldIndex, MetricType metric, IReadOnlyList<float[]> queries, int k, ScoreRange? range,
        AnnSearchParams ann, SearchStats? stats)
    {
        long allowedRows = 0;
        foreach (var a in allowed)
        {
            allowedRows += a.Count;
        }

        var heaps = new TopK[queries.Count];
        for (var q = 0; q < heaps.Length; q++)
        {
            heaps[q] = new TopK((int)Math.Clamp(allowedRows, 1, k));
        }

        for (var s = 0; s < view.Segments.Length; s++)
        {
            var snap = view.Segments[s];
            if (allowed[s].Count == 0)
            {
                continue;
            }

            if (range is null && !ann.Exact && TrySearchIndexed(snap, allowed[s], s, fieldIndex, metric, queries, heaps, k, ann, stats))
            {
                continue;
            }

            if (stats is not null)
            {
                stats.ExactSegments++;
            }

            for (var q = 0; q < queries.Count; q++)
            {
                ScanExact(snap, allowed[s], s, fieldIndex, metric, queries[q], heaps[q], range);
            }
        }

        var results = new (float, long)[queries.Count][];
        for (var q = 0; q < results.Length; q++)
        {
            results[q] = heaps[q].ToSortedArray();
        }

        return results;
    }

    private static bool TrySearchIndexed(
        SegmentSnapshot snap, AllowedRows allowed, int segment, int fieldIndex, MetricType metric, IReadOnlyList<float[]> queries, TopK[] heaps, int k,
        AnnSearchParams ann, SearchStats? stats)
    {
        var seg = snap.Segment;
        if (!seg.IsSealed || snap.RowCount != seg.Count || allowed.Count <= k)
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
            if (handle.Index is not BinaryIvfIndex index || index.Metric != metric)
            {
                return false;
            }

            if (stats is not null)
            {
                stats.IndexedSegments++;
            }

            var filter = allowed.AsBitmap(snap.RowCount);
            var hits = new IndexHit[k];
            for (var q = 0; q < queries.Count; q++)
            {
                var n = index.Search(queries[q], k, ann, filter, hits);
                if (n < Math.Min(k, allowed.Count))
                {
                    if (stats is not null)
                    {
                        stats.Fallbacks++;
                    }

                    ScanExact(snap, allowed, segment, fieldIndex, metric, queries[q], heaps[q], null);
                    continue;
                }

                for (var i = 0; i < n; i++)
                {
                    if (hits[i].Key <= heaps[q].Threshold)
                    {
                        heaps[q].Add(hits[i].Key, FlatSearch.PackId(segment, hits[i].Row));
                    }
                }
            }

            return true;
        }
        finally
        {
            handle.Release();
        }
    }

    private static void ScanExact(
        SegmentSnapshot snap, in AllowedRows allowed, int segment, int fieldIndex, MetricType metric, float[] query, TopK heap, ScoreRange? range)
    {
        var vectors = snap.Vectors[fieldIndex];
        var q = BinaryMath.Words(query);
        if (allowed.Rows is { } rows)
        {
            foreach (var row in rows)
            {
                Offer(heap, BinaryMath.Distance(metric, q, BinaryMath.Words(vectors.Row(row))), segment, row, range);
            }

            return;
        }

        var bits = allowed.AsBitmap(snap.RowCount);
        for (var row = 0; row < snap.RowCount; row++)
        {
            if (bits is null || bits[row])
            {
                Offer(heap, BinaryMath.Distance(metric, q, BinaryMath.Words(vectors.Row(row))), segment, row, range);
            }
        }
    }

    private static void Offer(TopK heap, float key, int segment, int row, ScoreRange? range)
    {
        if (key <= heap.Threshold && (range is not { } r || r.Contains(key)))
        {
            heap.Add(key, FlatSearch.PackId(segment, row));
        }
    }
}
