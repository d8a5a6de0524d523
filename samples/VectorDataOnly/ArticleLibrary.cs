using System.Globalization;
using Microsoft.Extensions.VectorData;

namespace VectorDataOnly;

/// <summary>One search the sample runs: a query vector, the topic and the earliest year it allows.</summary>
internal sealed record ArticleQuery(string Label, float[] Vector, string Topic, int MinYear);

/// <summary>The application: it stores articles and finds the ones nearest a query within a topic and from a year on,
/// through whatever <see cref="VectorStore"/> it is given. It uses only Microsoft.Extensions.VectorData types.</summary>
internal sealed class ArticleLibrary(VectorStore store)
{
    /// <summary>How many articles each search returns.</summary>
    public const int Top = 4;

    private readonly VectorStoreCollection<long, Article> articles = store.GetCollection<long, Article>("articles");

    /// <summary>Creates the collection if needed and upserts <paramref name="batch"/>.</summary>
    public async Task LoadAsync(IReadOnlyList<Article> batch, CancellationToken cancellationToken = default)
    {
        await articles.EnsureCollectionExistsAsync(cancellationToken);
        await articles.UpsertAsync(batch, cancellationToken);
    }

    /// <summary>The <see cref="Top"/> articles nearest <paramref name="query"/>'s vector among those of its topic from
    /// its year on, best first.</summary>
    public async Task<IReadOnlyList<VectorSearchResult<Article>>> SearchAsync(ArticleQuery query, CancellationToken cancellationToken = default)
    {
        var (topic, minYear) = (query.Topic, query.MinYear);
        var options = new VectorSearchOptions<Article> { Filter = a => a.Topic == topic && a.Year >= minYear };
        var hits = new List<VectorSearchResult<Article>>();
        await foreach (var hit in articles.SearchAsync(new ReadOnlyMemory<float>(query.Vector), Top, options, cancellationToken))
        {
            hits.Add(hit);
        }

        return hits;
    }

    /// <summary>Loads <paramref name="batch"/>, runs <paramref name="queries"/> and writes the answers to
    /// <paramref name="output"/>; returns the answers in the order of the queries.</summary>
    public async Task<IReadOnlyList<IReadOnlyList<VectorSearchResult<Article>>>> RunAsync(IReadOnlyList<Article> batch, IReadOnlyList<ArticleQuery> queries, TextWriter output)
    {
        await LoadAsync(batch);
        output.WriteLine($"{batch.Count} articles stored");
        var answers = new List<IReadOnlyList<VectorSearchResult<Article>>>();
        foreach (var query in queries)
        {
            var hits = await SearchAsync(query);
            output.WriteLine();
            output.WriteLine($"{query.Label} (topic {query.Topic}, from {query.MinYear}):");
            foreach (var hit in hits)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {hit.Record.Key,4}  {hit.Record.Title,-34} {hit.Record.Year}  score {hit.Score:F3}"));
            }

            answers.Add(hits);
        }

        return answers;
    }
}
