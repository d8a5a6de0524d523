using Quiver.Distance;
using Quiver.Search;
using Quiver.Segments;

namespace Quiver.Toolbox.Vectors;

/// <summary>Exact nearest neighbours (the ground truth an ANN index is measured against) and recall.</summary>
internal static class GroundTruth
{
    private const int QueryBlock = 32;
    private const int RowTile = 256;

    /// <summary>The exact top-<paramref name="k"/> rows of <paramref name="rows"/> for each of the
    /// <paramref name="queryCount"/> queries, query-major (<c>result[q * k + i]</c>, best first, ties by smaller row).
    /// Blocks of queries go through the blocked kernels (<see cref="VectorMath.L2SquaredBlock"/> /
    /// <see cref="VectorMath.DotBlock"/>) on <paramref name="threads"/> threads; since the blocked L2 form
    /// (|q|² + |x|² - 2q·x) loses precision for close pairs, each query keeps 2k + 8 candidates and re-ranks them in
    /// double precision (<see cref="VectorMathReference"/>). <paramref name="progress"/> gets the fraction done.</summary>
    public static int[] Compute(
        VectorView rows, float[] queries, int queryCount, MetricType metric, int k, int threads, Action<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var dim = rows.Dimension;
        if (queries.Length < (long)queryCount * dim)
        {
            throw new ArgumentException("fewer query values than queries * dimension", nameof(queries));
        }

        if (k < 1 || k > rows.Count)
        {
            Throw.Invalid($"ground truth top-{k} needs 1..{rows.Count} (the number of base vectors)");
        }

        var result = new int[(long)queryCount * k];
        var blocks = (queryCount + QueryBlock - 1) / QueryBlock;
        var done = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = cancellationToken };
        Parallel.For(0, blocks, options, () => new Worker(dim, Math.Min(rows.Count, (2 * k) + 8)), (block, _, worker) =>
        {
            var first = block * QueryBlock;
            var nq = Math.Min(QueryBlock, queryCount - first);
            worker.Run(rows, queries.AsSpan(first * dim, nq * dim), nq, metric, k, result.AsSpan(first * k, nq * k));
            var finished = Interlocked.Increment(ref done);
            if (progress is not null && (finished % 16 == 0 || finished == blocks))
            {
                progress((double)finished / blocks);
            }

            return worker;
        }, static _ => { });
        return result;
    }

    /// <summary>recall@k: over all queries, how many of each query's true top-k ids (the first <paramref name="k"/>
    /// of its <paramref name="truthK"/> ground-truth ids; ties are settled by the ground truth's order) appear among the
    /// first k ids found, divided by the number of real ground-truth ids (queries * k unless a row of the truth is padded
    /// with -1: fewer than k rows to find; 1 when there is none at all). Found lists are <paramref name="k"/> wide, padded with -1.</summary>
    public static double Recall(ReadOnlySpan<int> found, ReadOnlySpan<int> truth, int truthK, int queryCount, int k)
    {
        if (truthK < k)
        {
            Throw.Invalid($"the ground truth holds top-{truthK} per query; recall@{k} needs at least {k}");
        }

        // A ground-truth row padded with -1 (fewer than k rows pass a filter) has only its real ids to find: padding
        // is neither a hit nor counted in the denominator.
        long hits = 0, wanted = 0;
        for (var q = 0; q < queryCount; q++)
        {
            var mine = found.Slice(q * k, k);
            foreach (var id in truth.Slice(q * truthK, k))
            {
                if (id < 0)
                {
                    continue;
                }

                wanted++;
                if (mine.Contains(id))
                {
                    hits++;
                }
            }
        }

        return queryCount == 0 ? 0 : wanted == 0 ? 1 : (double)hits / wanted;
    }

    /// <summary>One thread's heaps and tiles, reused across query blocks.</summary>
    private sealed class Worker(int dim, int candidates)
    {
        private readonly TopK[] _heaps = [.. Enumerable.Range(0, QueryBlock).Select(_ => new TopK(candidates))];
        private readonly float[] _tile = new float[QueryBlock * RowTile];
        private readonly float[] _queryNorms = new float[QueryBlock];
        private readonly (double Key, int Row)[] _rerank = new (double, int)[candidates];

        public void Run(VectorView rows, ReadOnlySpan<float> queries, int nq, MetricType metric, int k, Span<int> output)
        {
            for (var q = 0; q < nq; q++)
            {
                _heaps[q].Clear();
                _queryNorms[q] = VectorMath.SquaredNorm(queries.Slice(q * dim, dim));
            }

            var all = rows.All;
            var norms = rows.SquaredNorms;
            for (var start = 0; start < rows.Count; start += RowTile)
            {
                var n = Math.Min(RowTile, rows.Count - start);
                var tile = _tile.AsSpan(0, nq * n);
                var block = all.Slice(start * dim, n * dim);
                if (metric == MetricType.L2)
                {
                    VectorMath.L2SquaredBlock(queries, nq, _queryNorms.AsSpan(0, nq), block, n, norms.Slice(start, n), dim, tile);
                }
                else
                {
                    VectorMath.DotBlock(queries, nq, block, n, dim, tile);
                }

                for (var q = 0; q < nq; q++)
                {
                    var heap = _heaps[q];
                    var d = tile.Slice(q * n, n);
                    for (var i = 0; i < n; i++)
                    {
                        var key = metric switch
                        {
                            MetricType.L2 => d[i],
                            MetricType.IP => -d[i],
                            _ => -d[i] / MathF.Sqrt(_queryNorms[q] * norms[start + i]),
                        };
                        if (key <= heap.Threshold)
                        {
                            heap.Add(key, start + i);
                        }
                    }
                }
            }

            for (var q = 0; q < nq; q++)
            {
                var query = queries.Slice(q * dim, dim);
                var kept = _heaps[q].ToSortedArray();
                for (var i = 0; i < kept.Length; i++)
                {
                    var row = rows.Row((int)kept[i].Id);
                    var key = metric switch
                    {
                        MetricType.L2 => VectorMathReference.L2Squared(query, row),
                        MetricType.IP => -VectorMathReference.Dot(query, row),
                        _ => -VectorMathReference.Cosine(query, row),
                    };
                    _rerank[i] = (key, (int)kept[i].Id);
                }

                var ranked = _rerank.AsSpan(0, kept.Length);
                ranked.Sort(static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Row.CompareTo(b.Row));
                for (var i = 0; i < k; i++)
                {
                    output[(q * k) + i] = ranked[i].Row;
                }
            }
        }
    }
}
