using Quiver.Search;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Hybrid search: runs each of the request's searches (each over its own vector field with its own filter,
    /// parameters and limit) over one snapshot of the collection and fuses their hits per query with the request's
    /// ranker (reciprocal rank fusion or weighted scores), then applies offset, limit and grouping and reads the output
    /// fields of the hits returned. One result list per query vector of the searches (they all have the same number).
    /// A search may give query texts instead of vectors over the output field of a TextEmbedding function; they are
    /// embedded first.</summary>
    public async Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        if (shard.IndexLoadsPending(request.Requests) is { } loads)
        {
            await shard.WaitForIndexLoadsAsync(loads, cancellationToken).ConfigureAwait(false);
        }

        request = await EmbedHybridTextsAsync(shard, request, cancellationToken).ConfigureAwait(false);
        return HybridSearch.Run(shard, request, cancellationToken,
            (view, projection, hits) => SearchExecutor.Hits(shard.Schema, view, projection, hits, null));
    }

    /// <summary>As <see cref="HybridSearchAsync"/>, the hits as columns (<see cref="SearchColumns"/>).</summary>
    public async Task<SearchColumns> HybridSearchColumnsAsync(string collection, HybridRequest request, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        if (shard.IndexLoadsPending(request.Requests) is { } loads)
        {
            await shard.WaitForIndexLoadsAsync(loads, cancellationToken).ConfigureAwait(false);
        }

        request = await EmbedHybridTextsAsync(shard, request, cancellationToken).ConfigureAwait(false);
        return HybridSearch.Run(shard, request, cancellationToken, SearchExecutor.Columns);
    }
}
