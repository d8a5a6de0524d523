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
/// fails deactivates the grain, so that the next call activates it again and opens anew.</para>
/// <para>Where it runs: <see cref="ShardPlacementDirector"/> spreads a collection's shards over the live nodes. A node
/// that joins takes its share: each shard checks every <see cref="NodeContext.ShardRebalancePeriod"/> whether the rule
/// places it elsewhere among the live nodes, and once the live set has stayed the same for a whole period, moves there
/// (Orleans's migration: this activation closes its engine, the new one opens the same storage and replays the log).</para></summary>
[Reentrant]
[ShardPlacement]
internal sealed partial class ShardGrain(NodeContext node, IClusterMembershipService membership, ILocalSiloDetails here, ILogger<ShardGrain> log) : OpenAfterActivation<ShardHost>, IShardGrain
{
    /// <summary>The live silos the last rebalance check saw, in endpoint order (null before the first).</summary>
    private string? _liveSeen;

    /// <inheritdoc/>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        this.RegisterGrainTimer(RebalanceAsync, new GrainTimerCreationOptions(node.ShardRebalancePeriod, node.ShardRebalancePeriod) { Interleave = true, KeepAlive = false });
        return base.OnActivateAsync(cancellationToken);
    }

    /// <summary>Moves the shard to the node <see cref="ShardPlacementDirector.Choose"/> names among the live nodes, when
    /// that is not this one, the shard is open here, and the live set is the one the previous check saw (a node that
    /// just joined or died has settled: shards do not move back and forth while membership changes).</summary>
    private Task RebalanceAsync(CancellationToken ct)
    {
        var live = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToArray();
        var seen = string.Join(',', live.Select(ReplicaRecords.Endpoint).Order(StringComparer.Ordinal));
        var settled = seen == _liveSeen;
        _liveSeen = seen;
        if (settled && live.Length > 0 && Opening.IsCompletedSuccessfully)
        {
            var key = this.GetPrimaryKeyString();
            var chosen = ShardPlacementDirector.Choose(key, live);
            if (!chosen.Equals(here.SiloAddress))
            {
                LogMoving(log, key, ReplicaRecords.Endpoint(chosen));
                this.MigrateOnIdle();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Opens the shard's engine (<see cref="ShardHost"/>) and records where it runs.</summary>
    protected override async Task<ShardHost> OpenAsync(string key, CancellationToken ct)
    {
        LogActivating(log, key);
        if (node.BeforeOpen is { } before)
        {
            await before(key, ct).ConfigureAwait(true);
        }

        var (database, id) = IdOf(key);
        if (id != ShardKeys.CatalogShard && await Task.Run(() => node.Catalog.IsDroppedAsync(database, id, ct), ct).ConfigureAwait(true))
        {
            // A call routed by a node's remembered entry of a dropped collection, after the shard's grain closed: nothing
            // is opened (opening would create empty streams and buckets under the dropped id that nothing deletes); the
            // call is answered as one that reached the closing grain, which the node routes again by the current entry.
            throw Dropped(key);
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

        LogActivated(log, key);
        return host;
    }

    /// <inheritdoc/>
    protected override void OnOpenFailed(string key, Exception exception)
    {
        if (exception is QuiverException dropped && SaysDropped(dropped.Message))
        {
            LogDroppedOpen(log, key);
            return;
        }

        LogOpenFailed(log, key, exception);
    }

    /// <inheritdoc/>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await base.OnDeactivateAsync(reason, cancellationToken).ConfigureAwait(true);
        node.ShardDeactivated?.Invoke(this.GetPrimaryKeyString());
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

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} active here, its server in-process")]
    private static partial void LogActivated(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} moving to node {Silo}, where the live nodes now place it")]
    private static partial void LogMoving(ILogger logger, string key, string silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "shard {Key} belongs to a dropped collection: nothing opened, the call answered that it was dropped")]
    private static partial void LogDroppedOpen(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "shard {Key} could not open its engine here; the next call opens it again")]
    private static partial void LogOpenFailed(ILogger logger, string key, Exception exception);
}
