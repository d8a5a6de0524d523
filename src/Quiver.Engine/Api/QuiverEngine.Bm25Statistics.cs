using Quiver.Sparse;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>The BM25 statistics <paramref name="request"/> (a search of a BM25 output field by texts) would score
    /// with on this engine (<see cref="Bm25Shared.Of"/>): a cluster node sums them over a collection's shards and sends
    /// the sum with the search (<see cref="QuiverOptions.SharedBm25Statistics"/>), so that every shard scores as one
    /// engine holding all the rows would.</summary>
    internal Bm25Statistics Bm25Statistics(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        var field = request.AnnsField ?? SingleVectorField(shard.Schema);
        return Bm25Shared.Of(shard, request with { AnnsField = field }, cancellationToken);
    }
}
