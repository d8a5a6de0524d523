using Quiver.Common;
using Quiver.Distance;
using Quiver.Indexing;
using Quiver.Search;
using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Null vectors (Milvus 2.6 nullable vector fields) stay out of IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY, DISKANN and
/// BIN_IVF_FLAT, as <see cref="NullVectorIndexTests"/> proves for HNSW: a null row is stored as a zero vector, but no
/// build trains on it, lists it, places it in a tree or links it. The index-level cases search with no allowed set
/// (which the engine never does: it drops null rows from the allowed set first), so a null row listed by the index would
/// come back; with every list probed the hits are exactly the rows that have a vector, ranked as brute force over them.
/// The engine case searches through each index (forced) after a build on a sealed segment, after an added field and a
/// compaction rebuilt the segment, with growing rows beside it, and after a reopen, against brute force over non-null
/// rows.</summary>
public sealed class NullVectorListIndexTests : IDisposable
{
    private const int Dim = 8;
    private const int Count = 1200;
    private readonly TempFolder _dir = new();

    public void Dispose()
    {
        SearchPlanner.Override = null;
        _dir.Dispose();
    }

    public static TheoryData<IndexKind, MetricType> FloatKinds()
    {
        var data = new TheoryData<IndexKind, MetricType>();
        foreach (var kind in new[] { IndexKind.IvfFlat, IndexKind.IvfSq8, IndexKind.IvfPq, IndexKind.Annoy, IndexKind.DiskAnn })
        {
            foreach (var metric in new[] { MetricType.L2, MetricType.IP, MetricType.Cosine })
            {
                data.Add(kind, metric);
            }
        }

        return data;
    }

    /// <summary>Build parameters small enough for 1,200 rows, and search parameters that visit every entry an index holds
    /// (every list, every tree's items, a candidate list as long as the segment).</summary>
    private static (Dictionary<string, string> Build, AnnSearchParams Search) Params(IndexKind kind) => kind switch
    {
        IndexKind.IvfPq => (Build(("nlist", "16"), ("m", "4"), ("nbits", "6")), new AnnSearchParams(Nprobe: 16)),
        IndexKind.Annoy => (Build(("n_trees", "4")), new AnnSearchParams(SearchK: 4 * Count)),
        IndexKind.DiskAnn => (Build(("max_degree", "24"), ("search_list_size", "64")), new AnnSearchParams(SearchList: Count)),
        _ => (Build(("nlist", "16")), new AnnSearchParams(Nprobe: 16)),
    };

    private static Dictionary<string, string> Build(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>A view whose rows <paramref name="isNull"/> picks are null (zeroed, as the store keeps them).</summary>
    private static unsafe VectorView WithNulls(float[] data, int dim, Func<int, bool> isNull, out Bitmap nonNull)
    {
        var count = data.Length / dim;
        var nulls = new Bitmap(count);
        nonNull = new Bitmap(count);
        var norms = new float[count];
        for (var r = 0; r < count; r++)
        {
            if (isNull(r))
            {
                nulls.Set(r);
                data.AsSpan(r * dim, dim).Clear();
            }
            else
            {
                nonNull.Set(r);
            }

            norms[r] = VectorMath.SquaredNorm(data.AsSpan(r * dim, dim));
        }

        return new VectorView(data, null, dim, count, norms) { Nulls = nulls.Words.ToArray() };
    }

    [Theory]
    [MemberData(nameof(FloatKinds))]
    public void FloatIndex_ListsNoNullRow_AndRanksTheOthersAsBruteForce_AcrossSaveAndLoad(IndexKind kind, MetricType metric)
    {
        var data = IndexTestKit.Clustered(5, Count, Dim);
        var raw = WithNulls(data, Dim, r => r % 3 == 1, out var nonNull);
        var live = Count - (Count / 3);
        var (build, search) = Params(kind);
        using var built = IndexFactory.Build(kind, metric, new IndexParameters(build), raw, IndexBuildOptions.Default, CancellationToken.None);
        using var loaded = IndexTestKit.RoundTrip(built, _dir);
        var query = IndexTestKit.Queries(17, 1, Dim)[0];
        var exact = IndexTestKit.Exact(metric, data, Dim, query, 10, nonNull);
        foreach (var index in new[] { built, loaded })
        {
            // The zero query: a null row (a zero vector) is the nearest of all under L2 and ties every row under IP.
            foreach (var q in new[] { new float[Dim], query })
            {
                var hits = new IndexHit[Count];
                var n = index.Search(q, Count, search, null, hits);
                var rows = hits[..n].Select(h => h.Row).ToList();
                Assert.All(rows, r => Assert.True(nonNull[r], $"{kind}: null row {r} is in the index"));
                Assert.Equal(rows.Count, rows.Distinct().Count());
                if (kind == IndexKind.DiskAnn)
                {
                    // A graph need not reach every node from the medoid; most rows it must.
                    Assert.InRange(rows.Count, live * 99 / 100, live);
                }
                else
                {
                    Assert.Equal(live, rows.Count);
                }

                if (q == query)
                {
                    Assert.Equal(exact.Order(), rows.Take(10).Order());
                }
            }
        }
    }

    [Theory]
    [InlineData(MetricType.Hamming)]
    [InlineData(MetricType.Jaccard)]
    public void BinIvfFlat_ListsNoNullRow_AndRanksTheOthersAsBruteForce_AcrossSaveAndLoad(MetricType metric)
    {
        const int slots = 4; // 128 bits: two 64-bit words a row
        var rng = new Random(23);
        var data = new float[Count * slots];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = BitConverter.Int32BitsToSingle(rng.Next() & 0x3F7FFFFF); // arbitrary bits, never NaN
        }

        var raw = WithNulls(data, slots, r => r % 4 == 2, out var nonNull);
        var live = Count - (Count / 4);
        using var built = IndexFactory.Build(IndexKind.BinIvfFlat, metric, new IndexParameters(Build(("nlist", "16"))), raw, IndexBuildOptions.Default, CancellationToken.None);
        using var loaded = IndexTestKit.RoundTrip(built, _dir);
        foreach (var index in new[] { built, loaded })
        {
            foreach (var q in new[] { new float[slots], data.AsSpan(0, slots).ToArray() })
            {
                var hits = new IndexHit[Count];
                var n = index.Search(q, Count, new AnnSearchParams(Nprobe: 16), null, hits);
                Assert.Equal(live, n);
                Assert.All(hits[..n], h => Assert.True(nonNull[h.Row], $"null row {h.Row} is in the index"));

                // Distances tie often: the ranking is compared by its distances.
                var truth = Enumerable.Range(0, Count).Where(r => nonNull[r])
                    .Select(r => BinaryMath.Distance(metric, BinaryMath.Words(q), BinaryMath.Words(data.AsSpan(r * slots, slots)))).Order();
                Assert.Equal(truth, hits[..n].Select(h => h.Key));
            }
        }
    }

