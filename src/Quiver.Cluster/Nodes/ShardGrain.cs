using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Quiver.Cluster.Nodes;

/// <summary>A collection shard's single activation: it owns the shard's write path (its log position on JetStream, its
/// growing data, its sealing into the object store) through a <see cref="ShardHost"/>. A write is acknowledged after the
/// engine's log append, which JetStream acknowledged (two of three servers stored it). When the node dies, Orleans
/// activates the shard on another node, which opens the same storage and so resumes from the checkpoint, replaying the
/// log after it. Calls run concurrently (the engine is thread-safe).
/// <para>The engine opens after the activation, not within it: Orleans cancels an activation that has not finished
/// within its activation timeout (30 s), and opening a shard over JetStream (its streams, buckets and object store made
/// or read, the engine's log replayed, its server started) has taken longer on a loaded machine, so the first call to a
/// new shard (a create) failed with the activation's cancellation, and every call sent again started the open anew.
/// Now the activation only starts the open, and each call waits for it; a call whose response timed out meanwhile is sent
/// again by the access layer (<see cref="ShardCalls"/>) to the same activation, where the same open goes on. An open that
/// fails deactivates the grain, so that the next call activates it again and opens anew.</para></summary>
[Reentrant]
internal sealed partial class ShardGrain(NodeContext node, ILogger<ShardGrain> log) : OpenAfterActivation<ShardHost>, IShardGrain
{
    /// <summary>Opens the shard's engine (<see cref="ShardHost"/>) and records where it runs.</summary>
    protected override async Task<ShardHost> OpenAsync(string key, CancellationToken ct)
    {
        LogActivating(log, key);
        if (node.BeforeOpen is { } before)
        {
            await before(key, ct).ConfigureAwait(true);
        }

        var zone = await DatabaseTimezoneAsync(key).ConfigureAwait(true);
        // Off the grain's scheduler: opening the engine blocks on JetStream (the meta store reads synchronously).
        var host = await Task.Run(() => ShardHost.OpenAsync(node, key, zone, ct), ct).ConfigureAwait(true);
        try
        {
            // Where the shard lives, for `status` (ClusterStatus); a shard that moves overwrites it.
            await Task.Run(() => ClusterStatus.RecordPlacementAsync(node, key, ct), ct).ConfigureAwait(true);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(true);
            throw;
        }

        LogActivated(log, key, host.Port);
        return host;
    }

    /// <inheritdoc/>
    protected override void OnOpenFailed(string key, Exception exception) => LogOpenFailed(log, key, exception);

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
    public async Task<MilvusReply> CallAsync(string method, byte[] request, string database)
    {
        var host = await Opening.ConfigureAwait(true);
        return await Task.Run(() => host.CallAsync(method, request, database)).ConfigureAwait(true);
    }

    /// <inheritdoc/>
    public async Task<RestReply> RestAsync(string path, byte[] body, bool allowInt64)
    {
        var host = await Opening.ConfigureAwait(true);
        return await Task.Run(() => host.RestAsync(path, body, allowInt64)).ConfigureAwait(true);
    }

    /// <inheritdoc/>
    public Task ReadyAsync() => Opening;

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} activating here: opening its engine over JetStream")]
    private static partial void LogActivating(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} active here, its server on loopback port {Port}")]
    private static partial void LogActivated(ILogger logger, string key, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shard {Key} could not open its engine here; the next call opens it again")]
    private static partial void LogOpenFailed(ILogger logger, string key, Exception exception);
}
