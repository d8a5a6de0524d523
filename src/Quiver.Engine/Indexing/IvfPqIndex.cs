using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>IVF_PQ: k-means cells whose lists hold product-quantized residuals (row minus its cell's centroid, see
/// <see cref="ProductQuantizer"/>), searched by asymmetric distance computation: per query and probed list a lookup table
/// of <c>m x 2^nbits</c> partial distances, then one table sum per row.
/// <para>For L2 the table splits as in the IVFADC paper: <c>|q - c - y|^2 = |q - c|^2 + sum_j (|y_j|^2 + 2 c_j.y_j)
/// - 2 sum_j q_j.y_j</c>; the middle term depends only on the list and code and is precomputed at build time
/// (nlist x m x 2^nbits floats, when that is at most 256 MiB; otherwise each list's table is computed at search time),
/// the last once per query. For IP and COSINE the key is <c>-(q.c + sum_j q_j.y_j)</c>, one table per query.</para>
/// <para>Build: <c>nlist</c> (1..65536, default 128, clamped to the row count), <c>m</c> (sub-quantizers; the dimension
/// must be divisible by it; default the largest divisor of the dimension not above dim / 4), <c>nbits</c> (1..16,
/// default 8; 8 or fewer use byte codes and are the fast path). Search: <c>nprobe</c> (default 8) and <c>refine_k</c>
/// (optional: keep k * refine_k candidates by code distance and re-rank them exactly with the raw vectors).</para></summary>
internal sealed unsafe class IvfPqIndex : IvfIndex
{
    /// <summary>The IVF estimate plus the lookup tables: ksub × dim multiply-adds per query (about ksub exact distances),
    /// and per probed list either m × ksub adds (precomputed L2 terms) or a whole new table.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity)
    {
        var perList = _listTerms.Length > 0 ? (double)_pq.M * _pq.Ksub / Dimension : Metric == MetricType.L2 ? _pq.Ksub : 0;
        return base.EstimateSearchCost(p, k, selectivity) + _pq.Ksub + (ProbeCount(p) * perList) + k;
    }

    private const string Owner = "index IVF_PQ";
    internal const long MaxPrecomputedBytes = 256L << 20;

    private readonly ProductQuantizer _pq;
    private readonly MappedArray<byte> _codes;

    /// <summary>Per list, sub-quantizer and code: <c>|y|^2 + 2 c.y</c> (L2 only; empty when not precomputed).</summary>
    private readonly MappedArray<float> _listTerms;

    private IvfPqIndex(
        MetricType metric, VectorView raw, IndexParameters p, in IvfLists lists, ProductQuantizer pq, MappedArray<byte> codes,
        MappedArray<float> listTerms, IndexFileReader? reader)
        : base(IndexKind.IvfPq, metric, raw, p, lists, reader)
    {
        _pq = pq;
        _codes = codes;
        _listTerms = listTerms;
    }

    /// <summary>Centroids, lists, codebooks, codes and the precomputed list terms.</summary>
    public override long MemoryBytes => ListBytes + _pq.Codebooks.Bytes + _codes.Bytes + _listTerms.Bytes;

    protected override int[] ExtraMeta => [_pq.M, _pq.Nbits, _listTerms.Length > 0 ? 1 : 0];

    public static void Validate(IndexParameters p, int dimension)
    {
        p.RejectUnknown(Owner, "nlist", "m", "nbits");
        _ = NlistOf(Owner, p, int.MaxValue);
        _ = MOf(p, dimension);
        _ = p.GetInt(Owner, "nbits", 8, 1, 16);
    }

    public static IvfPqIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        Validate(p, raw.Dimension);
        var dim = raw.Dimension;
        var m = MOf(p, dim);
        var nbits = p.GetInt(Owner, "nbits", 8, 1, 16);
        var space = IvfBuild.Space(metric, raw, options.Threads, cancellationToken);
        var lists = BuildLists(metric, space, NlistOf(Owner, p, raw.Count), options, 0.5, cancellationToken);
        var centroids = lists.Centroids.Array;
        var nlist = lists.Nlist;

        // Train the codebooks on residuals of a sample, each against its nearest centroid.
        var ksub = 1 << nbits;
        var sample = IvfBuild.Sample(space, Math.Max(ksub * 64, 32_768), options.Seed + 1, out var sampleCount);
        var labels = new int[sampleCount];
        KMeans.Assign(IvfBuild.View(sample, dim), centroids, nlist, metric != MetricType.L2, labels, options.Threads, cancellationToken);
        for (var i = 0; i < sampleCount; i++)
        {
            Subtract(sample.AsSpan(i * dim, dim), centroids.AsSpan(labels[i] * dim, dim));
        }

        var pq = ProductQuantizer.Train(sample, sampleCount, dim, m, nbits, options.Seed + 2, options.Threads, cancellationToken);
        options.Progress?.Invoke(0.8);

        var offsets = lists.Offsets.Array;
        var ids = lists.Ids.Array;
        var codes = MappedArray<byte>.Allocate(ids.Length * pq.CodeSize);
        IvfBuild.For(nlist, options.Threads, cancellationToken, (first, end) =>
        {
            var residual = new float[dim];
            var distances = new float[ksub];
            for (var l = first; l < end; l++)
            {
                for (var pos = offsets[l]; pos < offsets[l + 1]; pos++)
                {
                    space.Row(ids[pos]).CopyTo(residual);
                    Subtract(residual, centroids.AsSpan(l * dim, dim));
                    pq.Encode(residual, codes.Array.AsSpan(pos * pq.CodeSize, pq.CodeSize), distances);
                }
            }
        }, chunk: 4);

        var terms = MappedArray<float>.Allocate(0);
        var termCount = (long)nlist * m * ksub;
        if (metric == MetricType.L2 && termCount * sizeof(float) <= MaxPrecomputedBytes)
        {
            terms = MappedArray<float>.Allocate((int)termCount);
            var t = terms.Array;
            IvfBuild.For(nlist, options.Threads, cancellationToken, (first, end) =>
            {
                for (var l = first; l < end; l++)
                {
                    ListTerms(pq, centroids.AsSpan(l * dim, dim), t.AsSpan(l * m * ksub, m * ksub));
                }
            }, chunk: 16);
        }

        options.Progress?.Invoke(1);
        return new IvfPqIndex(metric, raw, p, lists, pq, codes, terms, null);
    }

    public static IvfPqIndex Load(IndexFileReader reader, VectorView raw)
    {
        var lists = LoadLists(reader);
        var dim = raw.Dimension;
        var m = Meta(reader, 1, 1, dim);
        var nbits = Meta(reader, 2, 1, 16);
        var precomputed = Meta(reader, 3, 0, 1) == 1;
        if (dim % m != 0)
        {
            Throw.Corrupt(reader.Path, $"m {m} does not divide the dimension {dim}");
        }

        var ksub = 1 << nbits;
        var pq = new ProductQuantizer(dim, m, nbits, MappedArray<float>.Map(reader, "pq_codebooks", (long)ksub * dim));
        var codes = MappedArray<byte>.Map(reader, "pq_codes", (long)lists.Ids.Length * pq.CodeSize);
        CheckCodes(reader.Path, codes.Span, pq.CodeBytes, ksub);
        var terms = precomputed ? MappedArray<float>.Map(reader, "pq_list_terms", (long)lists.Nlist * m * ksub) : MappedArray<float>.Allocate(0);
        return new IvfPqIndex(reader.Metric, raw, reader.BuildParams, lists, pq, codes, terms, reader);
    }

    /// <summary>Every code must index its sub-quantizer's table (ksub entries): the scans read tables through raw pointers.</summary>
    private static void CheckCodes(string path, ReadOnlySpan<byte> codes, int codeBytes, int ksub)
    {
        if (codeBytes == 1 && ksub < 256)
        {
            for (var i = 0; i < codes.Length; i++)
            {
                if (codes[i] >= ksub)
                {
                    Throw.Corrupt(path, $"PQ code {codes[i]} at byte {i} is not below {ksub}");
                }
            }
        }
        else if (codeBytes == 2 && ksub < 65_536)
        {
            var wide = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(codes);
            for (var i = 0; i < wide.Length; i++)
            {
                if (wide[i] >= ksub)
                {
                    Throw.Corrupt(path, $"PQ code {wide[i]} at position {i} is not below {ksub}");
                }
            }
        }
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
        var refine = p.RefineK > 0;
        var candidates = refine ? (int)Math.Min((long)k * p.RefineK, Count) : k;
        var heap = s.Heap(candidates);
        var tableSize = _pq.M * _pq.Ksub;
        var table = s.Table(tableSize);
        var l2 = Metric == MetricType.L2;
        var precomputed = _listTerms.Length > 0;
        Span<float> queryTable = default;
        if (!l2)
        {
            _pq.InnerProductTable(q, -1, table);
        }
        else if (precomputed)
        {
            queryTable = s.Table2(tableSize);
            _pq.InnerProductTable(q, -2, queryTable);
        }

        var probes = SelectProbes(q, ProbeCount(p), s, out var coarseKeys);
        var residual = s.Coarse(Nlist + dim).Slice(Nlist, dim);
        for (var i = 0; i < probes.Length; i++)
        {
            var list = probes[i];
            var bias = coarseKeys[i];
            if (l2 && precomputed)
            {
                Add(_listTerms.Span.Slice(list * tableSize, tableSize), queryTable, table);
            }
            else if (l2)
            {
                q.CopyTo(residual);
                Subtract(residual, Centroids.Span.Slice(list * dim, dim));
                _pq.L2Table(residual, table);
                bias = 0;
            }

            var ids = ListIds(list, out var start);
            if (_pq.CodeBytes == 1)
            {
                ScanBytes(ids, _codes.Pointer + ((long)start * _pq.CodeSize), table, bias, allowed, heap);
            }
            else
            {
                ScanShorts(ids, (ushort*)(_codes.Pointer + ((long)start * _pq.CodeSize)), table, bias, allowed, heap);
            }
        }

        if (!refine)
        {
            return Rescore(q, hits, heap.DrainSorted(hits));
        }

        var found = s.Hits(candidates);
        var n = heap.DrainSorted(found);
        var exact = s.RefineHeap(k);
        foreach (var hit in found[..n])
        {
            var key = ExactKey(q, hit.Row);
            if (key <= exact.Threshold)
            {
                exact.Add(key, hit.Row);
            }
        }

        return exact.DrainSorted(hits);
    }

    protected override void WritePayload(IndexFileWriter writer)
    {
        _pq.Codebooks.AddTo(writer, "pq_codebooks");
        _codes.AddTo(writer, "pq_codes");
        if (_listTerms.Length > 0)
        {
            _listTerms.AddTo(writer, "pq_list_terms");
        }
    }

    internal static int MOf(IndexParameters p, int dimension)
    {
        var fallback = 1;
        for (var d = Math.Max(1, dimension / 4); d >= 1; d--)
        {
            if (dimension % d == 0)
            {
                fallback = d;
                break;
            }
        }

        var m = p.GetInt(Owner, "m", fallback, 1, 65_536);
        if (dimension % m != 0)
        {
            Throw.Invalid($"{Owner}: parameter 'm' ({m}) must divide the vector dimension {dimension}");
        }

        return m;
    }

    /// <summary><c>sum = a + b</c>, element-wise: the per-list table of an L2 search (a list's precomputed terms plus the
    /// query's), rebuilt for every probed list, so it must not run element by element.</summary>
    private static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> sum)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= sum.Length; i += 16)
            {
                (Vector512.Create(a.Slice(i, 16)) + Vector512.Create(b.Slice(i, 16))).CopyTo(sum.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= sum.Length; i += 8)
            {
                (Vector256.Create(a.Slice(i, 8)) + Vector256.Create(b.Slice(i, 8))).CopyTo(sum.Slice(i, 8));
            }
        }

        for (; i < sum.Length; i++)
        {
            sum[i] = a[i] + b[i];
        }
    }

    private static void Subtract(Span<float> x, ReadOnlySpan<float> c)
    {
        for (var d = 0; d < x.Length; d++)
        {
            x[d] -= c[d];
        }
    }

    /// <summary><c>|y_jc|^2 + 2 centroid_j.y_jc</c> for every sub-quantizer j and code c.</summary>
    private static void ListTerms(ProductQuantizer pq, ReadOnlySpan<float> centroid, Span<float> terms)
    {
        pq.InnerProductTable(centroid, 2, terms);
        var books = pq.Codebooks.Span;
        var dsub = pq.SubDimension;
        for (var jc = 0; jc < terms.Length; jc++)
        {
            var y = books.Slice(jc * dsub, dsub);
            var norm = 0f;
            foreach (var v in y)
            {
                norm += v * v;
            }

            terms[jc] += norm;
        }
    }

    /// <summary>The 8-bit (and fewer) scan: per row, the bias plus m table lookups in four independent sums, offered to
    /// the heap. Kept out of line with native-int arithmetic, so that its loop keeps every pointer in a register.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ScanBytes(ReadOnlySpan<int> ids, byte* codes, ReadOnlySpan<float> table, float bias, Bitmap? allowed, Search.TopK heap)
    {
        nint m = _pq.M;
        nint ksub = _pq.Ksub;
        var m4 = m & ~(nint)3;
        var threshold = heap.Threshold;
        fixed (float* t = table)
        {
            var code = codes;
            for (var i = 0; i < ids.Length; i++, code += m)
            {
                float a0 = bias, a1 = 0, a2 = 0, a3 = 0;
                var tj = t;
                nint j = 0;
                for (; j < m4; j += 4, tj += 4 * ksub)
                {
                    a0 += tj[code[j]];
                    a1 += tj[ksub + code[j + 1]];
                    a2 += tj[(2 * ksub) + code[j + 2]];
                    a3 += tj[(3 * ksub) + code[j + 3]];
                }

                for (; j < m; j++, tj += ksub)
                {
                    a0 += tj[code[j]];
                }

                var key = (a0 + a1) + (a2 + a3);
                if (key <= threshold && Allowed(allowed, ids[i]))
                {
                    heap.Add(key, ids[i]);
                    threshold = heap.Threshold;
                }
            }
        }
    }

    /// <summary>The 9- to 16-bit scan.</summary>
    private void ScanShorts(ReadOnlySpan<int> ids, ushort* codes, ReadOnlySpan<float> table, float bias, Bitmap? allowed, Search.TopK heap)
    {
        var m = _pq.M;
        var ksub = _pq.Ksub;
        for (var i = 0; i < ids.Length; i++)
        {
            var code = codes + ((long)i * m);
            var key = bias;
            for (var j = 0; j < m; j++)
            {
                key += table[(j * ksub) + code[j]];
            }

            if (key <= heap.Threshold && Allowed(allowed, ids[i]))
            {
                heap.Add(key, ids[i]);
            }
        }
    }
}
