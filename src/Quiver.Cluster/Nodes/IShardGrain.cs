namespace Quiver.Cluster.Nodes;

/// <summary>One collection shard: a single activation in the cluster (Orleans places it and moves it when its node
/// dies) that owns the shard's write path: its log position on JetStream, its growing data and its sealing into the
/// object store. Key: <c>{database}/{collection}</c>; <see cref="ShardKeys.CatalogShard"/> of a database is the shard
/// with no collection that answers calls naming a collection the catalog does not hold.</summary>
internal interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Runs one unary <c>MilvusService</c> call (its method name and serialized request) on this shard and returns
    /// the serialized response, or the gRPC status the call failed with. <paramref name="request"/> is passed as it is
    /// (<c>[Immutable]</c>: Orleans copies a mutable argument of a call within one node, a write's whole batch once
    /// more): neither the caller nor the shard changes it after the call.</summary>
    Task<MilvusReply> CallAsync(string method, [Immutable] byte[] request, string database);

    /// <summary>Runs one Milvus REST v2 call (its path below <c>/v2/vectordb</c>, such as <c>/entities/search</c>, and
    /// its JSON body) on this shard and returns the HTTP status and body the shard's server answered;
    /// <paramref name="allowInt64"/> is the caller's <c>Accept-Type-Allow-Int64</c> header (Int64 values as numbers).
    /// <paramref name="body"/> is passed as it is, as <see cref="CallAsync"/>'s request.</summary>
    Task<RestReply> RestAsync(string path, [Immutable] byte[] body, bool allowInt64);

    /// <summary>Returns once the shard is active (its engine open); changes nothing. The access layer sends it before a
    /// write to a shard it has not seen active (<see cref="ShardCalls"/>), so that opening the engine, which may take
    /// longer than Orleans lets one call take, is waited for as a call that is safe to send again.</summary>
    Task ReadyAsync();
}

/// <summary>A Milvus call's outcome as it crosses between nodes: the serialized response, or a gRPC status.</summary>
[GenerateSerializer]
[Immutable]
internal sealed record MilvusReply(
    [property: Id(0)] int StatusCode,
    [property: Id(1)] string Detail,
    [property: Id(2)] byte[] Response);

/// <summary>A REST v2 call's outcome as it crosses between nodes: the HTTP status and the JSON body; for a write a shard
/// ran (insert, upsert, delete), <paramref name="WriteTimestamp"/> is its engine's clock after it, at or past the write's
/// own timestamp, which REST's answer does not carry (what a Session read of the writer must see); else 0.</summary>
[GenerateSerializer]
[Immutable]
internal sealed record RestReply(
    [property: Id(0)] int HttpStatus,
    [property: Id(1)] byte[] Body,
    [property: Id(2)] long WriteTimestamp = 0);
