using Quiver.Samples.ProductRecommender;
using Quiver.Testing;
using SampleProduct = Quiver.Samples.ProductRecommender.Product;

namespace Quiver.Typed.Tests.Samples;

/// <summary>samples/ProductRecommender run as a reader runs it (docs/tutorial-recommender.md's flow over a seeded
/// synthetic catalogue), each recommendation checked against brute force computed here: cosine in double precision
/// between the product's own vector and every other product the question's filter keeps, best first.</summary>
public sealed class ProductRecommenderSampleTests
{
    /// <summary>Each of the sample's filters as a C# predicate over the catalogue.</summary>
    private static readonly Dictionary<string, Func<SampleProduct, bool>> Filters = new()
    {
        [""] = _ => true,
        ["in_stock and price < 100"] = p => p.InStock && p.Price < 100,
        ["category != \"toys\""] = p => p.Category != "toys",
        ["category in [\"books\", \"toys\"] and in_stock"] = p => p.Category is "books" or "toys" && p.InStock,
    };

    [Fact]
    public async Task Sample_EachRecommendationEqualsBruteForce()
    {
        using var folder = new TempFolder("quiver-recommender");
        var catalog = ProductCatalog.Generate();
        var output = new StringWriter();
        var answers = await Recommender.RunAsync(folder.Path, catalog, Recommender.Questions, output);
        Assert.StartsWith($"{catalog.Length} products in the catalogue", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(Recommender.Questions.Length, answers.Count);

        var byId = catalog.ToDictionary(p => p.Id);
        foreach (var answer in answers)
        {
            var (id, filter) = (answer.Question.ProductId, answer.Question.Filter);
            var item = byId[id];
            var oracle = catalog.Where(p => p.Id != id && Filters[filter](p))
                .Select(p => (p.Id, Score: SampleOracle.Cosine(item.Embedding, p.Embedding)))
                .OrderByDescending(h => h.Score).ThenBy(h => h.Id).Take(Recommender.Limit).ToArray();
            Assert.Equal(Recommender.Limit, oracle.Length);
            Assert.Equal(oracle.Length, answer.Hits.Count);
            for (var rank = 0; rank < oracle.Length; rank++)
            {
                var hit = answer.Hits[rank];
                var product = byId[(long)hit.Id];
                Assert.Equal(oracle[rank].Score, hit.Score, 5);
                // The same product as brute force unless two scores tie within float rounding.
                Assert.True(product.Id == oracle[rank].Id || Math.Abs(SampleOracle.Cosine(item.Embedding, product.Embedding) - oracle[rank].Score) < 1e-5,
                    $"more like #{id} where '{filter}': rank {rank} is #{product.Id}, brute force has #{oracle[rank].Id}");
                Assert.Equal(product.Title, hit.Fields["title"]);
                Assert.Equal(product.Price, hit.Fields["price"]);
                Assert.Contains($"  #{product.Id,-5} {product.Title,-26}", output.ToString(), StringComparison.Ordinal);
            }

            Assert.Equal(answer.Hits.Count, answer.Hits.Select(h => h.Id).Distinct().Count());
        }
    }
}
