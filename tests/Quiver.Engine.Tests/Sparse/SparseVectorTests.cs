using Quiver.Testing;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>SPARSE_FLOAT_VECTOR end to end in the engine: storage (growing, sealed, WAL replay, compaction), exact search
/// against a brute-force oracle, the sparse index types and algorithms, drop ratios, and refusals.</summary>
public sealed class SparseVectorTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("tag", DataType.Int64),
            FieldSchema.SparseVector("sparse"),
        ],
    };

    private static List<(long Id, SparseVector Vector)> Data(int n, int seed = 5)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(i => ((long)i, SparseData.Vector(rng)))];
    }

    private static List<Row> Rows(IEnumerable<(long Id, SparseVector Vector)> data) =>
        [.. data.Select(d => new Row { ["id"] = d.Id, ["tag"] = d.Id % 10, ["sparse"] = d.Vector })];

    /// <summary>Half the rows sealed (flushed), half growing.</summary>
    private async Task<(QuiverEngine Db, List<(long Id, SparseVector Vector)> Data)> SetupAsync(int n = 1_200)
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema());
        var data = Data(n);
        await db.InsertAsync("c", Rows(data.Take(n / 2)));
        await db.FlushAsync("c");
        await db.InsertAsync("c", Rows(data.Skip(n / 2)));
        return (db, data);
    }

    private static void AssertMatches(List<(long Id, double Score)> expected, IReadOnlyList<SearchHit> hits)
    {
        Assert.Equal(expected.Count, hits.Count);
        for (var i = 0; i < hits.Count; i++)
        {
            Assert.True(Math.Abs(expected[i].Score - hits[i].Score) <= 1e-4 * Math.Max(1, expected[i].Score), $"rank {i}: {expected[i].Score} vs {hits[i].Score}");
        }

        // Random values make ties improbable; ids are compared where the oracle's neighbours are clearly apart.
        for (var i = 0; i < hits.Count; i++)
        {
            var apart = (i == 0 || expected[i - 1].Score - expected[i].Score > 1e-4) && (i + 1 == hits.Count || expected[i].Score - expected[i + 1].Score > 1e-4);
            if (apart)
            {
                Assert.Equal(expected[i].Id, (long)hits[i].Id);
            }
        }
    }

    [Fact]
    public async Task Rows_RoundTripExactly_ThroughGrowingSealedReplayAndCompaction()
    {
        var data = Data(600);
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", Rows(data.Take(200)));
            await db.FlushAsync("c");
            await db.InsertAsync("c", Rows(data.Skip(200).Take(200)));
            await db.FlushAsync("c");
            await db.InsertAsync("c", Rows(data.Skip(400)));
            await db.InsertAsync("c", [new Row { ["id"] = 10_000L, ["tag"] = 0L, ["sparse"] = SparseVector.Empty }]);
        }

        // Reopen: two sealed segment files and a WAL tail to replay.
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await AssertStoredAsync(db, data);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertStoredAsync(db, data);
        }
    }

    private static async Task AssertStoredAsync(QuiverEngine db, List<(long Id, SparseVector Vector)> data)
    {
        var rows = await db.QueryAsync("c", new QueryRequest { Filter = "id >= 0", OutputFields = ["sparse"] });
        var byId = rows.ToDictionary(r => (long)r["id"]!, r => (SparseVector)r["sparse"]!);
        Assert.Equal(data.Count + 1, byId.Count);
        foreach (var (id, v) in data)
        {
            Assert.Equal(v, byId[id]);
        }

        Assert.Equal(0, byId[10_000].Count);
    }

    [Fact]
    public async Task ExactSearch_MatchesBruteForce_WithFilterAcrossSealedAndGrowing()
    {
        var (db, data) = await SetupAsync();
        await using var _ = db;
        var rng = new Random(77);
        var queries = Enumerable.Range(0, 12).Select(_ => SparseData.Vector(rng, minEntries: 2, maxEntries: 12)).ToList();
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = [], SparseVectors = queries, Limit = 15, Filter = "tag < 7" });
        for (var q = 0; q < queries.Count; q++)
        {
            AssertMatches(SparseData.TopK(data.Where(d => d.Id % 10 < 7), queries[q], 15), result.Hits[q]);
        }
    }

    [Theory]
    [InlineData("SPARSE_INVERTED_INDEX", "TAAT_NAIVE")]
    [InlineData("SPARSE_INVERTED_INDEX", "DAAT_WAND")]
    [InlineData("SPARSE_INVERTED_INDEX", "DAAT_MAXSCORE")]
    [InlineData("SPARSE_INVERTED_INDEX", null)]
    [InlineData("SPARSE_WAND", null)]
    [InlineData("AUTOINDEX", null)]
    public async Task IndexedSearch_WithoutDropRatios_IsExact(string type, string? algorithm)
    {
        var (db, data) = await SetupAsync();
        await using var _ = db;
        var p = algorithm is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["inverted_index_algo"] = algorithm };
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "sparse", IndexType = type, Metric = MetricType.IP, Params = p });
        await db.WaitForIndexAsync("c");
        var rng = new Random(78);
        foreach (var (filter, keep) in new (string, Func<long, bool>)[] { ("", _ => true), ("tag in [1, 4]", id => id % 10 is 1 or 4) })
        {
            var queries = Enumerable.Range(0, 10).Select(_ => SparseData.Vector(rng, minEntries: 2, maxEntries: 12)).ToList();
            foreach (var k in new[] { 1, 10, 50 })
            {
                var result = await db.SearchAsync("c", new SearchRequest { Vectors = [], SparseVectors = queries, Limit = k, Filter = filter });
                Assert.Equal(1, result.Stats()!.IndexedSegments);
                for (var q = 0; q < queries.Count; q++)
                {
                    AssertMatches(SparseData.TopK(data.Where(d => keep(d.Id)), queries[q], k), result.Hits[q]);
                }
            }
        }
    }

    [Theory]
    [InlineData("DAAT_MAXSCORE", 0.2, 0.0)]
    [InlineData("DAAT_WAND", 0.0, 0.3)]
    [InlineData("TAAT_NAIVE", 0.2, 0.3)]
    public async Task DropRatios_KeepRecallAndOnlyLoseSmallValues(string algorithm, double dropBuild, double dropSearch)
    {
        var (db, data) = await SetupAsync();
        await using var _ = db;
        await db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "sparse",
            IndexType = "SPARSE_INVERTED_INDEX",
            Metric = MetricType.IP,
            Params = new Dictionary<string, string> { ["inverted_index_algo"] = algorithm, ["drop_ratio_build"] = dropBuild.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
        var rng = new Random(79);
        var queries = Enumerable.Range(0, 30).Select(_ => SparseData.Vector(rng, minEntries: 4, maxEntries: 16)).ToList();
        var result = await db.SearchAsync("c", new SearchRequest
        {
            Vectors = [],
            SparseVectors = queries,
            Limit = 10,
            SearchParams = new Dictionary<string, string> { ["drop_ratio_search"] = dropSearch.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        });
        double found = 0, wanted = 0, lowered = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            var truth = SparseData.TopK(data, queries[q], 10).Select(x => x.Id).ToHashSet();
            wanted += truth.Count;
            found += result.Hits[q].Count(h => truth.Contains((long)h.Id));
            // Dropped values only ever lower a score: no hit scores above its exact inner product.
            foreach (var h in result.Hits[q])
            {
                var exact = SparseData.Dot(data[(int)(long)h.Id].Vector, queries[q]);
                Assert.True(h.Score <= exact + 1e-4);
                lowered += h.Score < exact - 1e-4 ? 1 : 0;
            }
        }

        Assert.True(found / wanted >= 0.8, $"recall@10 {found / wanted:F3}");
        Assert.True(lowered > 0, "drop ratios above 0 left every value in (the test would not tell them from 0)");
    }

    [Fact]
    public async Task BadVectorsAndIndexes_AreRefusedNamingTheProblem()
    {
        var (db, _) = await SetupAsync(10);
        await using var __ = db;
        async Task<string> Refused(object value)
        {
            var e = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [new Row { ["id"] = 99L, ["tag"] = 0L, ["sparse"] = value }]));
            Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
            return e.Message;
        }

        Assert.Contains("ascending", await Refused(System.Text.Json.JsonDocument.Parse("""{"indices": [5, 2], "values": [1, 1]}""").RootElement.Clone()));
        Assert.Contains("appears twice", await Refused(System.Text.Json.JsonDocument.Parse("""{"indices": [5, 5], "values": [1, 1]}""").RootElement.Clone()));
        Assert.Contains("negative", await Refused(new Dictionary<long, double> { [3] = -0.5 }));
        Assert.Contains("finite", await Refused(new Dictionary<long, double> { [3] = double.NaN }));
        Assert.Contains("out of range", await Refused(new Dictionary<long, double> { [uint.MaxValue] = 1 }));
        Assert.Contains("out of range", await Refused(new Dictionary<long, double> { [-1] = 1 }));
        Assert.Contains("8-byte", await Refused(new byte[] { 1, 2, 3 }));
        Assert.Contains("expected a sparse vector", await Refused(new float[] { 1, 2 }));
        Assert.Throws<QuiverException>(() => SparseVector.Create([3, 1], [1, 1]));

        async Task<string> IndexRefused(string type, MetricType metric, Dictionary<string, string>? p = null) =>
            (await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", new IndexDefinition
            {
                FieldName = "sparse", IndexType = type, Metric = metric, Params = p ?? [],
            }))).Message;

        Assert.Contains("metric IP only", await IndexRefused("SPARSE_INVERTED_INDEX", MetricType.L2));
        Assert.Contains("takes SPARSE_INVERTED_INDEX", await IndexRefused("HNSW", MetricType.IP));
        Assert.Contains("inverted_index_algo", await IndexRefused("SPARSE_WAND", MetricType.IP, new() { ["inverted_index_algo"] = "BLOCK_MAX" }));
        Assert.Contains("drop_ratio_build", await IndexRefused("SPARSE_INVERTED_INDEX", MetricType.IP, new() { ["drop_ratio_build"] = "1" }));
        var search = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest
        {
            Vectors = [], SparseVectors = [SparseData.Vector(new Random(1))], SearchParams = new Dictionary<string, string> { ["drop_ratio_search"] = "1.5" },
        }));
        Assert.Contains("drop_ratio_search", search.Message);
        var metric = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest
        {
            Vectors = [], SparseVectors = [SparseData.Vector(new Random(1))], Metric = MetricType.Cosine,
        }));
        Assert.Contains("metric", metric.Message);
        var schema = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("bad", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.SparseVector("s") with { Metric = MetricType.L2 }],
        }));
        Assert.Contains("metric IP only", schema.Message);
    }
}

