using System.Buffers;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>Lloyd's k-means with seeded random initialisation (k distinct sample rows) and empty-cluster splitting, and
/// the nearest-centroid assignment every IVF build and search-side encoder uses. Assignment runs many rows against many
/// centroids through the blocked 6x4 kernels (<see cref="VectorMath.L2SquaredBlock"/>, <see cref="VectorMath.DotBlock"/>),
/// which is where a build spends its time.</summary>
internal static class KMeans
{
    /// <summary>Rows per assignment chunk; with <see cref="CentroidTile"/> the result tile stays in L2.</summary>
    private const int RowChunk = 96;

    private const int CentroidTile = 512;

    /// <summary>Trains <paramref name="k"/> centroids (row-major, k * dim) on <paramref name="count"/> sample rows. With
    /// at most k rows every row is a centroid and the rest repeat them; with no rows the centroids are zero. Lloyd
    /// iterations stop early once no row changes cluster.</summary>
    public static float[] Train(
        float[] sample, int count, int dim, int k, int iterations, int seed, int threads, CancellationToken cancellationToken, Action<double>? progress = null)
    {
        var centroids = new float[k * dim];
        if (count == 0)
        {
            return centroids;
        }

        var rng = new Random(seed);
        var order = new int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = i;
        }

        for (var i = 0; i < Math.Min(k, count); i++)
        {
            var j = rng.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
        }

        for (var c = 0; c < k; c++)
        {
            sample.AsSpan(order[c % count] * dim, dim).CopyTo(centroids.AsSpan(c * dim, dim));
        }

        if (count <= k)
        {
            return centroids;
        }

        var view = IvfBuild.View(sample, dim);
        var labels = new int[count];
        var previous = new int[count];
        var sizes = new int[k];
        var sums = new double[k * dim];
        for (var it = 0; it < iterations; it++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Assign(view, centroids, k, innerProduct: false, labels, threads, cancellationToken);
            var changed = 0;
            for (var i = 0; i < count; i++)
            {
                changed += labels[i] != previous[i] ? 1 : 0;
            }

            (previous, labels) = (labels, previous);
            progress?.Invoke((it + 1) / (double)iterations);
            if (it > 0 && changed == 0)
            {
                break;
            }

            Array.Clear(sizes);
            Array.Clear(sums);
            for (var i = 0; i < count; i++)
            {
                var c = previous[i];
                sizes[c]++;
                var row = sample.AsSpan(i * dim, dim);
                var acc = sums.AsSpan(c * dim, dim);
                for (var d = 0; d < dim; d++)
                {
                    acc[d] += row[d];
                }
            }

            for (var c = 0; c < k; c++)
            {
                if (sizes[c] > 0)
                {
                    var inv = 1.0 / sizes[c];
                    for (var d = 0; d < dim; d++)
                    {
                        centroids[(c * dim) + d] = (float)(sums[(c * dim) + d] * inv);
                    }
                }
            }

            SplitEmpty(centroids, sizes, dim, rng);
        }

        return centroids;
    }

    /// <summary>Writes the nearest centroid of every row to <paramref name="labels"/>: smallest L2 distance, or largest inner
    /// product when <paramref name="innerProduct"/>. Ties go to the lower centroid number.</summary>
    public static void Assign(VectorView rows, float[] centroids, int k, bool innerProduct, int[] labels, int threads, CancellationToken cancellationToken)
    {
        var dim = rows.Dimension;
        var centroidNorms = new float[k];
        for (var c = 0; c < k; c++)
        {
            centroidNorms[c] = VectorMath.SquaredNorm(centroids.AsSpan(c * dim, dim));
        }

        var tile = Math.Min(k, CentroidTile);
        IvfBuild.For(
            rows.Count,
            threads,
            cancellationToken,
            (start, end) =>
            {
                var n = end - start;
                var buffer = ArrayPool<float>.Shared.Rent((n * tile) + (2 * n));
                try
                {
                    var rowNorms = buffer.AsSpan(n * tile, n);
                    var best = buffer.AsSpan((n * tile) + n, n);
                    best.Fill(float.PositiveInfinity);
                    var block = rows.All.Slice(start * dim, n * dim);
                    for (var r = 0; r < n; r++)
                    {
                        rowNorms[r] = VectorMath.SquaredNorm(block.Slice(r * dim, dim));
                    }

                    for (var c0 = 0; c0 < k; c0 += tile)
                    {
                        var t = Math.Min(tile, k - c0);
                        var result = buffer.AsSpan(0, n * t);
                        var cs = centroids.AsSpan(c0 * dim, t * dim);
                        if (innerProduct)
                        {
                            VectorMath.DotBlock(block, n, cs, t, dim, result);
                        }
                        else
                        {
                            VectorMath.L2SquaredBlock(block, n, rowNorms, cs, t, centroidNorms.AsSpan(c0, t), dim, result);
                        }

                        for (var r = 0; r < n; r++)
                        {
                            var keys = result.Slice(r * t, t);
                            var b = best[r];
                            var label = labels[start + r];
                            for (var c = 0; c < t; c++)
                            {
                                var key = innerProduct ? -keys[c] : keys[c];
                                if (key < b)
                                {
                                    b = key;
                                    label = c0 + c;
                                }
                            }

                            if (c0 == 0 && float.IsPositiveInfinity(b))
                            {
                                label = 0;
                            }

                            best[r] = b;
                            labels[start + r] = label;
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            },
            RowChunk);
    }

    /// <summary>Gives every empty cluster half of the largest one: both centroids move a little apart along a random
    /// direction, so the next assignment splits that cluster instead of leaving a centroid unused.</summary>
    private static void SplitEmpty(float[] centroids, int[] sizes, int dim, Random rng)
    {
        for (var c = 0; c < sizes.Length; c++)
        {
            if (sizes[c] != 0)
            {
                continue;
            }

            var largest = 0;
            for (var j = 1; j < sizes.Length; j++)
            {
                largest = sizes[j] > sizes[largest] ? j : largest;
            }

            if (sizes[largest] < 2)
            {
                return;
            }

            var src = centroids.AsSpan(largest * dim, dim);
            var dst = centroids.AsSpan(c * dim, dim);
            var scale = 1e-3f * MathF.Sqrt(VectorMath.SquaredNorm(src) / dim);
            scale = scale > 0 ? scale : 1e-6f;
            for (var d = 0; d < dim; d++)
            {
                var delta = scale * (float)((rng.NextDouble() * 2) - 1);
                dst[d] = src[d] + delta;
                src[d] -= delta;
            }

            sizes[c] = sizes[largest] / 2;
            sizes[largest] -= sizes[c];
        }
    }
}
