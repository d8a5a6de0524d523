using Quiver.Shards;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Vectors for <paramref name="texts"/> as the TextEmbedding function writing <paramref name="field"/> computes
    /// them (the same vectors an insert of those texts stores), for a search by text over any transport. Throws
    /// <see cref="EmbeddingException"/> when the provider fails or a text is longer than the input field allows, and
    /// <see cref="QuiverException"/> when no such function writes the field.</summary>
    public Task<float[][]> EmbedQueriesAsync(
        string collection, string field, IReadOnlyList<string> texts, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(texts);
        return TextEmbeddingFunctions.EmbedQueriesAsync(Options, Require(database, collection).Schema, field, texts, cancellationToken);
    }

    private async Task<MutationResult> WriteRowsAsync(
        Shard shard, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition, bool upsert, CancellationToken ct)
    {
        var filled = await TextEmbeddingFunctions.FillAsync(Options, shard.Schema, Sparse.Bm25Function.Fill(shard.Schema, rows), ct).ConfigureAwait(false);
        return await shard.WriteAsync(filled, partition, upsert, ct).ConfigureAwait(false);
    }

    private async Task<MutationResult> WriteColumnsAsync(Shard shard, ColumnBatch columns, string? partition, bool upsert, CancellationToken ct)
    {
        var filled = await TextEmbeddingFunctions.FillAsync(Options, shard.Schema, Sparse.Bm25Function.Fill(shard.Schema, columns), ct).ConfigureAwait(false);
        return await shard.WriteAsync(filled, partition, upsert, ct).ConfigureAwait(false);
    }

    /// <summary>A search whose queries are texts: embedded by the function writing the searched field, then run as a
    /// vector search by <paramref name="run"/>.</summary>
    private async Task<T> SearchTextAsync<T>(Shard shard, SearchRequest request, Func<Shard, SearchRequest, T> run, CancellationToken ct)
    {
        if (request.Vectors.Count > 0)
        {
            Throw.Invalid("a search takes query vectors or query texts, not both");
        }

        var field = request.AnnsField ?? SingleVectorField(shard.Schema);
        if (Sparse.Bm25Function.Writing(shard.Schema, field) is not null)
        {
            // BM25 scores the texts themselves against the corpus statistics of the search's snapshot.
            return run(shard, request with { AnnsField = field });
        }

        var vectors = await TextEmbeddingFunctions.EmbedQueriesAsync(Options, shard.Schema, field, request.QueryTexts!, ct).ConfigureAwait(false);
        return run(shard, request with { Vectors = vectors, QueryTexts = null, AnnsField = field });
    }

    /// <summary>A hybrid search whose searches may be texts: each search that gives <see cref="SearchRequest.QueryTexts"/>
    /// goes through <see cref="SearchTextAsync"/> as a single search does (over a TextEmbedding output its texts are
    /// embedded, one provider call per search; over a BM25 output they stay texts; over any other field they are
    /// refused). <paramref name="request"/> itself when no search gives texts.</summary>
    private async Task<HybridRequest> EmbedHybridTextsAsync(Shard shard, HybridRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request.Requests);
        SearchRequest[]? resolved = null;
        for (var i = 0; i < request.Requests.Count; i++)
        {
            if (request.Requests[i] is { QueryTexts: not null } sub)
            {
                resolved ??= [.. request.Requests];
                resolved[i] = await SearchTextAsync(shard, sub, (_, r) => r, ct).ConfigureAwait(false);
            }
        }

        return resolved is null ? request : request with { Requests = resolved };
    }

    private static string SingleVectorField(CollectionSchema schema)
    {
        var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToArray();
        if (vectors.Length != 1)
        {
            Throw.Invalid($"the collection has {vectors.Length} vector fields; name the one to search (AnnsField)");
        }

        return vectors[0].Name;
    }
}
