using System.Buffers;
using Quiver.Common;
using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>BIN_IVF_FLAT: binary vectors grouped into <c>nlist</c> cells by k-modes under HAMMING (each centroid is the
/// bitwise majority of its members), each cell's rows copied in list order as packed 64-bit words. A search ranks the
/// centroids by HAMMING distance to the query, scans the <c>nprobe</c> nearest cells with the field's metric (HAMMING or
/// JACCARD) and returns exact distances for the rows it visits. Build: <c>nlist</c> 1..65536, default 128 (clamped to
/// the row count). Search: <c>nprobe</c>, default 8 (clamped to nlist). Memory: the codes (⌈dim/64⌉·8 bytes a row), one
/// int per row and the centroids.</summary>
internal sealed class BinaryIvfIndex : VectorIndex
{
    private const string Owner = "index BIN_IVF_FLAT";
    private const int DefaultNlist = 128;
    private const int DefaultNprobe = 8;
    private const int TrainIterations = 10;

    [ThreadStatic]
    private static TopK? t_heap;

    private readonly ulong[] _centroids;
    private readonly int[] _offsets;
    private readonly int[] _ids;
    private readonly ulong[] _codes;
    private readonly int _words;

    private BinaryIvfIndex(MetricType metric, VectorView raw, IndexParameters p, ulong[] centroids, int[] offsets, int[] ids, ulong[] codes)
        : base(IndexKind.BinIvfFlat, metric, raw, p)
    {
        _centroids = centroids;
        _offsets = offsets;
        _ids = ids;
        _codes = codes;
        _words = raw.Dimension / 2;
    }

    /// <summary>Number of cells.</summary>
    public int ListCount => _offsets.Length - 1;

    public override long MemoryBytes => ((long)_centroids.Length + _codes.Length) * sizeof(ulong) + ((long)_offsets.Length + _ids.Length) * sizeof(int);

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown(Owner, "nlist");
        _ = p.GetInt(Owner, "nlist", DefaultNlist, 1, 65_536);
    }

    /// <summary>Bytes the index will hold for <paramref name="count"/> rows of <paramref name="dimension"/> bits.</summary>
    public static long EstimateBytes(IndexParameters p, int count, int dimension)
    {
        long nlist = Math.Min(p.GetInt(Owner, "nlist", DefaultNlist, 1, 65_536), Math.Max(count, 1));
        return ((nlist + count) * ((dimension + 63) / 64) * sizeof(ulong)) + ((nlist + 1 + count) * sizeof(int));
    }

    public static BinaryIvfIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        Validate(p);
        var words = raw.Dimension / 2;
        var n = raw.Count;

        // Null vectors are neither seeds, voters nor list entries (see NullRows).
        var order = NullRows.Live(raw);
        var nlist = Math.Max(1, Math.Min(p.GetInt(Owner, "nlist", DefaultNlist, 1, 65_536), order.Length));
        var all = BinaryMath.Words(raw.All);
        var centroids = new ulong[nlist * words];
        var random = new Random(options.Seed);

        // Seeds: distinct rows chosen at random (a partial Fisher-Yates over the rows that have a vector).
        for (var c = 0; c < Math.Min(nlist, order.Length); c++)
        {
            var j = random.Next(c, order.Length);
            (order[c], order[j]) = (order[j], order[c]);
            all.Slice(order[c] * words, words).CopyTo(centroids.AsSpan(c * words, words));
        }

        var labels = new int[n];
        var votes = new int[nlist * words * 64];
        var sizes = new int[nlist];
        for (var iteration = 0; iteration < TrainIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var changed = Assign(raw, words, centroids, nlist, labels, options.Threads, cancellationToken);
            if (iteration > 0 && changed == 0)
            {
                break;
            }

            // Majority vote per bit; an empty cell keeps its centroid.
            Array.Clear(votes);
            Array.Clear(sizes);
            for (var r = 0; r < n; r++)
            {
                var c = labels[r];
                if (c < 0)
                {
                    continue;
                }

                sizes[c]++;
                var row = all.Slice(r * words, words);
                var v = votes.AsSpan(c * words * 64, words * 64);
                for (var w = 0; w < words; w++)
                {
                    for (var x = row[w]; x != 0; x &= x - 1)
                    {
                        v[(w * 64) + System.Numerics.BitOperations.TrailingZeroCount(x)]++;
                    }
                }
            }

            for (var c = 0; c < nlist; c++)
            {
                if (sizes[c] == 0)
                {
                    continue;
                }

                for (var w = 0; w < words; w++)
                {
                    ulong word = 0;
                    for (var b = 0; b < 64; b++)
                    {
                        if (2 * votes[(c * words * 64) + (w * 64) + b] > sizes[c])
                        {
                            word |= 1UL << b;
                        }
                    }

                    centroids[(c * words) + w] = word;
                }
            }

            options.Progress?.Invoke((iteration + 1) / (double)(TrainIterations + 1));
        }

        Assign(raw, words, centroids, nlist, labels, options.Threads, cancellationToken);
        var offsets = new int[nlist + 1];
        foreach (var c in labels)
        {
            if (c >= 0)
            {
                offsets[c + 1]++;
            }
        }

        for (var c = 0; c < nlist; c++)
        {
            offsets[c + 1] += offsets[c];
        }

        var ids = new int[order.Length];
        var codes = new ulong[(long)order.Length * words];
        var fill = offsets[..nlist];
        for (var r = 0; r < n; r++)
        {
            if (labels[r] < 0)
            {
                continue;
            }

            var at = fill[labels[r]]++;
            ids[at] = r;
            all.Slice(r * words, words).CopyTo(codes.AsSpan(at * words, words));
        }

        options.Progress?.Invoke(1);
        return new BinaryIvfIndex(metric, raw, p, centroids, offsets, ids, codes);
    }

    public static BinaryIvfIndex Load(IndexFileReader reader, VectorView raw)
    {
        using (reader)
        {
            var offsets = reader.Block<int>("bin_offsets").ToArray();
            var ids = reader.Block<int>("bin_ids").ToArray();
            var codes = reader.Block<ulong>("bin_codes").ToArray();
            var centroids = reader.Block<ulong>("bin_centroids").ToArray();
            var words = raw.Dimension / 2;
            // The lists hold the rows that have a vector: every row, or fewer when some are null.
            if (offsets.Length < 2 || offsets[0] != 0 || ids.Length > raw.Count || offsets[^1] != ids.Length
                || codes.Length != (long)ids.Length * words || centroids.Length != (offsets.Length - 1) * words)
            {
                Throw.Corrupt(reader.Path, "BIN_IVF_FLAT blocks do not match the segment's rows");
            }

            return new BinaryIvfIndex(reader.Metric, raw, reader.BuildParams, centroids, offsets, ids, codes);
        }
    }

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits)
    {
        if (k <= 0 || Count == 0)
        {
            return 0;
        }

        var q = BinaryMath.Words(query);
        var nlist = ListCount;
        var nprobe = Math.Min(p.Nprobe > 0 ? p.Nprobe : DefaultNprobe, nlist);
        var order = ArrayPool<(int Distance, int List)>.Shared.Rent(nlist);
        try
        {
            for (var c = 0; c < nlist; c++)
            {
                order[c] = (BinaryMath.Hamming(q, _centroids.AsSpan(c * _words, _words)), c);
            }

            Array.Sort(order, 0, nlist);
            var heap = t_heap is { } h && h.Capacity == k ? h : t_heap = new TopK(k);
            heap.Clear();
            for (var i = 0; i < nprobe; i++)
            {
                var list = order[i].List;
                for (var pos = _offsets[list]; pos < _offsets[list + 1]; pos++)
                {
                    var row = _ids[pos];
                    if (allowed is not null && !allowed[row])
                    {
                        continue;
                    }

                    var key = BinaryMath.Distance(Metric, q, _codes.AsSpan(pos * _words, _words));
                    if (key <= heap.Threshold)
                    {
                        heap.Add(key, row);
                    }
                }
            }

            return heap.DrainSorted(hits);
        }
        finally
        {
            ArrayPool<(int, int)>.Shared.Return(order);
        }
    }

    public override void Write(IndexFileWriter writer)
    {
        writer.Add("bin_offsets", _offsets);
        writer.Add("bin_ids", _ids);
        writer.Add("bin_codes", _codes);
        writer.Add("bin_centroids", _centroids);
    }

    /// <summary>Each row's nearest centroid under HAMMING (ties to the lower cell), -1 for a null vector; returns how many
    /// labels changed.</summary>
    private static int Assign(VectorView raw, int words, ulong[] centroids, int nlist, int[] labels, int threads, CancellationToken cancellationToken)
    {
        var n = labels.Length;
        var changed = 0;
        threads = Math.Max(1, threads);
        var per = (n + threads - 1) / threads;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, t =>
        {
            var local = 0;
            var all = BinaryMath.Words(raw.All);
            for (var r = t * per; r < Math.Min(n, (t + 1) * per); r++)
            {
                if (raw.IsNull(r))
                {
                    local += labels[r] != -1 ? 1 : 0;
                    labels[r] = -1;
                    continue;
                }

                var row = all.Slice(r * words, words);
                int best = 0, bestDistance = int.MaxValue;
                for (var c = 0; c < nlist; c++)
                {
                    var d = BinaryMath.Hamming(row, centroids.AsSpan(c * words, words));
                    if (d < bestDistance)
                    {
                        (best, bestDistance) = (c, d);
                    }
                }

                if (labels[r] != best)
                {
                    labels[r] = best;
                    local++;
                }
            }

            Interlocked.Add(ref changed, local);
        });
        return changed;
    }
}
