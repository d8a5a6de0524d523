using Quiver.Search;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Hybrid search: runs each of the request's searches (each over its own vector field with its own filter,
    /// parameters and limit) over one snapshot of the collection and fuses their hits per query with the request's
    /// ranker (reciprocal rank fusion or weighted scores), then applies offset, limit and grouping and reads the output
    /// fields of the hits returned. One result list per query vector of the searches (they all have the same number).</summary>
    public Task<SearchResult> HybridSearchAsync(string collection, HybridRequest request, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        return Task.FromResult(HybridSearch.Run(shard, request, cancellationToken,
            (view, projection, hits) => SearchExecutor.Hits(shard.Schema, view, projection, hits, null)));
    }

    /// <summary>As <see cref="HybridSearchAsync"/>, the hits as columns (<see cref="SearchColumns"/>).</summary>
    public Task<SearchColumns> HybridSearchColumnsAsync(string collection, HybridRequest request, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(HybridSearch.Run(Require(database, collection), request, cancellationToken, SearchExecutor.Columns));
    }
}
