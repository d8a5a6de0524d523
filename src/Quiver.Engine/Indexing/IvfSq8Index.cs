using Quiver.Common;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>IVF_SQ8: IVF_FLAT's cells with each vector's residual (row minus its cell's centroid) stored as one byte per
/// dimension (<see cref="ScalarQuantizer"/>, ranges trained per dimension on all residuals), a quarter of the memory.
/// Distances are asymmetric: the float query against decoded codes <c>x' = c + min + step * code</c>, computed as one
/// weighted byte sum per row (<see cref="VectorMath.DotU8Many"/>, weights <c>q[d] * step[d]</c>, the same for every
/// list) plus constants: <c>q.x' = q.c + q.min + sum(q * step * code)</c> (q.c once per probed list), and for L2
/// <c>|q|^2 + |x'|^2 - 2 q.x'</c> with the decoded row's squared norm <c>|x'|^2</c> stored beside the codes.
/// Build: <c>nlist</c> (1..65536, default 128, clamped to the row count). Search: <c>nprobe</c> (default 8).</summary>
internal sealed class IvfSq8Index : IvfIndex
{
    private const string Owner = "index IVF_SQ8";

    private readonly MappedArray<float> _min;
    private readonly MappedArray<float> _step;
    private readonly MappedArray<byte> _codes;
    private readonly MappedArray<float> _norms;

    private IvfSq8Index(
        MetricType metric, VectorView raw, IndexParameters p, in IvfLists lists, MappedArray<float> min, MappedArray<float> step,
        MappedArray<byte> codes, MappedArray<float> norms, IndexFileReader? reader)
        : base(IndexKind.IvfSq8, metric, raw, p, lists, reader)
    {
        _min = min;
        _step = step;
        _codes = codes;
        _norms = norms;
    }

    /// <summary>Centroids, lists, ranges, one byte per dimension per row and one float per row.</summary>
    public override long MemoryBytes => ListBytes + _min.Bytes + _step.Bytes + _codes.Bytes + _norms.Bytes;

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown(Owner, "nlist");
        _ = NlistOf(Owner, p, int.MaxValue);
    }

    public static IvfSq8Index Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        Validate(p);
        var space = IvfBuild.Space(metric, raw, options.Threads, cancellationToken);
        var lists = BuildLists(metric, space, NlistOf(Owner, p, raw.Count), options, 0.8, cancellationToken);
        var dim = raw.Dimension;
        var min = MappedArray<float>.Allocate(dim);
        var step = MappedArray<float>.Allocate(dim);
        var max = new float[dim];
        min.Array.AsSpan().Fill(float.PositiveInfinity);
        max.AsSpan().Fill(float.NegativeInfinity);
        var ids = lists.Ids.Array;
        var offsets = lists.Offsets.Array;
        var centroids = lists.Centroids.Array;
        for (var l = 0; l < lists.Nlist; l++)
        {
            for (var pos = offsets[l]; pos < offsets[l + 1]; pos++)
            {
                ScalarQuantizer.Observe(space.Row(ids[pos]), centroids.AsSpan(l * dim, dim), min.Array, max);
            }
        }

        ScalarQuantizer.Finish(min.Array, max, step.Array);
        var codes = MappedArray<byte>.Allocate(ids.Length * dim);
        var norms = MappedArray<float>.Allocate(ids.Length);
        IvfBuild.For(lists.Nlist, options.Threads, cancellationToken, (first, end) =>
        {
            for (var l = first; l < end; l++)
            {
                for (var pos = offsets[l]; pos < offsets[l + 1]; pos++)
                {
                    norms.Array[pos] = ScalarQuantizer.Encode(
                        space.Row(ids[pos]), centroids.AsSpan(l * dim, dim), min.Array, step.Array, codes.Array.AsSpan(pos * dim, dim));
                }
            }
        }, chunk: 8);
        options.Progress?.Invoke(1);
        return new IvfSq8Index(metric, raw, p, lists, min, step, codes, norms, null);
    }

    public static IvfSq8Index Load(IndexFileReader reader, VectorView raw)
    {
        var lists = LoadLists(reader);
        return new IvfSq8Index(
            reader.Metric,
            raw,
            reader.BuildParams,
            lists,
            MappedArray<float>.Map(reader, "sq_min", raw.Dimension),
            MappedArray<float>.Map(reader, "sq_step", raw.Dimension),
            MappedArray<byte>.Map(reader, "sq_codes", (long)lists.Ids.Length * raw.Dimension),
            MappedArray<float>.Map(reader, "sq_norms", lists.Ids.Length),
            reader);
    }

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        if (k <= 0 || Count == 0)
        {
            return 0;
        }

        var s = IvfScratch.Current;
        var dim = Dimension;
        var q = Prepare(query, s.Query(dim));
        var weights = s.Table(dim);
        var min = _min.Span;
        var step = _step.Span;
        var bias = 0f;
        for (var d = 0; d < dim; d++)
        {
            weights[d] = q[d] * step[d];
            bias += q[d] * min[d];
        }

        var l2 = Metric == MetricType.L2;
        var queryNorm = l2 ? VectorMath.SquaredNorm(q) : 0f;
        var heap = s.Heap(k);
        var tile = s.TileKeys.AsSpan();
        var codes = _codes.Span;
        var norms = _norms.Span;
        foreach (var list in SelectProbes(q, ProbeCount(p), s, out _))
        {
            var listBias = bias + VectorMath.Dot(q, Centroids.Span.Slice(list * dim, dim));
            var ids = ListIds(list, out var start);
            for (var t = 0; t < ids.Length; t += IvfScratch.Tile)
            {
                var n = Math.Min(IvfScratch.Tile, ids.Length - t);
                var sums = tile[..n];
                VectorMath.DotU8Many(weights, codes.Slice((start + t) * dim, n * dim), dim, sums);
                for (var i = 0; i < n; i++)
                {
                    var dot = listBias + sums[i];
                    var key = l2 ? MathF.Max(0, queryNorm + norms[start + t + i] - (2 * dot)) : -dot;
                    if (key <= heap.Threshold && Allowed(allowed, ids[t + i]))
                    {
                        heap.Add(key, ids[t + i]);
                    }
                }
            }
        }

        return Rescore(q, hits, heap.DrainSorted(hits));
    }

    protected override void WritePayload(IndexFileWriter writer)
    {
        _min.AddTo(writer, "sq_min");
        _step.AddTo(writer, "sq_step");
        _codes.AddTo(writer, "sq_codes");
        _norms.AddTo(writer, "sq_norms");
    }
}
