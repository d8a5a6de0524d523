using System.Collections.Immutable;
using System.Globalization;

namespace Quiver.Samples.MovieSearch;

/// <summary>The movie search end to end over the embedded engine: one collection whose <c>embedding</c> is computed from
/// each description by a TextEmbedding function (all-MiniLM-L6-v2, local) and whose <c>keywords</c> is computed from the
/// same description by a BM25 function; then a search by meaning with a year filter, a search by keywords, and a hybrid
/// search fusing both with reciprocal rank fusion.</summary>
internal static class MovieSearchDemo
{
    /// <summary>What a reader asks in the walkthrough.</summary>
    public const string MeaningQuery = "stranded alone in space, trying to get home";

    /// <summary>The year filter of the search by meaning.</summary>
    public const string YearFilter = "year >= 2000";

    /// <summary>The keyword query.</summary>
    public const string KeywordQuery = "ocean";

    /// <summary>The hybrid query: its words and its meaning both count.</summary>
    public const string HybridQuery = "a crew of thieves plans a robbery";

    /// <summary>The schema: text in, two computed fields out.</summary>
    public static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("title", 200),
            FieldSchema.Scalar("year", DataType.Int64),
            FieldSchema.VarChar("description", 1_000) with { EnableAnalyzer = true, AnalyzerParams = """{"type":"english"}""" },
            FieldSchema.Vector("embedding", 384, MetricType.Cosine),
            FieldSchema.SparseVector("keywords"),
        ],
        Functions =
        [
            CollectionFunction.TextEmbedding("embed_description", "description", "embedding",
                ImmutableDictionary<string, string>.Empty.Add("provider", "local")),
            CollectionFunction.BM25("bm25_description", "description", "keywords"),
        ],
    };

    /// <summary>Creates the collection in <paramref name="folder"/>, inserts <paramref name="movies"/> (text only: both
    /// vectors are computed), runs the three searches and writes them to <paramref name="output"/>.</summary>
    public static async Task<MovieSearchResults> RunAsync(string folder, ITextEmbedderProvider embedders, IReadOnlyList<Movie> movies, TextWriter output)
    {
        await using var engine = await QuiverEngine.OpenAsync(folder, new QuiverOptions { TextEmbedders = embedders });
        await engine.CreateCollectionAsync("movies", Schema());
        await engine.InsertAsync("movies", [.. movies.Select(m => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["id"] = m.Id,
            ["title"] = m.Title,
            ["year"] = m.Year,
            ["description"] = m.Description,
        })]);
        output.WriteLine($"{engine.CountRows("movies")} movies inserted");

        string[] fields = ["title", "year"];
        var meaning = await engine.SearchAsync("movies", new SearchRequest
        {
            Vectors = [],
            QueryTexts = [MeaningQuery],
            AnnsField = "embedding",
            Filter = YearFilter,
            Limit = 3,
            OutputFields = fields,
        });
        Print(output, $"By meaning: \"{MeaningQuery}\", {YearFilter}", meaning.Hits[0]);

        var keywords = await engine.SearchAsync("movies", new SearchRequest
        {
            Vectors = [],
            QueryTexts = [KeywordQuery],
            AnnsField = "keywords",
            Limit = 3,
            OutputFields = fields,
        });
        Print(output, $"By keywords (BM25): \"{KeywordQuery}\"", keywords.Hits[0]);

        var hybrid = await engine.HybridSearchAsync("movies", new HybridRequest
        {
            Requests =
            [
                new SearchRequest { Vectors = [], QueryTexts = [HybridQuery], AnnsField = "embedding", Limit = 10 },
                new SearchRequest { Vectors = [], QueryTexts = [HybridQuery], AnnsField = "keywords", Limit = 10 },
            ],
            Ranker = HybridRanker.Rrf(60),
            Limit = 3,
            OutputFields = fields,
        });
        Print(output, $"Hybrid (meaning + BM25, RRF k=60): \"{HybridQuery}\"", hybrid.Hits[0]);
        return new MovieSearchResults(meaning.Hits[0], keywords.Hits[0], hybrid.Hits[0]);
    }

    private static void Print(TextWriter output, string heading, IReadOnlyList<SearchHit> hits)
    {
        output.WriteLine();
        output.WriteLine(heading);
        foreach (var hit in hits)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {hit.Score,7:F4}  {hit.Fields["title"]} ({hit.Fields["year"]})"));
        }
    }
}

/// <summary>The hits of the three searches, best first.</summary>
internal sealed record MovieSearchResults(IReadOnlyList<SearchHit> Meaning, IReadOnlyList<SearchHit> Keywords, IReadOnlyList<SearchHit> Hybrid);
