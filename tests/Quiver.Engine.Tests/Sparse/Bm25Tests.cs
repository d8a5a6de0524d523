using System.Globalization;
using Quiver.Testing;
using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>BM25 functions end to end in the engine: term counts computed on insert and upsert, search by text scored
/// against <see cref="ReferenceBm25"/> (Okapi BM25 over the analyzed words, written here from the formula in double
/// precision) through growing and sealed segments, deletes, upserts, compaction and a reopen; filters, k1/b from the
/// index, hybrid search with a BM25 sub-request, and the refusals.</summary>
public sealed class Bm25Tests : IDisposable
{
    private static readonly string[] Vocabulary = BuildVocabulary();

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string[] BuildVocabulary()
    {
        string[] stems = ["pack", "debian", "kernel", "network", "config", "file", "system", "user", "mail", "print",
            "socket", "thread", "memory", "disk", "volume", "archive", "signal", "daemon", "shell", "script", "server",
            "client", "proxy", "cache", "index", "query", "table", "vector", "search", "install", "remove", "update",
            "upgrade", "manual", "license", "copyright", "source", "binary", "library", "module", "driver", "device",
            "firmware", "boot", "grub", "partition", "mount", "format", "encrypt", "key", "certificate", "token"];
        string[] suffixes = ["", "s", "ing", "ed"];
        return [.. stems.SelectMany(s => suffixes.Select(x => s + x))];
    }

    /// <summary>A document of 0..40 words drawn with a skewed distribution (some words common, most rare), with stop
    /// words, capitals and punctuation the analyzer removes.</summary>
    private static string Document(Random rng)
    {
        var n = rng.Next(0, 41);
        var words = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            var r = rng.NextDouble();
            var w = r < 0.15 ? (rng.Next(3) switch { 0 => "the", 1 => "and", _ => "of" }) : Vocabulary[(int)(Math.Pow(rng.NextDouble(), 2.5) * Vocabulary.Length)];
            words.Add(rng.Next(10) == 0 ? char.ToUpperInvariant(w[0]) + w[1..] : w);
        }

