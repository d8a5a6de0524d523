using Quiver.Common;
using Quiver.Indexing;
using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Null vectors (Milvus 2.6 nullable vector fields) are not in an HNSW graph: they are stored as zero vectors,
/// but the build neither links them nor trains the quantizer on them, so even a search with no allowed set (which the
/// engine never makes: null rows leave the allowed set first) cannot return one, and every non-null row stays reachable;
/// a segment whose every vector is null builds an empty graph that saves and loads. AUTOINDEX resolves a small segment
/// to FLAT, which holds no structure (its scan takes the allowed set), and a large one to HNSW.</summary>
public sealed class NullVectorIndexTests : IDisposable
{
    private const int Dim = 8;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static unsafe VectorView WithNulls(float[] data, Func<int, bool> isNull, out HashSet<int> nulls)
    {
        var view = IndexTestKit.View(data, Dim);
        var bits = new Bitmap(view.Count);
        nulls = [];
        for (var r = 0; r < view.Count; r++)
        {
            if (isNull(r))
            {
                bits.Set(r);
                nulls.Add(r);
                data.AsSpan(r * Dim, Dim).Clear(); // as the store keeps a null vector
            }
        }

        var norms = new float[view.Count];
        for (var r = 0; r < view.Count; r++)
        {
            norms[r] = Quiver.Distance.VectorMath.SquaredNorm(data.AsSpan(r * Dim, Dim));
        }

        return new VectorView(data, null, Dim, view.Count, norms) { Nulls = bits.Words.ToArray() };
    }

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Hnsw_LeavesNullRowsOut_AndReachesEveryOtherRow_AcrossSaveAndLoad(MetricType metric)
    {
        var data = IndexTestKit.Clustered(3, 1200, Dim);
        var raw = WithNulls(data, r => r % 3 == 1, out var nulls);
        var p = new IndexParameters(new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "100" });
        using var built = IndexFactory.Build(IndexKind.Hnsw, metric, p, raw, IndexBuildOptions.Default, CancellationToken.None);
        using var loaded = IndexTestKit.RoundTrip(built, _dir);
        foreach (var index in new[] { built, loaded })
        {
            // The zero vector is the nearest row of all under L2; every query asks for more rows than are not null.
            foreach (var query in new[] { new float[Dim], IndexTestKit.Queries(5, 1, Dim)[0] })
            {
                var hits = new IndexHit[raw.Count];
                var n = index.Search(query, raw.Count, new AnnSearchParams(Ef: raw.Count), null, hits);
                var rows = hits[..n].Select(h => h.Row).ToHashSet();
                Assert.DoesNotContain(rows, nulls.Contains);
                if (metric == MetricType.IP)
                {
                    // Inner product is not a metric: an HNSW graph built on it need not reach every node (with or
                    // without nulls), so only most rows are required.
                    Assert.InRange(rows.Count, (raw.Count - nulls.Count) * 99 / 100, raw.Count - nulls.Count);
                }
                else
                {
                    Assert.Equal(raw.Count - nulls.Count, rows.Count);
                }
            }
        }
    }

    [Fact]
    public void Hnsw_OverOnlyNullRows_IsEmpty_AndLoads()
    {
        var raw = WithNulls(new float[50 * Dim], _ => true, out _);
        using var built = IndexFactory.Build(IndexKind.Hnsw, MetricType.L2, IndexParameters.Empty, raw, IndexBuildOptions.Default, CancellationToken.None);
        using var loaded = IndexTestKit.RoundTrip(built, _dir);
        var hits = new IndexHit[10];
        Assert.Equal(0, built.Search(new float[Dim], 10, default, null, hits));
        Assert.Equal(0, loaded.Search(new float[Dim], 10, default, null, hits));
    }

    [Fact]
    public async Task NullableField_IndexedSegments_SearchEqualsBruteForceOverNonNullRows()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", Dim, MetricType.L2) with { Nullable = true }],
        });
        var data = IndexTestKit.Clustered(9, 900, Dim);
        await db.InsertAsync("c", [.. Enumerable.Range(0, 900).Select(i => new Row { ["id"] = (long)i, ["v"] = i % 4 == 0 ? null : data.AsSpan(i * Dim, Dim).ToArray() })]);
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "v", IndexType = "HNSW", Metric = MetricType.L2, Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "200" } });
        await db.FlushAsync("c");
        await db.WaitForIndexAsync("c");
        var query = new float[Dim];
        var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [query], Limit = 20, SearchParams = new Dictionary<string, string> { ["ef"] = "400" } })).Hits[0];
        var truth = Enumerable.Range(0, 900).Where(i => i % 4 != 0)
            .OrderBy(i => BruteForce.Score(MetricType.L2, query, data.AsSpan(i * Dim, Dim))).ThenBy(i => i).Take(20).Select(i => (long)i);
        Assert.Equal(truth, hits.Select(h => (long)h.Id));
    }
}
