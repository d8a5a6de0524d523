using Microsoft.Extensions.VectorData;
using Quiver.VectorData;
using VectorDataOnly;

namespace Quiver.Typed.Tests.Samples;

/// <summary>samples/VectorDataOnly's application code (written against the Microsoft.Extensions.VectorData abstractions
/// only) run unchanged over Quiver's provider composed two ways, embedded and through the real server on loopback; each
/// answer checked against brute force computed here: cosine in double precision over the seeded articles the query's
/// topic and year keep, best first.</summary>
public sealed class VectorDataOnlySampleTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sample_EachSearchEqualsBruteForce(bool remote)
    {
        await using var target = await Target.OpenAsync(remote);
        using VectorStore store = new QuiverVectorStore(target.Client);
        var articles = SampleData.Articles();
        var queries = SampleData.Queries(articles);
        var output = new StringWriter();
        var answers = await new ArticleLibrary(store).RunAsync(articles, queries, output);
        Assert.StartsWith($"{articles.Length} articles stored", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(queries.Length, answers.Count);

        for (var q = 0; q < queries.Length; q++)
        {
            var query = queries[q];
            var oracle = articles.Where(a => a.Topic == query.Topic && a.Year >= query.MinYear)
                .Select(a => (Article: a, Score: SampleOracle.Cosine(query.Vector, a.Embedding.Span)))
                .OrderByDescending(h => h.Score).ThenBy(h => h.Article.Key).Take(ArticleLibrary.Top).ToArray();
            Assert.Equal(ArticleLibrary.Top, oracle.Length);
            Assert.Equal(oracle.Select(h => h.Article.Key), answers[q].Select(h => h.Record.Key));
            for (var rank = 0; rank < oracle.Length; rank++)
            {
                var (hit, expected) = (answers[q][rank], oracle[rank].Article);
                Assert.Equal(oracle[rank].Score, hit.Score!.Value, 5);
                Assert.Equal((expected.Title, expected.Topic, expected.Year), (hit.Record.Title, hit.Record.Topic, hit.Record.Year));
                Assert.Contains($"  {expected.Key,4}  {expected.Title,-34} {expected.Year}", output.ToString(), StringComparison.Ordinal);
            }
        }

        // The third query is asked of a topic other than the one its vector is near: the filter, not the vector, decides.
        Assert.All(answers[2], h => Assert.Equal("networking", h.Record.Topic));
    }
}
