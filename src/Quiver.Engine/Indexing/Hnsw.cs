using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Quiver.Distance;

namespace Quiver.Indexing;

/// <summary>HNSW (Malkov &amp; Yashunin, "Efficient and robust approximate nearest neighbor search using Hierarchical
/// Navigable Small World graphs", 2016/2018): a layered proximity graph searched greedily from the top layer down, then
/// best-first on layer 0 with a beam of <c>ef</c> candidates.
/// <para>Layout. Layer 0 is one 64-byte aligned native block with a fixed stride per node: the node's SQ8 code (one byte
/// per dimension, padded to 16), then its neighbour count and up to 2M neighbour ids, padded to a cache line. A hop reads
/// one node's lines and nothing else. Upper layers (about 1/M of the nodes) live in a separate pool. The same bytes are
/// the file blocks, so a loaded index reads the mapping in place.</para>
/// <para>Distances. The graph is built and traversed on SQ8 codes (per-dimension min and step), a quarter of the bytes of
/// float32, since traversal is bound by memory traffic; the best candidates are then re-ranked with exact float32
/// distances on the segment's raw vectors (<c>refine_k</c> × k of them, default 2k), so the keys returned are exact.</para>
/// <para>Thread safety: immutable after build or load; <see cref="Search"/> is safe from any number of threads and does
/// not allocate once the thread has searched (per-thread scratch).</para></summary>
internal sealed unsafe partial class HnswIndex : VectorIndex
{
    /// <summary>Default M (max links per node on upper layers; layer 0 has 2M), as in Milvus.</summary>
    public const int DefaultM = 16;

    /// <summary>Default efConstruction, Milvus's current default (2.5 docs: 360).</summary>
    public const int DefaultEfConstruction = 360;

    /// <summary>Floor of the default search ef (Milvus requires ef ≥ k and uses k when a smaller ef is given).</summary>
    public const int DefaultEf = 64;

    /// <summary>Default re-rank multiplier: the best refine_k × k candidates by SQ8 distance get exact distances.</summary>
    public const int DefaultRefine = 2;

    private const string Owner = "index HNSW";
    private const int MaxLevelCap = 30;

    private readonly int _m;
    private readonly int _maxM0;
    private readonly int _efConstruction;
    private readonly int _dimPad;
    private readonly nint _stride;
    private readonly int _upperListInts;

    // Layer 0: count * _stride bytes; per node [code: _dimPad bytes][count: int][ids: _maxM0 ints][pad].
    private readonly byte* _level0;

    // Per node: its top layer (0 for most), and where its upper lists start in _upper (-1: none).
    private readonly byte* _levels;
    private readonly int* _upperStart;

    // Upper lists: for layer l ≥ 1 of node n, _upper + _upperStart[n] + (l - 1) * (M + 1) = [count][M ids].
    private readonly int* _upper;
    private readonly long _upperInts;

    // Quantizer: value = min + step * code, per dimension (padded with zeros).
    private readonly float* _min;
    private readonly float* _step;
    private readonly float[] _invStep;
    private readonly float[] _weights;

    private readonly IndexFileReader? _reader;
    private readonly List<nint> _owned = [];
    private int _entryPoint;
    private int _maxLevel;
    private bool _disposed;

    /// <summary>Build parameters with defaults filled in, validated.</summary>
    internal readonly record struct Settings(int M, int EfConstruction)
    {
        public static Settings Parse(IndexParameters p)
        {
            p.RejectUnknown(Owner, "M", "efConstruction");
            var m = p.GetInt(Owner, "M", DefaultM, 2, 2048);
            var efc = p.GetInt(Owner, "efConstruction", DefaultEfConstruction, 1, 32_768);
            return new Settings(m, efc);
        }
    }

    public override long MemoryBytes =>
        ((long)Count * _stride) + Count + ((long)Count * sizeof(int)) + (_upperInts * sizeof(int)) + (2L * _dimPad * sizeof(float));

    /// <summary>M of the paper: links per node on upper layers.</summary>
    public int MaxConnections => _m;

    /// <summary>Layers above 0 (the entry point's level).</summary>
    public int MaxLevel => _maxLevel;

    /// <summary>Checks build parameters before any work starts.</summary>
    public static void Validate(IndexParameters p) => Settings.Parse(p);

    /// <summary>Bytes from one layer-0 node to the next: code, count and 2M ids, rounded up to a 64-byte line.</summary>
    internal static nint StrideOf(int dimPad, int maxM0) => (nint)IndexFile.Align(dimPad + sizeof(int) + ((long)maxM0 * sizeof(int)));

    internal static int PadDimension(int dimension) => (dimension + 15) & ~15;

    private byte* Code(int node) => _level0 + (node * _stride);

    private int* Links0(int node) => (int*)(_level0 + (node * _stride) + _dimPad);

