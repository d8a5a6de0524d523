using Quiver.Common;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>BIN_FLAT: exact HAMMING or JACCARD over the segment's packed rows. Nothing to build; it writes only its header
/// so that "index_type: BIN_FLAT" behaves like every other index type (<see cref="BinarySearch"/> scans such segments
/// exactly itself).</summary>
internal sealed class BinaryFlatIndex : VectorIndex
{
    [ThreadStatic]
    private static TopK? t_heap;

    public BinaryFlatIndex(MetricType metric, VectorView raw, IndexParameters buildParams)
        : base(IndexKind.BinFlat, metric, raw, buildParams)
    {
    }

    public override long MemoryBytes => 0;

    public static void Validate(IndexParameters p) => p.RejectUnknown("index BIN_FLAT");

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        var heap = t_heap is { } h && h.Capacity == k ? h : t_heap = new TopK(k);
        heap.Clear();
        var q = BinaryMath.Words(query);
        for (var row = 0; row < Count; row++)
        {
            if (allowed is null || allowed[row])
            {
                var key = BinaryMath.Distance(Metric, q, BinaryMath.Words(Raw.Row(row)));
                if (key <= heap.Threshold)
                {
                    heap.Add(key, row);
                }
            }
        }

        return heap.DrainSorted(hits);
    }

    public override void Write(IndexFileWriter writer)
    {
    }
}
