using Quiver.Sparse;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>Collection-wide BM25 statistics over several engines (what a cluster's shards do): rows split over two engines
/// opened with <see cref="QuiverOptions.SharedBm25Statistics"/>, each scoring with the sum of both engines' statistics
/// (<see cref="QuiverEngine.Bm25Statistics"/>, <see cref="Bm25Shared.Param"/>), give the scores of one engine holding
/// every row, bit for bit, and merged by score its top-k; the oracle is that single engine.</summary>
public sealed class Bm25SharedTests : IDisposable
{
    private static readonly string[] Vocabulary = [.. Enumerable.Range(0, 300).Select(i => "w" + new string([.. $"{i:D3}".Select(c => (char)('a' + c - '0'))]) + "z")];

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("text", 60_000) with { EnableAnalyzer = true, AnalyzerParams = """{"type":"english"}""" },
            FieldSchema.Scalar("tag", DataType.Int64),
            FieldSchema.SparseVector("sparse"),
        ],
        Functions = [CollectionFunction.BM25("bm25", "text", "sparse")],
    };

    private static string Text(Random rng) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(0, 50)).Select(_ => Vocabulary[(int)(Math.Pow(rng.NextDouble(), 2.5) * Vocabulary.Length)]));

    private static string Query(Random rng) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(1, 6)).Select(_ => rng.Next(10) == 0 ? "nowhereword" : Vocabulary[(int)(Math.Pow(rng.NextDouble(), 1.5) * Vocabulary.Length)]));

    private async Task<QuiverEngine> OpenAsync(string name, bool shared)
    {
        var db = await QuiverEngine.OpenAsync(Path.Combine(_dir.Path, name), new QuiverOptions { BackgroundMaintenance = false, SharedBm25Statistics = shared });
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "sparse", IndexType = "SPARSE_INVERTED_INDEX", Metric = MetricType.BM25 });
        return db;
    }

    /// <summary>The same rows in one engine and split by key over two: sealed and growing segments, deletes and an
    /// upsert on both sides.</summary>
    private async Task<(QuiverEngine Whole, QuiverEngine[] Parts)> FillAsync(bool shared)
    {
        var whole = await OpenAsync("whole", shared: false);
        QuiverEngine[] parts = [await OpenAsync("a", shared), await OpenAsync("b", shared)];
        var rng = new Random(17);
        for (var batch = 0; batch < 4; batch++)
        {
            var rows = Enumerable.Range(batch * 300, 300).Select(i => new Row { ["id"] = (long)i, ["text"] = Text(rng), ["tag"] = (long)(i % 5) }).ToList();
            await whole.InsertAsync("c", rows);
            foreach (var (part, p) in parts.Select((e, p) => (e, p)))
            {
                await part.InsertAsync("c", [.. rows.Where(r => (long)r["id"]! % 2 == p)]);
            }

            if (batch == 1)
            {
                foreach (var db in parts.Append(whole))
                {
                    await db.FlushAsync("c");
                }
            }
        }

        var gone = Enumerable.Range(0, 1200).Where(i => i % 7 == 3).Select(i => (object)(long)i).ToList();
        var again = new Row { ["id"] = 10L, ["text"] = Vocabulary[0] + " " + Vocabulary[1], ["tag"] = 0L };
        await whole.DeleteAsync("c", gone);
        await whole.UpsertAsync("c", [again]);
        foreach (var (part, p) in parts.Select((e, p) => (e, p)))
        {
            await part.DeleteAsync("c", [.. gone.Where(k => (long)k % 2 == p)]);
            if (p == 0)
            {
                await part.UpsertAsync("c", [again]);
            }
        }

        return (whole, parts);
    }

    [Fact]
    public async Task TwoEnginesWithSummedStatistics_ScoreAsOneEngineHoldingEveryRow()
    {
        var (whole, parts) = await FillAsync(shared: true);
        await using var _ = whole;
        await using var a = parts[0];
        await using var b = parts[1];
        var rng = new Random(5);
        for (var q = 0; q < 30; q++)
        {
            var request = new SearchRequest
            {
                Vectors = [], QueryTexts = [Query(rng), Query(rng)], AnnsField = "sparse", Limit = new[] { 1, 5, 20 }[q % 3],
                Filter = q % 4 == 3 ? "tag != 2" : "",
            };
            var sum = Bm25Statistics.Sum([a.Bm25Statistics("c", request), b.Bm25Statistics("c", request)]);
            var scored = request with { SearchParams = new Dictionary<string, string> { [Bm25Shared.Param] = Bm25Statistics.Parse(sum.Format()).Format() } };
            var answers = new[] { await a.SearchAsync("c", scored), await b.SearchAsync("c", scored) };
            var expected = await whole.SearchAsync("c", request);
            var everyScore = await whole.SearchAsync("c", request with { Limit = 2_000 });
            for (var i = 0; i < 2; i++)
            {
                var merged = answers.SelectMany(r => r.Hits[i]).OrderByDescending(h => h.Score).ThenBy(h => (long)h.Id).Take(request.Limit).ToList();
                var what = $"query {q}.{i} '{request.QueryTexts[i]}'";
                // Ties at the cut may keep other rows of the same score: the scores in order, and each row's own score.
                Assert.Equal(expected.Hits[i].Select(h => h.Score), merged.Select(h => h.Score));
                var oracle = everyScore.Hits[i].ToDictionary(h => (long)h.Id, h => h.Score);
                Assert.All(merged, h => Assert.True(oracle[(long)h.Id] == h.Score, $"{what}: row {h.Id} scored {h.Score}, one engine {oracle[(long)h.Id]}"));
            }
        }
    }

    [Fact]
    public async Task SuppliedStatistics_AreIgnoredByAnEngineNotOpenedForThem_AndCheckedByOneThatIs()
    {
        var (whole, parts) = await FillAsync(shared: false);
        await using var _ = whole;
        await using var a = parts[0];
        await using var b = parts[1];
        var request = new SearchRequest { Vectors = [], QueryTexts = [Vocabulary[3] + " " + Vocabulary[40]], AnnsField = "sparse", Limit = 10 };
        var own = await a.SearchAsync("c", request);
        var bogus = request with { SearchParams = new Dictionary<string, string> { [Bm25Shared.Param] = "1;1;" } };
        var ignored = await a.SearchAsync("c", bogus);
        Assert.Equal(own.Hits[0].Select(h => (h.Id, h.Score)), ignored.Hits[0].Select(h => (h.Id, h.Score)));

        // A dense or plain sparse search drops the key on any engine.
        await using var shared = await OpenAsync("shared", shared: true);
        await shared.InsertAsync("c", [new Row { ["id"] = 1L, ["text"] = Vocabulary[3], ["tag"] = 1L }]);
        foreach (var (text, expected) in new[]
        {
            ("x", "expected 'rows;length;term:df,...'"),
            ("-1;3;", "expected 'rows;length;term:df,...'"),
            ("2;NaN;", "finite"),
            ("2;4;1:3", "term 1 is in 3 rows of 2"),
            ("2;4;1:1,1:1", "term 1 is given twice"),
            ("2;4;5", "'5' is not 'term:df'"),
            ("2;4;", "has no document frequency for query term"),
        })
        {
            var ex = await Assert.ThrowsAsync<QuiverException>(() => shared.SearchAsync("c", request with { SearchParams = new Dictionary<string, string> { [Bm25Shared.Param] = text } }));
            Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
            Assert.Contains(Bm25Shared.Param, ex.Message, StringComparison.Ordinal);
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        }

        var notBm25 = await Assert.ThrowsAsync<QuiverException>(() => Task.FromResult(shared.Bm25Statistics("c", request with { AnnsField = "text" })));
        Assert.Equal(QuiverErrorCode.InvalidArgument, notBm25.Code);
    }
}
