using Quiver.Common;
using Quiver.Distance;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Storage;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Shared fixtures for index tests: seeded clustered data (harder and more realistic than uniform noise), an
/// exact oracle in double precision, recall, and a save/load round trip through a real index file.</summary>
internal static class IndexTestKit
{
    /// <summary>Seeded data: <paramref name="clusters"/> Gaussian blobs around random centres, row-major.</summary>
    public static float[] Clustered(int seed, int count, int dim, int clusters = 32, float spread = 0.35f)
    {
        var rng = new Random(seed);
        var centres = new float[clusters * dim];
        for (var i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        var data = new float[count * dim];
        for (var r = 0; r < count; r++)
        {
            var c = rng.Next(clusters);
            for (var d = 0; d < dim; d++)
            {
                data[(r * dim) + d] = centres[(c * dim) + d] + (spread * Gaussian(rng));
            }
        }

        return data;
    }

    /// <summary>A view over row-major vectors, with their squared norms, as a sealed segment would give an index.</summary>
    public static unsafe VectorView View(float[] data, int dim)
    {
        var count = data.Length / dim;
        var norms = new float[count];
        for (var i = 0; i < count; i++)
        {
            norms[i] = VectorMath.SquaredNorm(data.AsSpan(i * dim, dim));
        }

        return new VectorView(data, null, dim, count, norms);
    }

    /// <summary>Exact top-k rows among <paramref name="allowed"/> (null: all), computed in double precision.</summary>
    public static int[] Exact(MetricType metric, float[] data, int dim, ReadOnlySpan<float> query, int k, Bitmap? allowed = null)
    {
        var count = data.Length / dim;
        var scored = new List<(double Key, int Row)>(count);
        for (var r = 0; r < count; r++)
        {
            if (allowed is not null && !allowed[r])
            {
                continue;
            }

            var s = BruteForce.Score(metric, query, data.AsSpan(r * dim, dim));
            scored.Add((metric == MetricType.L2 ? s : -s, r));
        }

        scored.Sort((a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Row.CompareTo(b.Row));
        return [.. scored.Take(k).Select(x => x.Row)];
    }

    /// <summary>Mean recall@k of <paramref name="index"/> over <paramref name="queries"/> against the exact oracle.</summary>
    public static double Recall(VectorIndex index, float[] data, float[][] queries, int k, AnnSearchParams p, Bitmap? allowed = null)
    {
        var hits = new IndexHit[k];
        double sum = 0;
        foreach (var q in queries)
        {
            var truth = Exact(index.Metric, data, index.Dimension, q, k, allowed);
            var n = index.Search(q, k, p, allowed, hits);
            var found = new HashSet<int>();
            for (var i = 0; i < n; i++)
            {
                found.Add(hits[i].Row);
                if (allowed is not null)
                {
                    Assert.True(allowed[hits[i].Row], $"hit row {hits[i].Row} is not in the allow-list");
                }
            }

            sum += truth.Length == 0 ? 1 : truth.Count(found.Contains) / (double)truth.Length;
        }

        return sum / queries.Length;
    }

    /// <summary>Queries drawn like the data (same seed family, different stream).</summary>
    public static float[][] Queries(int seed, int count, int dim, int clusters = 32)
    {
        var flat = Clustered(seed, count, dim, clusters);
        return [.. Enumerable.Range(0, count).Select(i => flat.AsSpan(i * dim, dim).ToArray())];
    }

    /// <summary>Saves <paramref name="index"/> to a file in <paramref name="folder"/> and loads it back over the same vectors.</summary>
    public static VectorIndex RoundTrip(VectorIndex index, TempFolder folder, string name = "test.qidx")
    {
        var fs = PhysicalFileSystem.Instance;
        var path = Path.Combine(folder.Path, name);
        IndexFactory.Save(index, fs, path);
        return IndexFactory.Load(IndexFile.Open(fs, path), index.Raw);
    }

    /// <summary>Asserts two indexes give identical results (rows and keys) for every query.</summary>
    public static void AssertSameResults(VectorIndex a, VectorIndex b, float[][] queries, int k, AnnSearchParams p)
    {
        var ha = new IndexHit[k];
        var hb = new IndexHit[k];
        foreach (var q in queries)
        {
            var na = a.Search(q, k, p, null, ha);
            var nb = b.Search(q, k, p, null, hb);
            Assert.Equal(na, nb);
            Assert.Equal(ha.AsSpan(0, na).ToArray(), hb.AsSpan(0, nb).ToArray());
        }
    }

    /// <summary>A random allow-list keeping about <paramref name="fraction"/> of <paramref name="count"/> rows.</summary>
    public static Bitmap Selectivity(int seed, int count, double fraction)
    {
        var rng = new Random(seed);
        var b = new Bitmap(count);
        for (var i = 0; i < count; i++)
        {
            if (rng.NextDouble() < fraction)
            {
                b.Set(i);
            }
        }

        return b;
    }

    private static float Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
