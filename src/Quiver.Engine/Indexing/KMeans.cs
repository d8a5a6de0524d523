using System.Buffers;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>How k-means picks its initial centroids.</summary>
internal enum KMeansInit
{
    /// <summary>k distinct sample rows drawn uniformly.</summary>
    Random,

    /// <summary>k-means++ (Arthur and Vassilvitskii): each next centroid a sample row drawn with probability
    /// proportional to its squared distance from the nearest centroid already chosen, over at most
    /// <see cref="KMeans.PlusPlusRowsPerCentroid"/> × k rows of the sample.</summary>
    PlusPlus,
}

/// <summary>Lloyd's k-means with seeded initialisation (<see cref="KMeansInit"/>) and empty-cluster splitting, and
/// the nearest-centroid assignment every IVF build and search-side encoder uses. Assignment runs many rows against many
/// centroids through the blocked 6x4 kernels (<see cref="VectorMath.L2SquaredBlock"/>, <see cref="VectorMath.DotBlock"/>),
/// which is where a build spends its time.</summary>
internal static class KMeans
{
    /// <summary>Rows per assignment chunk; with <see cref="CentroidTile"/> the result tile stays in L2.</summary>
    private const int RowChunk = 96;

    private const int CentroidTile = 512;

    /// <summary>k-means++ seeds from at most this many sample rows per centroid: its k passes over 64·k rows then cost about
    /// a fiftieth of IVF's 12 Lloyd iterations over 256 rows per centroid (<c>IvfIndex</c>) that follow.</summary>
    public const int PlusPlusRowsPerCentroid = 64;

    /// <summary>Trains <paramref name="k"/> centroids (row-major, k * dim) on <paramref name="count"/> sample rows. With
    /// at most k rows every row is a centroid and the rest repeat them; with no rows the centroids are zero. Lloyd
    /// iterations stop early once no row changes cluster.</summary>
    public static float[] Train(
        float[] sample, int count, int dim, int k, int iterations, int seed, int threads, CancellationToken cancellationToken, Action<double>? progress = null,
        KMeansInit init = KMeansInit.Random)
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

        if (count <= k || init == KMeansInit.Random)
        {
            for (var c = 0; c < k; c++)
            {
                sample.AsSpan(order[c % count] * dim, dim).CopyTo(centroids.AsSpan(c * dim, dim));
            }
        }
        else
        {
            PlusPlus(sample, count, dim, k, rng, threads, centroids, cancellationToken);
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

    /// <summary>k-means++ seeding over a uniform subset of at most <see cref="PlusPlusRowsPerCentroid"/> × k sample rows:
    /// the first centroid is a random row, each next one a row drawn with probability proportional to its squared L2
    /// distance from the nearest centroid chosen so far (rows already chosen have distance 0 and are not drawn again
    /// unless every row has distance 0, when a uniform draw repeats one).</summary>
    internal static void PlusPlus(float[] sample, int count, int dim, int k, Random rng, int threads, float[] centroids, CancellationToken cancellationToken)
    {
        var n = Math.Min(count, PlusPlusRowsPerCentroid * k);
        var rows = new int[count];
        for (var i = 0; i < count; i++)
        {
            rows[i] = i;
        }

        if (n < count)
        {
            for (var i = 0; i < n; i++)
            {
                var j = rng.Next(i, count);
                (rows[i], rows[j]) = (rows[j], rows[i]);
            }
        }

        var nearest = new float[n];
        nearest.AsSpan().Fill(float.PositiveInfinity);
        var chosen = rows[rng.Next(n)];
        for (var c = 0; c < k; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var centroid = sample.AsSpan(chosen * dim, dim);
            centroid.CopyTo(centroids.AsSpan(c * dim, dim));
            if (c == k - 1)
            {
                break;
            }

            var copy = centroids.AsMemory(c * dim, dim);
            IvfBuild.For(n, threads, cancellationToken, (first, end) =>
            {
                var at = copy.Span;
                for (var i = first; i < end; i++)
                {
                    var d = VectorMath.L2Squared(at, sample.AsSpan(rows[i] * dim, dim));
                    if (d < nearest[i])
                    {
                        nearest[i] = d;
                    }
                }
            }, chunk: 4096);

            var total = 0.0;
            foreach (var d in nearest)
            {
                total += d;
            }

            if (!(total > 0))
            {
                chosen = rows[rng.Next(n)];
                continue;
            }

            var target = rng.NextDouble() * total;
            var pick = -1;
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                if (nearest[i] <= 0)
                {
                    continue;
                }

                pick = i;
                sum += nearest[i];
                if (sum > target)
                {
                    break;
                }
            }

            chosen = rows[pick];
        }
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