/// <summary>The posting-list walks alone, on one segment's column, against brute force: every algorithm, many k, with
/// and without an allow-list. WAND and MaxScore prune by the caller's k-th score, so they are driven by a real heap.</summary>
public sealed class SparseInvertedIndexTests
{
    [Theory]
    [InlineData("TaatNaive")]
    [InlineData("DaatWand")]
    [InlineData("DaatMaxScore")]
    public void Walk_ReturnsTheExactTopK(string name)
    {
        var algorithm = Enum.Parse<Quiver.Sparse.SparseAlgorithm>(name);
        var rng = new Random(21);
        var rows = Enumerable.Range(0, 3_000).Select(_ => SparseData.Vector(rng, vocabulary: 500)).ToArray();
        var field = FieldSchema.SparseVector("s");
        var column = new Quiver.Segments.SparseColumn(field, rows, rows.Length, ReadOnlyMemory<ulong>.Empty);
        var index = Quiver.Sparse.SparseInvertedIndex.Build(column, rows.Length, new(0, algorithm), CancellationToken.None);
        var allowed = new Quiver.Common.Bitmap(rows.Length);
        for (var r = 0; r < rows.Length; r += 3)
        {
            allowed.Set(r);
        }

        foreach (var k in new[] { 1, 5, 20, 200 })
        {
            for (var q = 0; q < 20; q++)
            {
                var query = SparseData.Vector(rng, vocabulary: 500, minEntries: 1, maxEntries: 20);
                foreach (var filtered in new[] { false, true })
                {
                    var heap = new Quiver.Search.TopK(k);
                    index.Search(
                        Quiver.Sparse.SparseQuery.From(query, 0),
                        filtered ? new Quiver.Search.AllowedRows(allowed, allowed.PopCount()) : null,
                        () => heap.Count < heap.Capacity ? 0 : -heap.Threshold,
                        (row, score) => heap.Add(-score, row));
                    var got = heap.ToSortedArray();
                    var expected = SparseData.TopK(rows.Select((v, i) => ((long)i, v)).Where(x => !filtered || x.Item1 % 3 == 0), query, k);
                    Assert.Equal(expected.Count, got.Length);
                    for (var i = 0; i < got.Length; i++)
                    {
                        Assert.Equal(expected[i].Score, -got[i].Key, 1e-4);
                    }
                }
            }
        }
    }
}
