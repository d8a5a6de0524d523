using Quiver.Indexing;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Checks every approximate index of this family must pass (IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY), parameterised
/// by kind, build parameters and search parameters, on the shared seeded data of <see cref="IndexTestKit"/>.</summary>
internal static class IvfContract
{
    public const int Dim = 32;
    public const int Rows = 3000;

    public static VectorIndex Build(IndexKind kind, MetricType metric, string json, float[] data, int dim = Dim, int threads = 2)
    {
        var p = IndexParameters.FromJson(json);
        IndexFactory.Validate(kind, metric, p, dim);
        return IndexFactory.Build(kind, metric, p, IndexTestKit.View(data, dim), new IndexBuildOptions(threads, 7), default);
    }

    /// <summary>Recall@10 of a fresh build against the exact oracle is at least <paramref name="minRecall"/>.</summary>
    public static double RecallAtLeast(IndexKind kind, MetricType metric, string json, AnnSearchParams p, double minRecall)
    {
        var data = IndexTestKit.Clustered(11, Rows, Dim);
        var queries = IndexTestKit.Queries(12, 40, Dim);
        using var index = Build(kind, metric, json, data);
        var recall = IndexTestKit.Recall(index, data, queries, 10, p);
        Assert.True(recall >= minRecall, $"{kind} {metric} {json} {p}: recall {recall:F3} < {minRecall}");
        return recall;
    }

    /// <summary>Allow-lists at several selectivities: every hit is allowed (checked by the kit) and recall among the
    /// allowed rows stays at least <paramref name="minRecall"/> with the given (wide) search parameters.</summary>
    public static void AllowListsHold(IndexKind kind, MetricType metric, string json, AnnSearchParams p, double minRecall)
    {
        var data = IndexTestKit.Clustered(21, Rows, Dim);
        var queries = IndexTestKit.Queries(22, 20, Dim);
        using var index = Build(kind, metric, json, data);
        foreach (var fraction in (double[])[0.5, 0.1, 0.01])
        {
            var allowed = IndexTestKit.Selectivity(23, Rows, fraction);
            var recall = IndexTestKit.Recall(index, data, queries, 10, p, allowed);
            Assert.True(recall >= minRecall, $"{kind} selectivity {fraction}: recall {recall:F3} < {minRecall}");
        }

        var none = IndexTestKit.Selectivity(24, Rows, 0);
        Assert.Equal(0, index.Search(queries[0], 10, p, none, new IndexHit[10]));
    }

    /// <summary>Save, load by memory map, identical results; then concurrent searches equal sequential ones.</summary>
    public static void RoundTripsAndIsThreadSafe(IndexKind kind, MetricType metric, string json, AnnSearchParams p)
    {
        var data = IndexTestKit.Clustered(31, Rows, Dim);
        var queries = IndexTestKit.Queries(32, 40, Dim);
        using var index = Build(kind, metric, json, data);
        using var folder = new TempFolder();
        using (var loaded = IndexTestKit.RoundTrip(index, folder))
        {
            Assert.Equal(kind, loaded.Kind);
            Assert.Equal(index.MemoryBytes, loaded.MemoryBytes);
            IndexTestKit.AssertSameResults(index, loaded, queries, 10, p);
        }

        var expected = queries.Select(q => Run(index, q, p)).ToArray();
        var actual = new IndexHit[queries.Length][];
        Parallel.For(0, queries.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var q = i % queries.Length;
            var hits = Run(index, queries[q], p);
            if (i >= queries.Length * 3)
            {
                actual[q] = hits;
            }
            else
            {
                Assert.Equal(expected[q], hits);
            }
        });
        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(expected[q], actual[q]);
        }
    }

    /// <summary>One row, fewer rows than nlist, and k above the row count all work.</summary>
    public static void TinyInputsWork(IndexKind kind, string json, AnnSearchParams wide)
    {
        foreach (var count in (int[])[1, 5, 40])
        {
            var data = IndexTestKit.Clustered(41, count, 8, clusters: 3);
            using var index = Build(kind, MetricType.L2, json, data, dim: 8);
            var hits = new IndexHit[count + 10];
            var n = index.Search(data.AsSpan(0, 8), count + 10, wide, null, hits);
            Assert.Equal(count, n);
            Assert.Equal(count, hits.Take(n).Select(h => h.Row).Distinct().Count());
            Assert.True(hits[0].Key <= hits[n - 1].Key);
        }
    }

    /// <summary>A build reports progress up to 1 and stops with <see cref="OperationCanceledException"/> when cancelled.</summary>
    public static void ReportsProgressAndHonoursCancellation(IndexKind kind, string json)
    {
        var data = IndexTestKit.Clustered(51, 2000, 16);
        var view = IndexTestKit.View(data, 16);
        var p = IndexParameters.FromJson(json);
        var last = 0.0;
        var options = new IndexBuildOptions(2, 3, f =>
        {
            Assert.InRange(f, 0, 1);
            InterlockedMax(ref last, f);
        });
        using (IndexFactory.Build(kind, MetricType.L2, p, view, options, default))
        {
            Assert.Equal(1.0, Volatile.Read(ref last));
        }

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => IndexFactory.Build(kind, MetricType.L2, p, view, IndexBuildOptions.Default, cts.Token).Dispose());
    }

    private static void InterlockedMax(ref double target, double value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static IndexHit[] Run(VectorIndex index, float[] query, AnnSearchParams p)
    {
        var hits = new IndexHit[10];
        var n = index.Search(query, 10, p, null, hits);
        return hits.AsSpan(0, n).ToArray();
    }
}