    public static TheoryData<IndexKind> AllKinds() =>
        [IndexKind.IvfFlat, IndexKind.IvfSq8, IndexKind.IvfPq, IndexKind.Annoy, IndexKind.DiskAnn, IndexKind.BinIvfFlat];

    [Theory]
    [MemberData(nameof(AllKinds))]
    public void Index_OverOnlyNullRows_IsEmpty_AndLoads(IndexKind kind)
    {
        var dim = kind == IndexKind.BinIvfFlat ? 4 : Dim;
        var raw = WithNulls(new float[60 * dim], dim, _ => true, out _);
        var metric = kind == IndexKind.BinIvfFlat ? MetricType.Hamming : MetricType.L2;
        var build = kind == IndexKind.BinIvfFlat ? Build(("nlist", "16")) : Params(kind).Build;
        using var built = IndexFactory.Build(kind, metric, new IndexParameters(build), raw, IndexBuildOptions.Default, CancellationToken.None);
        using var loaded = IndexTestKit.RoundTrip(built, _dir);
        var hits = new IndexHit[10];
        Assert.Equal(0, built.Search(new float[dim], 10, new AnnSearchParams(Nprobe: 16, SearchK: 600, SearchList: 60), null, hits));
        Assert.Equal(0, loaded.Search(new float[dim], 10, new AnnSearchParams(Nprobe: 16, SearchK: 600, SearchList: 60), null, hits));
    }

    public static TheoryData<string, MetricType> EngineKinds => new()
    {
        { "IVF_FLAT", MetricType.IP },
        { "IVF_SQ8", MetricType.L2 },
        { "IVF_PQ", MetricType.L2 },
        { "ANNOY", MetricType.Cosine },
        { "DISKANN", MetricType.L2 },
    };

