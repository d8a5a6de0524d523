using Quiver.Common;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>FLAT: exact search over the segment's raw vectors, tile by tile through the many-rows kernels. It has nothing
/// to build and writes only its header, so that "index_type: FLAT" behaves like every other index type.</summary>
internal sealed class FlatIndex : VectorIndex
{
    private const int Tile = 256;

    [ThreadStatic]
    private static Scratch? t_scratch;

    public FlatIndex(MetricType metric, VectorView raw, IndexParameters buildParams)
        : base(IndexKind.Flat, metric, raw, buildParams)
    {
    }

    public override long MemoryBytes => 0;

    public static void Validate(IndexParameters p) => p.RejectUnknown("index FLAT");

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        var s = t_scratch ??= new Scratch();
        var heap = s.Heap(k);
        var raw = Raw;
        var dim = raw.Dimension;
        var all = raw.All;
        var norms = raw.SquaredNorms;
        var qNorm = Metric == MetricType.Cosine ? MathF.Sqrt(VectorMath.SquaredNorm(query)) : 1f;
        Span<float> dist = s.Distances;
        for (var start = 0; start < raw.Count; start += Tile)
        {
            var n = Math.Min(Tile, raw.Count - start);
            var rows = all.Slice(start * dim, n * dim);
            var d = dist[..n];
            if (Metric == MetricType.L2)
            {
                VectorMath.L2SquaredMany(query, rows, dim, d);
            }
            else
            {
                VectorMath.DotMany(query, rows, dim, d);
            }

            for (var i = 0; i < n; i++)
            {
                var row = start + i;
                if (allowed is not null && !allowed[row])
                {
                    continue;
                }

                var key = Metric switch
                {
                    MetricType.L2 => d[i],
                    MetricType.IP => -d[i],
                    _ => -(d[i] / (qNorm * MathF.Sqrt(norms[row]))),
                };
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

    /// <summary>Per-thread heap and distance tile, so a query does not allocate once the thread has searched before.</summary>
    private sealed class Scratch
    {
        private TopK? _heap;

        public float[] Distances { get; } = new float[Tile];

        public TopK Heap(int k)
        {
            if (_heap is null || _heap.Capacity != k)
            {
                _heap = new TopK(k);
            }

            _heap.Clear();
            return _heap;
        }
    }
}
