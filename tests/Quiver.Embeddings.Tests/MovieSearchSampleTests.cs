using Quiver.Samples.MovieSearch;
using Quiver.Testing;

namespace Quiver.Embeddings.Tests;

/// <summary>samples/MovieSearch run as a reader runs it, its three answers checked against oracles computed here: the
/// search by meaning against brute-force cosine over the stored vectors of the movies the year filter keeps (query
/// vector from the collection's own function); the keyword search against the movies whose description holds the
/// word; the hybrid answer against reciprocal rank fusion of the two searches it fuses, run separately.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed class MovieSearchSampleTests(LocalModel local)
{
    [Fact]
    public async Task Sample_RunsAndEachSearchEqualsItsOracle()
    {
        using var folder = new TempFolder();
        var movies = Movie.Load(Path.Combine(AppContext.BaseDirectory, "movies.json"));
        var output = new StringWriter();
        var results = await MovieSearchDemo.RunAsync(folder.Path, local.Provider, movies, output);
        Assert.Contains($"{movies.Length} movies inserted", output.ToString(), StringComparison.Ordinal);

        await using var engine = await QuiverEngine.OpenAsync(folder.Path, new QuiverOptions { TextEmbedders = local.Provider });
        var query = (await engine.EmbedQueriesAsync("movies", "embedding", [MovieSearchDemo.MeaningQuery]))[0];
        var stored = await engine.GetAsync("movies", [.. movies.Select(m => (object)m.Id)], ["embedding", "year"]);
        var oracle = stored.Where(r => (long)r["year"]! >= 2000)
            .Select(r => (Id: (long)r["id"]!, Score: LocalModel.Cosine(query, (float[])r["embedding"]!)))
            .OrderByDescending(h => h.Score).Take(3).ToArray();
        Assert.Equal(oracle.Select(h => h.Id), results.Meaning.Select(h => (long)h.Id));
        for (var i = 0; i < oracle.Length; i++)
        {
            Assert.Equal(oracle[i].Score, results.Meaning[i].Score, 4);
        }

        // The description words the analyzer keeps: every keyword hit holds the query word, and none is missed.
        var withWord = movies.Where(m => m.Description.Split(' ', '.', ',').Contains(MovieSearchDemo.KeywordQuery)).Select(m => m.Id).ToHashSet();
        Assert.Equal(Math.Min(3, withWord.Count), results.Keywords.Count);
        Assert.All(results.Keywords, h => Assert.Contains((long)h.Id, withWord));

        var dense = await engine.SearchAsync("movies", new SearchRequest { Vectors = [], QueryTexts = [MovieSearchDemo.HybridQuery], AnnsField = "embedding", Limit = 10 });
        var sparse = await engine.SearchAsync("movies", new SearchRequest { Vectors = [], QueryTexts = [MovieSearchDemo.HybridQuery], AnnsField = "keywords", Limit = 10 });
        var fused = new Dictionary<long, double>();
        foreach (var list in new[] { dense.Hits[0], sparse.Hits[0] })
        {
            for (var rank = 0; rank < list.Count; rank++)
            {
                fused[(long)list[rank].Id] = fused.GetValueOrDefault((long)list[rank].Id) + (1.0 / (60 + rank + 1));
            }
        }

        var expected = fused.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(3).ToArray();
        Assert.Equal(expected.Select(kv => kv.Value), results.Hybrid.Select(h => (double)h.Score), new ToleranceComparer(1e-6));
        Assert.Contains((long)results.Hybrid[0].Id, expected.Where(kv => Math.Abs(kv.Value - expected[0].Value) < 1e-9).Select(kv => kv.Key));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