        return string.Join(rng.Next(4) == 0 ? ", " : " ", words) + (rng.Next(2) == 0 ? "." : "");
    }

    /// <summary>Documents 0..n-1 from a seeded generator, and the generator for more.</summary>
    private static (Random Rng, Dictionary<long, string> Corpus) Corpus(int seed, int n)
    {
        var rng = new Random(seed);
        var corpus = new Dictionary<long, string>();
        for (long i = 0; i < n; i++)
        {
            corpus[i] = Document(rng);
        }

        return (rng, corpus);
    }

    private static string Query(Random rng)
    {
        var n = rng.Next(1, 5);
        return string.Join(' ', Enumerable.Range(0, n).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]));
    }

    private const string AnalyzerJson = """{"type":"english"}""";

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("text", 2_000) with { EnableAnalyzer = true, AnalyzerParams = AnalyzerJson },
            FieldSchema.SparseVector("sparse"),
            FieldSchema.Vector("dense", 4, MetricType.L2),
        ],
        Functions = [CollectionFunction.BM25("bm25", "text", "sparse")],
    };

    private static Row RowOf(long id, string text) => new() { ["id"] = id, ["text"] = text, ["dense"] = new float[] { id % 7, id % 5, id % 3, 1 } };

    private async Task<QuiverEngine> OpenAsync() =>
        await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });

    /// <summary>Okapi BM25 over whole words (no hashing), with Milvus's IDF ln(1 + (N − df + 0.5) / (df + 0.5)); each
    /// occurrence of a query word counts.</summary>
    private sealed class ReferenceBm25(IReadOnlyDictionary<long, string> corpus, double k1 = 1.2, double b = 0.75)
    {
        private static readonly Analyzer Words = Analyzer.Create(AnalyzerJson);

        private readonly Dictionary<long, List<string>> _docs = corpus.ToDictionary(kv => kv.Key, kv => Words.Analyze(kv.Value).Select(t => t.Text).ToList());

        public List<(long Id, double Score)> Search(string query, int k, Func<long, bool>? scored = null)
        {
            var n = _docs.Count;
            var avgdl = _docs.Values.Sum(d => (double)d.Count) / n;
            var results = new List<(long Id, double Score)>();
            foreach (var (id, doc) in _docs)
            {
                if (scored is not null && !scored(id))
                {
                    continue;
                }

                double score = 0;
                foreach (var term in Words.Analyze(query).Select(t => t.Text))
                {
                    var tf = doc.Count(w => w == term);
                    if (tf == 0)
                    {
                        continue;
                    }

                    var df = _docs.Values.Count(d => d.Contains(term));
                    var idf = Math.Log(1 + ((n - df + 0.5) / (df + 0.5)));
                    score += idf * tf * (k1 + 1) / (tf + (k1 * (1 - b + (b * doc.Count / avgdl))));
                }

                if (score > 0)
                {
                    results.Add((id, score));
                }
            }

            return [.. results.OrderByDescending(r => r.Score).ThenBy(r => r.Id).Take(k + 1)];
        }
    }

    /// <summary><paramref name="ranked"/> is the reference's top k + 1 (the one past the cut decides whether the k-th
    /// is tied).</summary>
    private static void AssertMatches(List<(long Id, double Score)> ranked, IReadOnlyList<SearchHit> hits, int k, string what)
    {
        var expected = ranked.Take(k).ToList();
        Assert.True(expected.Count == hits.Count, $"{what}: {expected.Count} expected hits, got {hits.Count}");
        for (var i = 0; i < hits.Count; i++)
        {
            Assert.True(Math.Abs(expected[i].Score - hits[i].Score) <= 1e-4 * Math.Max(1, expected[i].Score),
                string.Create(CultureInfo.InvariantCulture, $"{what}: rank {i}: expected {expected[i].Score}, got {hits[i].Score}"));
        }

        // Equal scores (the same words in the same number) may come in either order; ids are compared where apart.
        for (var i = 0; i < hits.Count; i++)
        {
            var apart = (i == 0 || ranked[i - 1].Score - ranked[i].Score > 1e-4) && (i + 1 == ranked.Count || ranked[i].Score - ranked[i + 1].Score > 1e-4);
            if (apart)
            {
                Assert.True(expected[i].Id == (long)hits[i].Id, $"{what}: rank {i}: expected id {expected[i].Id}, got {hits[i].Id}");
            }
        }
    }

    private static async Task AssertAllQueriesAsync(QuiverEngine db, ReferenceBm25 reference, int seed, string what, int queries = 25)
    {
        var rng = new Random(seed);
        for (var q = 0; q < queries; q++)
        {
            var text = Query(rng);
            var k = q % 3 == 0 ? 50 : 10;
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = k });
            AssertMatches(reference.Search(text, k), result.Hits[0], k, $"{what}, query '{text}'");
        }
    }

    [Fact]
    public async Task Search_MatchesReferenceBm25_ThroughSealedGrowingDeletesUpsertsCompactionAndReopen()
    {
        var (rng, corpus) = Corpus(11, 900);

        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", [.. corpus.Where(kv => kv.Key < 500).Select(kv => RowOf(kv.Key, kv.Value))]);
            await db.FlushAsync("c");
            await db.InsertAsync("c", [.. corpus.Where(kv => kv.Key >= 500).Select(kv => RowOf(kv.Key, kv.Value))]);
            await AssertAllQueriesAsync(db, new ReferenceBm25(corpus), 1, "sealed + growing");

            // Deletes in both segments, upserts that move rows to the growing segment with new text.
            var deleted = corpus.Keys.Where(id => id % 7 == 3).ToList();
            await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
            foreach (var id in deleted)
            {
                corpus.Remove(id);
            }

            var upserted = corpus.Keys.Where(id => id % 11 == 5).ToList();
            foreach (var id in upserted)
            {
                corpus[id] = Document(rng);
            }

            await db.UpsertAsync("c", [.. upserted.Select(id => RowOf(id, corpus[id]))]);
            await AssertAllQueriesAsync(db, new ReferenceBm25(corpus), 2, "after deletes and upserts");

            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertAllQueriesAsync(db, new ReferenceBm25(corpus), 3, "after compaction");
        }

        await using (var db = await OpenAsync())
        {
            await AssertAllQueriesAsync(db, new ReferenceBm25(corpus), 4, "after reopen");
        }
    }

    [Fact]
    public async Task Search_UsesK1AndBOfTheIndex_AndFiltersRowsNotStatistics()
    {
        var (_, corpus) = Corpus(21, 400);

        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c", [.. corpus.Select(kv => RowOf(kv.Key, kv.Value))]);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "sparse",
            IndexType = "SPARSE_INVERTED_INDEX",
            Metric = MetricType.BM25,
            Params = new Dictionary<string, string> { ["bm25_k1"] = "1.7", ["bm25_b"] = "0.3" },
        });
        var reference = new ReferenceBm25(corpus, 1.7, 0.3);
        await AssertAllQueriesAsync(db, reference, 5, "k1 1.7, b 0.3");

        var q = new Random(6);
        for (var i = 0; i < 10; i++)
        {
            var text = Query(q);
            var result = await db.SearchAsync("c", new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = 10, Filter = "id < 150" });
            AssertMatches(reference.Search(text, 10, id => id < 150), result.Hits[0], 10, $"filtered, query '{text}'");
        }
    }

    [Fact]
    public async Task Insert_ComputesTermCounts_AndRefusesTheOutputField()
    {
        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c", [RowOf(1, "The servers, the SERVER and a server's install")]);
        // The output field is not readable through the API (as in Milvus), so the stored column is read directly.
        SparseVector vector;
        using (var view = db.ShardOf("c").AcquireView([]))
        {
            vector = (SparseVector)view.Segments.Single().GetColumn(Schema().IndexOf("sparse")).GetValue(0)!;
        }


        // english: stop words out, "servers"/"server"/"server's" stem to "server".
        var expected = new SortedDictionary<uint, float> { [TermHash.Of("server")] = 3, [TermHash.Of("instal")] = 1 };
        Assert.Equal(expected.Keys, vector.Indices.ToArray());
        Assert.Equal(expected.Values, vector.Values.ToArray());

        var given = RowOf(2, "text");
        given["sparse"] = SparseVector.Create([1], [1]);
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [given]));
        Assert.Contains("output of BM25 function 'bm25'", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", new SearchRequest
        {
            Vectors = [],
            SparseVectors = [SparseVector.Create([1], [1])],
            AnnsField = "sparse",
        }));
        Assert.Contains("search it with query texts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HybridSearch_FusesABm25SubRequestWithADenseOne()
    {
        var (_, corpus) = Corpus(31, 300);

        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c", [.. corpus.Select(kv => RowOf(kv.Key, kv.Value))]);
        var text = "kernel driver install";
        var dense = new float[] { 1, 2, 0, 1 };
        var lexical = await db.SearchAsync("c", new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = 20 });
        var vector = await db.SearchAsync("c", new SearchRequest { Vectors = [dense], AnnsField = "dense", Limit = 20 });
        var fused = await db.HybridSearchAsync("c", new HybridRequest
        {
            Requests =
            [
                new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = 20 },
                new SearchRequest { Vectors = [dense], AnnsField = "dense", Limit = 20 },
            ],
            Ranker = HybridRanker.Rrf(60),
            Limit = 10,
        });

        // RRF oracle from the two single searches: Σ 1 / (k + rank), rank from 1.
        var expected = new Dictionary<long, double>();
        foreach (var list in new[] { lexical.Hits[0], vector.Hits[0] })
        {
            for (var r = 0; r < list.Count; r++)
            {
                var id = (long)list[r].Id;
                expected[id] = expected.GetValueOrDefault(id) + (1.0 / (60 + r + 1));
            }
        }

        var top = expected.OrderByDescending(kv => kv.Value).Take(10).ToList();
        Assert.Equal(10, fused.Hits[0].Count);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(Math.Abs(top[i].Value - fused.Hits[0][i].Score) < 1e-6, $"rank {i}: {top[i].Value} vs {fused.Hits[0][i].Score}");
        }
    }

    [Theory]
    [InlineData("no-analyzer", "needs enable_analyzer")]
    [InlineData("dense-output", "writes a SparseFloatVector field")]
    [InlineData("params", "takes no parameters")]
    [InlineData("bm25-metric-without-function", "no BM25 function writes it")]
    public async Task Create_RefusesBadBm25Functions(string variant, string expected)
    {
        var schema = Schema();
        schema = variant switch
        {
            "no-analyzer" => schema with { Fields = schema.Fields.SetItem(1, FieldSchema.VarChar("text", 100)) },
            "dense-output" => schema with { Functions = [CollectionFunction.BM25("bm25", "text", "dense")] },
            "params" => schema with { Functions = [CollectionFunction.BM25("bm25", "text", "sparse") with { Params = new Dictionary<string, string> { ["k1"] = "1" } }] },
            _ => schema with { Fields = schema.Fields.Add(FieldSchema.SparseVector("other") with { Metric = MetricType.BM25 }) },
        };
        await using var db = await OpenAsync();
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("c", schema));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("IP", null, null, "supports metric BM25 only")]
    [InlineData("BM25", "1.0", null, "bm25_k1")]
    [InlineData("BM25", null, "1.5", "bm25_b")]
    public async Task CreateIndex_RefusesWrongMetricAndParameters(string metric, string? k1, string? b, string expected)
    {
        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        var p = new Dictionary<string, string>();
        if (k1 is not null)
        {
            p["bm25_k1"] = k1;
        }

        if (b is not null)
        {
            p["bm25_b"] = b;
        }

        var e = await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", new IndexDefinition
        {
            FieldName = "sparse",
            IndexType = "SPARSE_INVERTED_INDEX",
            Metric = VectorCodec.TryParseMetric(metric, out var m) ? m : null,
            Params = p,
        }));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