    [Theory]
    [MemberData(nameof(EngineKinds))]
    public async Task NullableField_SearchThroughIndex_EqualsBruteForceOverNonNullRows_SealedRebuiltGrowingReopened(string indexType, MetricType metric)
    {
        const int rows = 900;
        var data = IndexTestKit.Clustered(31, rows, Dim);
        float[]? Value(int i) => i % 3 == 0 ? null : data.AsSpan(i * Dim, Dim).ToArray();
        var deleted = new HashSet<long> { 1, 2 };
        // The zero query puts a null row (a zero vector) nearest under L2 and ties every row under IP (COSINE refuses it).
        var queries = IndexTestKit.Queries(41, 4, Dim).Concat(metric == MetricType.Cosine ? [] : [new float[Dim]]).ToArray();
        var kind = IndexKindNames.TryParse(indexType, out var k) ? k : throw new InvalidOperationException(indexType);
        var exactKeys = kind is IndexKind.IvfFlat or IndexKind.Annoy;
        var (build, _) = Params(kind);
        var search = kind switch
        {
            IndexKind.Annoy => new Dictionary<string, string> { ["search_k"] = "20000" },
            IndexKind.DiskAnn => new Dictionary<string, string> { ["search_list"] = "900" },
            _ => new Dictionary<string, string> { ["nprobe"] = "16" },
        };

        async Task AssertSearchesAsync(QuiverEngine db, int upTo, bool throughIndex)
        {
            var live = Enumerable.Range(0, upTo).Where(i => Value(i) is not null && !deleted.Contains(i)).ToList();
            SearchPlanner.Override = throughIndex ? new PlannerOverride(Strategy: SegmentStrategy.PreFilter) : null;
            var indexed = 0;
            var withinBest = 0;
            foreach (var q in queries)
            {
                var result = await db.SearchAsync("c", new SearchRequest { Vectors = [q], Limit = 20, SearchParams = search });
                indexed += result.Stats()?.IndexedSegments ?? 0;
                var hits = result.Hits[0];
                var oracle = live.ToDictionary(i => (long)i, i => BruteForce.Score(metric, q, data.AsSpan(i * Dim, Dim)));
                Assert.All(hits, h => Assert.True(oracle.ContainsKey((long)h.Id), $"{indexType}: hit {h.Id} is null or deleted"));
                var best = metric == MetricType.L2 ? oracle.Values.Order().ToList() : oracle.Values.OrderDescending().ToList();
                for (var i = 0; i < hits.Count; i++)
                {
                    Assert.Equal(oracle[(long)hits[i].Id], hits[i].Score, 1e-3 * Math.Max(1, Math.Abs(best[i])));
                }

                // Every list probed, every tree's items visited: IVF_FLAT and ANNOY score the best 20 exactly. IVF_SQ8 and
                // IVF_PQ pick their 20 by code distances and DISKANN's graph may miss a node: 80 % within the best 20.
                Assert.Equal(20, hits.Count);
                for (var i = 0; i < hits.Count; i++)
                {
                    var bound = exactKeys ? best[i] : best[19];
                    var within = metric == MetricType.L2 ? hits[i].Score <= bound + 1e-3 : hits[i].Score >= bound - 1e-3;
                    Assert.True(!exactKeys || Math.Abs(hits[i].Score - bound) <= 1e-3 * Math.Max(1, Math.Abs(bound)), $"{indexType}: hit {i} scores {hits[i].Score}, brute force {bound}");
                    withinBest += within ? 1 : 0;
                }
            }

            Assert.True(withinBest >= 0.8 * 20 * queries.Length, $"{indexType}: {withinBest} of {20 * queries.Length} hits within the best 20");
            SearchPlanner.Override = null;
            Assert.True(!throughIndex || indexed >= queries.Length, $"{indexed} segment searches went through the index");
        }

        static Row Tagged(Row row, long tag)
        {
            row["tag"] = tag;
            return row;
        }

        Row ToRow(int i)
        {
            var row = new Row { ["id"] = (long)i };
            if (Value(i) is { } v)
            {
                row["v"] = v;
            }

            return row;
        }

        var options = new QuiverOptions { BackgroundMaintenance = false };
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, options))
        {
            await db.CreateCollectionAsync("c", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", Dim, metric) with { Nullable = true }],
            });
            await db.InsertAsync("c", [.. Enumerable.Range(0, 600).Select(ToRow)]);
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "v", IndexType = indexType, Metric = metric, Params = build });
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
            await db.DeleteAsync("c", [1L, 2L]);
            await AssertSearchesAsync(db, 600, throughIndex: true);

            // A field added to the loaded collection, rows written with it, deletes, then a compaction that merges the
            // sealed segments into one whose index is rebuilt; rows 850.. stay growing.
            await db.AddCollectionFieldAsync("c", FieldSchema.Scalar("tag", DataType.Int64) with { Nullable = true });
            await db.InsertAsync("c", [.. Enumerable.Range(600, 250).Select(i => Tagged(ToRow(i), i))]);
            await db.FlushAsync("c");
            deleted.UnionWith([700, 701]);
            await db.DeleteAsync("c", [700L, 701L]);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await db.WaitForIndexAsync("c");
            await db.InsertAsync("c", [.. Enumerable.Range(850, rows - 850).Select(ToRow)]);
            await AssertSearchesAsync(db, rows, throughIndex: true);
            await db.FlushAsync("c");
            await db.WaitForIndexAsync("c");
        }

        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, options);
        await reopened.WaitForIndexAsync("c");
        await AssertSearchesAsync(reopened, rows, throughIndex: true);
        await AssertSearchesAsync(reopened, rows, throughIndex: false);
    }
}
