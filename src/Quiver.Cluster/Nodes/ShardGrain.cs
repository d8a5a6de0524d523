using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Quiver.Cluster.Nodes;

/// <summary>A collection shard's single activation: it owns the shard's write path (its log position on JetStream, its
/// growing data, its sealing into the object store) through a <see cref="ShardHost"/>. A write is acknowledged after the
/// engine's log append, which JetStream acknowledged (two of three servers stored it). When the node dies, Orleans
/// activates the shard on another node, which opens the same storage and so resumes from the checkpoint, replaying the
/// log after it. Calls run concurrently (the engine is thread-safe).</summary>
[Reentrant]
internal sealed partial class ShardGrain(NodeContext node, ILogger<ShardGrain> log) : Grain, IShardGrain
{
    private ShardHost? _host;

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        // A failed activation answers the calls waiting on it: with an exception they can read (GrainBoundary).
        GrainBoundary.GuardAsync(() => ActivateAsync(cancellationToken));

    private async Task ActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        LogActivating(log, key);
        var zone = await DatabaseTimezoneAsync(key).ConfigureAwait(true);
        // Off the grain's scheduler: opening the engine blocks on JetStream (the meta store reads synchronously).
        _host = await Task.Run(() => ShardHost.OpenAsync(node, key, zone, cancellationToken), cancellationToken).ConfigureAwait(true);
        // Where the shard lives, for `status` (ClusterStatus); a shard that moves overwrites it.
        await Task.Run(() => ClusterStatus.RecordPlacementAsync(node, key, cancellationToken), cancellationToken).ConfigureAwait(true);
        LogActivated(log, key, _host.Port);
    }

    /// <inheritdoc/>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(true);
        }
    }

    /// <summary>The <c>timezone</c> of the shard's database as the cluster's list of databases (the default database's
    /// catalog shard) holds it now, or null: a collection created in the shard's engine copies its database's zone, as
    /// Milvus's root coordinator does, so the shard's engine must hold it too. A collection's shard activates when the
    /// collection is created (and again only when it moves, where its collection already recorded its zone).</summary>
    private async Task<string?> DatabaseTimezoneAsync(string key)
    {
        var catalog = ShardKeys.Of("default", ShardKeys.CatalogShard);
        if (key == catalog)
        {
            return null;
        }

        var database = key[..key.IndexOf('/', StringComparison.Ordinal)];
        var request = Google.Protobuf.MessageExtensions.ToByteArray(new Protocol.Milvus.DescribeDatabaseRequest { DbName = database });
        var reply = await GrainFactory.GetGrain<IShardGrain>(catalog).CallAsync("DescribeDatabase", request, "default").ConfigureAwait(true);
        var described = reply.StatusCode == 0 ? Protocol.Milvus.DescribeDatabaseResponse.Parser.ParseFrom(reply.Response) : null;
        return described is { Status: null or { Code: 0 } }
            ? described.Properties.FirstOrDefault(p => p.Key == Timestamptz.TimezoneProperty)?.Value
            : null;
    }

    /// <inheritdoc/>
    public Task<MilvusReply> CallAsync(string method, byte[] request, string database) =>
        Task.Run(() => _host!.CallAsync(method, request, database));

    /// <inheritdoc/>
    public Task<RestReply> RestAsync(string path, byte[] body, bool allowInt64) => Task.Run(() => _host!.RestAsync(path, body, allowInt64));

    /// <inheritdoc/>
    public Task ReadyAsync() => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} activating here: opening its engine over JetStream")]
    private static partial void LogActivating(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} active here, its server on loopback port {Port}")]
    private static partial void LogActivated(ILogger logger, string key, int port);
}