    private int* UpperLinks(int node, int level)
    {
        Debug.Assert(level >= 1 && level <= _levels[node]);
        return _upper + _upperStart[node] + ((level - 1) * _upperListInts);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int* Links(int node, int level) => level == 0 ? Links0(node) : UpperLinks(node, level);

    private int MaxLinks(int level) => level == 0 ? _maxM0 : _m;

    /// <summary>The L2 weights (pinned, so the pointer is stable).</summary>
    private float* WeightsPointer => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_weights));

    private void* Own(nuint bytes, bool aligned)
    {
        var p = aligned ? NativeMemory.AlignedAlloc(bytes, IndexFile.Alignment) : NativeMemory.Alloc(bytes);
        _owned.Add((nint)p);
        NativeMemory.Clear(p, bytes);
        return p;
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var p in _owned)
        {
            if (p == (nint)_level0)
            {
                NativeMemory.AlignedFree((void*)p);
            }
            else
            {
                NativeMemory.Free((void*)p);
            }
        }

        _owned.Clear();
        if (disposing)
        {
            _reader?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Derived per-dimension quantizer tables: 1/step for preparing L2 queries and step² as the L2 weight.</summary>
    private static (float[] InvStep, float[] Weights) Tables(float* step, int dimPad)
    {
        var inv = GC.AllocateArray<float>(dimPad, pinned: true);
        var weights = GC.AllocateArray<float>(dimPad, pinned: true);
        for (var i = 0; i < dimPad; i++)
        {
            inv[i] = step[i] > 0 ? 1f / step[i] : 0f;
            weights[i] = step[i] * step[i];
        }

        return (inv, weights);
    }

    /// <summary>A float vector in the index's space (normalized for COSINE) into <paramref name="buffer"/>, which
    /// must hold Dimension floats.</summary>
    private void Normalized(ReadOnlySpan<float> v, Span<float> buffer)
    {
        if (Metric != MetricType.Cosine)
        {
            v.CopyTo(buffer);
            return;
        }

        var norm = MathF.Sqrt(VectorMath.SquaredNorm(v));
        var inv = norm > 0 ? 1f / norm : 0f;
        for (var i = 0; i < v.Length; i++)
        {
            buffer[i] = v[i] * inv;
        }
    }

    /// <summary>Prepares a query (already in index space) for the SQ8 kernels: for L2, q' = (q - min) / step with the
    /// weights step²; for IP, q' = q * step and bias = q · min, so that q · x = bias + q' · code.</summary>
    private float PrepareSq8(ReadOnlySpan<float> q, float* prepared)
    {
        var dim = Dimension;
        if (Metric == MetricType.L2)
        {
            fixed (float* inv = _invStep)
            {
                for (var i = 0; i < dim; i++)
                {
                    prepared[i] = (q[i] - _min[i]) * inv[i];
                }
            }

            new Span<float>(prepared + dim, _dimPad - dim).Clear();
            return 0f;
        }

        var bias = 0f;
        for (var i = 0; i < dim; i++)
        {
            prepared[i] = q[i] * _step[i];
            bias += q[i] * _min[i];
        }

        new Span<float>(prepared + dim, _dimPad - dim).Clear();
        return bias;
    }

    /// <summary>Prepares a stored node's decoded vector as a query (for distances between two stored nodes).</summary>
    private float PrepareNode(int node, float* prepared)
    {
        var code = Code(node);
        if (Metric == MetricType.L2)
        {
            // (min + step * c - min) / step = c, exactly where step > 0; dimensions with step 0 carry weight 0.
            for (var i = 0; i < _dimPad; i++)
            {
                prepared[i] = code[i];
            }

            return 0f;
        }

        var bias = 0f;
        for (var i = 0; i < Dimension; i++)
        {
            var x = _min[i] + (_step[i] * code[i]);
            prepared[i] = x * _step[i];
            bias += x * _min[i];
        }

        new Span<float>(prepared + Dimension, _dimPad - Dimension).Clear();
        return bias;
    }

    /// <summary>Distance from a prepared query to a node's code: L2 squared, or negated inner product (IP and COSINE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Distance<TSpace>(float* q, float* w, float bias, byte* code, int dimPad)
        where TSpace : struct, ISpace => TSpace.Distance(q, w, bias, code, dimPad);

    /// <summary>The distance of the SQ8 space, a struct so that the search loop is specialized per metric.</summary>
    private interface ISpace
    {
        static abstract float Distance(float* q, float* w, float bias, byte* code, int dimPad);
    }

    private readonly struct L2Space : ISpace
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Distance(float* q, float* w, float bias, byte* code, int dimPad) =>
            VectorMath.Sq8WeightedL2(q, w, code, dimPad);
    }

    private readonly struct DotSpace : ISpace
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Distance(float* q, float* w, float bias, byte* code, int dimPad) =>
            -(bias + VectorMath.Sq8Dot(q, code, dimPad));
    }
}
