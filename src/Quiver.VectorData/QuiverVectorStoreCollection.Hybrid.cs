using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;

namespace Quiver.VectorData;

/// <summary>Keyword hybrid search: a dense vector search and a BM25 search of a full-text indexed property, fused by
/// reciprocal rank.</summary>
public sealed partial class QuiverVectorStoreCollection<TKey, TRecord> : IKeywordHybridSearchable<TRecord>
{
    /// <summary>RRF's smoothing constant k in the fused score Σ 1 / (k + rank): Milvus's default.</summary>
    public const int HybridRrfK = 60;

    /// <summary>
    /// The <paramref name="top"/> records best by reciprocal rank fusion of two searches, each taking its best
    /// <paramref name="top"/> + <see cref="HybridSearchOptions{TRecord}.Skip"/> hits after the filter: the vector search of
    /// <see cref="HybridSearchOptions{TRecord}.VectorProperty"/> (the single vector property when unset) for
    /// <paramref name="searchValue"/>, and a BM25 search of <see cref="HybridSearchOptions{TRecord}.AdditionalProperty"/>
    /// (the single property marked <c>IsFullTextIndexed</c> when unset) for the keywords, analysed as one text. A record's
    /// score is Σ 1 / (<see cref="HybridRrfK"/> + rank) over the searches that found it (rank from 1; larger is better,
    /// at most 2 / 61); equal scores are ordered by key. <see cref="HybridSearchOptions{TRecord}.ScoreThreshold"/> keeps
    /// the records scoring at least that much.
    /// </summary>
    /// <exception cref="ArgumentException">No keywords, or only empty ones.</exception>
    /// <exception cref="InvalidOperationException">No full-text property, or several and none named.</exception>
    public async IAsyncEnumerable<VectorSearchResult<TRecord>> HybridSearchAsync<TInput>(
        TInput searchValue, ICollection<string> keywords, int top, HybridSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentNullException.ThrowIfNull(keywords);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new HybridSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var text = string.Join(' ', keywords.Where(k => !string.IsNullOrWhiteSpace(k)));
        if (text.Length == 0)
        {
            throw new ArgumentException("hybrid search needs at least one non-empty keyword", nameof(keywords));
        }

        var vectorProperty = _model.GetVectorPropertyOrSingle(new VectorSearchOptions<TRecord> { VectorProperty = options.VectorProperty });
        var textProperty = _model.GetFullTextDataPropertyOrSingle(options.AdditionalProperty);
        var vector = await QueryVectorAsync(vectorProperty, searchValue, cancellationToken).ConfigureAwait(false);
        var filter = options.Filter is null ? "" : new QuiverFilterTranslator().Translate(options.Filter, _model);
        var each = top + options.Skip;
        var request = new HybridRequest
        {
            Requests =
            [
                new SearchRequest { Vectors = [vector], AnnsField = vectorProperty.StorageName, Limit = each, Filter = filter },
                new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = ModelSchema.Bm25Field(textProperty), Limit = each, Filter = filter },
            ],
            Ranker = HybridRanker.Rrf(HybridRrfK),
            Limit = top,
            Offset = options.Skip,
            OutputFields = Output(options.IncludeVectors),
        };
        var result = await RunAsync("HybridSearch", () => _client.HybridSearchAsync(Name, request, _database, cancellationToken)).ConfigureAwait(false);
        foreach (var hit in result.Hits[0])
        {
            if (options.ScoreThreshold is { } threshold && hit.Score < threshold)
            {
                continue;
            }

            yield return new VectorSearchResult<TRecord>(FromHit(hit, options.IncludeVectors), hit.Score);
        }
    }
}
