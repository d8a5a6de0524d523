using System.Runtime.CompilerServices;

namespace Quiver.Typed;

/// <summary>Keyword (BM25) search of full-text properties, and hybrid searches that fuse several searches of one
/// collection into one ranking.</summary>
public sealed partial class QuiverCollection<TRecord>
{
    /// <summary>Suffix of the sparse field a BM25 function fills from a full-text property (the same convention as the
    /// VectorData provider's, so both see one collection alike).</summary>
    public const string Bm25Suffix = "_bm25";

    /// <summary>The records best matching <paramref name="text"/> by BM25 over <see cref="QuiverSearchOptions.TextProperty"/>
    /// (the single full-text property when unset), best first; the text is analysed as the stored texts are, and corpus
    /// statistics are the collection's. Records sharing no term with the text are not returned.
    /// <see cref="QuiverSearchOptions.VectorProperty"/> is not used. InvalidArgument when the record has no full-text
    /// property, or several and none is named.</summary>
    public async IAsyncEnumerable<QuiverSearchHit<TRecord>> FullTextSearchAsync(
        string text, QuiverSearchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new QuiverSearchOptions();
        var field = RecordMapper<TRecord>.Bm25Field(_mapper.FullTextProperty(options.TextProperty));
        await foreach (var hit in SearchAsync(Request(options, field) with { QueryTexts = [text] }, cancellationToken).ConfigureAwait(false))
        {
            yield return hit;
        }
    }

    /// <summary>
    /// Several searches of this collection (vectors, full text, texts embedded by the collection's generator), each
    /// taking its best <see cref="QuiverHybridQuery.Limit"/> hits (default <see cref="QuiverHybridSearchOptions.Limit"/>
    /// + <see cref="QuiverHybridSearchOptions.Offset"/>) that pass its filter, fused into one ranking by
    /// <see cref="QuiverHybridSearchOptions.Ranker"/>, as Milvus's <c>hybrid_search</c> does; every search sees the same
    /// snapshot. Hits are best first, equal fused scores by key.
    /// </summary>
    /// <exception cref="QuiverException">InvalidArgument: no query, a property that is not a vector (or full-text)
    /// property, an embedded text without <see cref="QuiverCollectionOptions.EmbeddingGenerator"/>, or what the engine
    /// refuses (a weighted ranker whose weights do not match the queries, limits out of range).</exception>
    public async IAsyncEnumerable<QuiverSearchHit<TRecord>> HybridSearchAsync(
        IReadOnlyList<QuiverHybridQuery> queries, QuiverHybridSearchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        options ??= new QuiverHybridSearchOptions();
        if (queries.Count == 0)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"hybrid search of {Name}: give at least one query");
        }

        var embedded = queries.Where(q => q.Kind == QuiverHybridQueryKind.EmbeddedText).Select(q => q.Text!).ToList();
        var vectors = embedded.Count == 0 ? [] : await EmbedAsync(embedded, cancellationToken).ConfigureAwait(false);
        var next = 0;
        var requests = new List<SearchRequest>(queries.Count);
        foreach (var query in queries)
        {
            ArgumentNullException.ThrowIfNull(query, nameof(queries));
            var request = new SearchRequest
            {
                Vectors = [],
                AnnsField = "",
                Limit = query.Limit ?? (options.Limit + options.Offset),
                Filter = query.Filter ?? options.Filter,
                FilterParams = options.FilterParams,
                SearchParams = query.SearchParams ?? new Dictionary<string, string>(),
            };
            requests.Add(query.Kind switch
            {
                QuiverHybridQueryKind.FullText => request with
                {
                    QueryTexts = [query.Text!],
                    AnnsField = RecordMapper<TRecord>.Bm25Field(_mapper.FullTextProperty(query.Property)),
                },
                QuiverHybridQueryKind.EmbeddedText => request with { Vectors = [vectors[next++]], AnnsField = _mapper.Vector(query.Property).Field.Name },
                _ => request with { Vectors = [ClrVectors.Query(query.Input!, Name)], AnnsField = _mapper.Vector(query.Property).Field.Name },
            });
        }

        var hybrid = new HybridRequest
        {
            Requests = requests,
            Ranker = options.Ranker ?? HybridRanker.Rrf(),
            Limit = options.Limit,
            Offset = options.Offset,
            OutputFields = _mapper.OutputFields(options.IncludeVectors),
            Partitions = options.Partitions,
            Consistency = options.Consistency,
        };
        var result = await RunAsync("hybrid_search", () => Client.HybridSearchAsync(Name, hybrid, Database, cancellationToken), r => r.Hits[0].Count)
            .ConfigureAwait(false);
        foreach (var hit in result.Hits[0])
        {
            yield return Hit(hit);
        }
    }
}
