using Quiver.Common;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>IVF_FLAT: k-means cells whose lists hold full float vectors (normalized for COSINE), copied in list order so
/// a probe is one contiguous scan through <see cref="VectorMath.L2SquaredMany"/> or <see cref="VectorMath.DotMany"/>.
/// Build: <c>nlist</c> (1..65536, default 128, clamped to the row count). Search: <c>nprobe</c> (default 8, clamped to
/// nlist). Keys are exact for the rows it visits.</summary>
internal sealed class IvfFlatIndex : IvfIndex
{
    private const string Owner = "index IVF_FLAT";

    private readonly MappedArray<float> _vectors;

    private IvfFlatIndex(MetricType metric, VectorView raw, IndexParameters p, in IvfLists lists, MappedArray<float> vectors, IndexFileReader? reader)
        : base(IndexKind.IvfFlat, metric, raw, p, lists, reader)
    {
        _vectors = vectors;
    }

    /// <summary>Centroids, lists and the list-ordered copy of the vectors.</summary>
    public override long MemoryBytes => ListBytes + _vectors.Bytes;

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown(Owner, "nlist");
        _ = NlistOf(Owner, p, int.MaxValue);
    }

    public static IvfFlatIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        Validate(p);
        var space = IvfBuild.Space(metric, raw, options.Threads, cancellationToken);
        var lists = BuildLists(metric, space, NlistOf(Owner, p, raw.Count), options, 0.9, cancellationToken);
        var dim = raw.Dimension;
        var ids = lists.Ids.Array;
        var vectors = MappedArray<float>.Allocate(ids.Length * dim);
        var dst = vectors.Array;
        IvfBuild.For(ids.Length, options.Threads, cancellationToken, (start, end) =>
        {
            for (var pos = start; pos < end; pos++)
            {
                space.Row(ids[pos]).CopyTo(dst.AsSpan(pos * dim, dim));
            }
        });
        options.Progress?.Invoke(1);
        return new IvfFlatIndex(metric, raw, p, lists, vectors, null);
    }

    public static IvfFlatIndex Load(IndexFileReader reader, VectorView raw)
    {
        var lists = LoadLists(reader);
        var vectors = MappedArray<float>.Map(reader, "ivf_vectors", (long)lists.Ids.Length * raw.Dimension);
        return new IvfFlatIndex(reader.Metric, raw, reader.BuildParams, lists, vectors, reader);
    }

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        if (k <= 0 || Count == 0)
        {
            return 0;
        }

        var s = IvfScratch.Current;
        var q = Prepare(query, s.Query(Dimension));
        var heap = s.Heap(k);
        var dim = Dimension;
        var l2 = Metric == MetricType.L2;
        var tile = s.TileKeys.AsSpan();
        var vectors = _vectors.Span;
        foreach (var list in SelectProbes(q, ProbeCount(p), s, out _))
        {
            var ids = ListIds(list, out var start);
            for (var t = 0; t < ids.Length; t += IvfScratch.Tile)
            {
                var n = Math.Min(IvfScratch.Tile, ids.Length - t);
                var keys = tile[..n];
                var rows = vectors.Slice((start + t) * dim, n * dim);
                if (l2)
                {
                    VectorMath.L2SquaredMany(q, rows, dim, keys);
                }
                else
                {
                    VectorMath.DotMany(q, rows, dim, keys);
                }

                for (var i = 0; i < n; i++)
                {
                    var key = l2 ? keys[i] : -keys[i];
                    if (key <= heap.Threshold && Allowed(allowed, ids[t + i]))
                    {
                        heap.Add(key, ids[t + i]);
                    }
                }
            }
        }

        return heap.DrainSorted(hits);
    }

    protected override void WritePayload(IndexFileWriter writer) => _vectors.AddTo(writer, "ivf_vectors");
}
