using System.Globalization;
using System.Text.Json.Nodes;
using OpenQA.Selenium;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>The search page's text search (a field a TextEmbedding function writes) and hybrid search (several
/// fields fused by RRF), each against an oracle: brute force over the stored vectors, and RRF recomputed from brute-force
/// rankings.</summary>
public sealed partial class ConsoleTests
{
    private const string NotesQuery = "groceries to get";

    /// <summary>The stored vectors of field <paramref name="field"/> of <c>notes</c>, by primary key.</summary>
    private async Task<List<(long Key, float[] Vector)>> NotesVectorsAsync(string field) =>
        [.. (await f.RestAsync("/entities/query", new JsonObject
        {
            ["collectionName"] = "notes", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id", field),
        }))!.AsArray().Select(r => (long.Parse(r!["id"]!.ToString(), CultureInfo.InvariantCulture), r[field]!.AsArray().Select(v => v!.GetValue<float>()).ToArray()))];

    /// <summary>The query text embedded by the collection's own function (the provider the server runs).</summary>
    private async Task<float[]> EmbedAsync(string text)
    {
        var info = await f.Server.Engine.DescribeCollectionAsync("notes");
        var embedder = f.Server.Engine.Options.TextEmbedders!.Resolve(Assert.Single(info.Schema.Functions), 384);
        return (await embedder.EmbedAsync([text], CancellationToken.None))[0];
    }

    [Fact]
    public async Task Search_ByText_ReturnsTheBruteForceTopK_OfTheEmbeddedQuery()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("search/notes");
        // The field a function writes is searched by text by default.
        f.Find(Test("query-text")).SendKeys(NotesQuery);
        var topK = f.Find(Test("topk"));
        topK.Clear();
        topK.SendKeys("3");
        f.Find(Test("run-search")).Click();
        var ids = ResultIds(3);
        var oracle = BruteForce.TopK(await NotesVectorsAsync("vec"), await EmbedAsync(NotesQuery), MetricType.Cosine, 3).Select(o => o.Key).ToList();
        Assert.Equal(oracle, ids);
        Assert.Contains(0L, ids); // the grocery note, for a reader of the test
        f.Screenshot("text-search");
    }

    [Fact]
    public async Task HybridSearch_TextAndVector_FusedByRrf_MatchesTheFusionOfBruteForceRankings()
    {
        const int k = 4;
        const int rrfK = 60;
        float[] tagQuery = [1.5f, 0.5f];
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("search/notes");
        f.Find(Test("query-text")).SendKeys(NotesQuery);
        f.Find(Test("add-subrequest")).Click();
        f.Find(Test("mode-paste-1")).Click();
        f.Find(Test("vector-1")).SendKeys("[1.5, 0.5]");
        var topK = f.Find(Test("topk"));
        topK.Clear();
        topK.SendKeys(k.ToString(CultureInfo.InvariantCulture));
        f.Find(Test("ranker-rrf")).Click();
        f.Find(Test("run-search")).Click();
        var ids = ResultIds(k);

        // RRF over the two exact rankings (each cut to k, as each part's limit is k): score = sum of 1 / (k_rrf + rank),
        // rank from 1. Exact ties may come in either order, so the page's order is checked by score.
        var text = BruteForce.TopK(await NotesVectorsAsync("vec"), await EmbedAsync(NotesQuery), MetricType.Cosine, k).Select(o => o.Key).ToList();
        var tag = BruteForce.TopK(await NotesVectorsAsync("tag"), tagQuery, MetricType.L2, k).Select(o => o.Key).ToList();
        var scores = text.Concat(tag).Distinct().ToDictionary(id => id,
            id => new[] { text, tag }.Sum(list => list.IndexOf(id) is var r and >= 0 ? 1.0 / (rrfK + r + 1) : 0));
        var expected = scores.Values.OrderDescending().Take(k).ToList();
        Assert.All(ids, id => Assert.True(scores.ContainsKey(id), $"{id} is in neither ranking"));
        Assert.Equal(expected, ids.Select(id => scores[id]), (a, b) => Math.Abs(a - b) < 1e-9);
        // The fused score shown (5 decimals) is the oracle's.
        var shown = f.Browser.FindElements(By.CssSelector("[data-testid=results] tbody tr td:nth-child(2)"))
            .Select(c => double.Parse(c.Text, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Select(id => scores[id]), shown, (a, b) => Math.Abs(a - b) <= 0.6e-5);
        f.ScrollTo(Test("run-search"));
        f.Screenshot("hybrid-search");
    }

    [Fact]
    public void Search_ByText_OnABm25Field_RanksAndScoresAsTheReferenceBm25()
    {
        const int k = 5;
        const string query = "river boat ticket";
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("search/passages");
        // The field the BM25 function writes is searched by text by default.
        f.Find(Test("query-text")).SendKeys(query);
        var topK = f.Find(Test("topk"));
        topK.Clear();
        topK.SendKeys(k.ToString(CultureInfo.InvariantCulture));
        f.Find(Test("run-search")).Click();
        var ids = ResultIds(k);

        // Ties may come in either order: the page's ranking is checked by the reference's scores.
        var reference = ReferenceBm25(ConsoleFixture.Passages, query);
        Assert.True(reference.Count >= k, $"only {reference.Count} passages hold a query word");
        Assert.All(ids, id => Assert.True(reference.ContainsKey(id), $"{id} holds no query word"));
        Assert.Equal(reference.Values.OrderDescending().Take(k), ids.Select(id => reference[id]), (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(a)));
        var shown = f.Browser.FindElements(By.CssSelector("[data-testid=results] tbody tr td:nth-child(2)"))
            .Select(c => double.Parse(c.Text, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Select(id => reference[id]), shown, (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(a)));
        f.Screenshot("bm25-search");
    }

    /// <summary>Okapi BM25 of every passage holding a query word, written here from the formula: words are the passages'
    /// space-separated lower-case words (what the standard analyzer makes of them), k1 1.2 and b 0.75 (the index's
    /// defaults), IDF ln(1 + (N − df + 0.5) / (df + 0.5)) as Milvus has it.</summary>
    private static Dictionary<long, double> ReferenceBm25(string[] passages, string query, double k1 = 1.2, double b = 0.75)
    {
        var documents = passages.Select(p => p.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var averageLength = documents.Average(d => (double)d.Length);
        var scores = new Dictionary<long, double>();
        foreach (var term in query.Split(' '))
        {
            var holding = documents.Count(d => d.Contains(term));
            var idf = Math.Log(1 + ((documents.Length - holding + 0.5) / (holding + 0.5)));
            for (var id = 0; id < documents.Length; id++)
            {
                var tf = documents[id].Count(w => w == term);
                if (tf > 0)
                {
                    var norm = k1 * (1 - b + (b * documents[id].Length / averageLength));
                    scores[id] = scores.GetValueOrDefault(id) + (idf * tf * (k1 + 1) / (tf + norm));
                }
            }
        }
        return scores;
    }
}
