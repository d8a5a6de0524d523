using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Quiver.Cluster.Nodes;

/// <summary>One loaded replica of a shard (docs/cluster.md, "Replicas"): key <c>{shard key}#{index}</c>, placed by
/// <see cref="ReplicaPlacementDirector"/> on a node that holds no other replica of the same shard. It serves searches
/// and queries from a read-only follower of the shard (<see cref="ReplicaHost"/>); it never writes the shard's log or
/// catalog.</summary>
internal interface IReplicaGrain : IGrainWithStringKey
{
    /// <summary>Runs a read once the replica has applied the log as far as consistency level <paramref name="level"/>
    /// (Milvus's enum: 0 Strong, 1 Session, 2 Bounded, 3 Eventually, 4 Customized) and
    /// <paramref name="guaranteeTs"/> ask (<see cref="ReplicaHost.ReadAsync"/>); <paramref name="request"/> passed as it is
    /// (<see cref="IShardGrain.CallAsync"/>).</summary>
    Task<MilvusReply> ReadAsync(string method, [Immutable] byte[] request, string database, int level, long guaranteeTs);

    /// <summary>Runs a REST v2 read (<c>/entities/search</c>, <c>query</c>, <c>get</c>, <c>hybrid_search</c>) once the
    /// replica has applied the log as far as consistency level <paramref name="level"/> and <paramref name="guaranteeTs"/>
    /// ask (as <see cref="ReadAsync"/>); <paramref name="allowInt64"/> is the caller's <c>Accept-Type-Allow-Int64</c>.</summary>
    Task<RestReply> RestReadAsync(string path, [Immutable] byte[] body, bool allowInt64, int level, long guaranteeTs);

    /// <summary>Where the replica runs (activating it if it is not active: on a live node, after its node died).</summary>
    Task<ReplicaPlace> PlaceAsync();

    /// <summary>Closes the replica (the collection was released or dropped, or loaded with fewer replicas).</summary>
    Task ReleaseAsync();

    /// <summary>Returns once the replica serves the shard's manifest and load state as they are now
    /// (<see cref="ReplicaHost.RefreshAsync"/>): after a load of partitions.</summary>
    Task RefreshAsync();
}

/// <summary>Where a replica runs: Milvus's node id for the node (<see cref="ReplicaRecords.NodeId"/>), the node's Milvus
/// endpoint and its silo endpoint.</summary>
[GenerateSerializer]
[Immutable]
internal sealed record ReplicaPlace(
    [property: Id(0)] long NodeId,
    [property: Id(1)] string Milvus,
    [property: Id(2)] string Silo);

/// <summary>The placement strategy of replica grains: distinct nodes for the replicas of one shard.</summary>
[GenerateSerializer]
[Immutable]
internal sealed class ReplicaPlacement : PlacementStrategy;

/// <summary>Puts a grain class under <see cref="ReplicaPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class ReplicaPlacementAttribute() : PlacementAttribute(new ReplicaPlacement());

/// <summary>Places replica <c>i</c> of a shard where the collection's <see cref="IReplicaSetGrain"/> decides: a live node
/// that no other replica index of the collection occupies. Every decision for one collection is made in a turn of that
/// single activation, so decisions racing on several nodes (two loads, a load and a failover) never pick the same free
/// node. Should the set grain not answer (its node is dying), the replica is placed by the records alone, as before.</summary>
internal sealed partial class ReplicaPlacementDirector(NodeContext node, IGrainFactory grains, ILogger<ReplicaPlacementDirector> log) : IPlacementDirector
{
    /// <summary>How long a placement waits for the set grain before placing by the records alone.</summary>
    private static readonly TimeSpan ChooseTimeout = TimeSpan.FromSeconds(20);

    /// <inheritdoc/>
    public async Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(ReplicaRecords.Endpoint, StringComparer.Ordinal).ToArray();
        var (shard, index) = ReplicaRecords.Parse(target.GrainIdentity.Key.ToString()!);
        var (collection, shardNumber) = ReplicaSetGrain.ShardOf(shard);
        try
        {
            // Off the caller's scheduler: the set grain may itself be the caller, awaiting this activation.
            var endpoints = silos.Select(ReplicaRecords.Endpoint).ToArray();
            var chosen = await Task.Run(() => grains.GetGrain<IReplicaSetGrain>(collection).ChooseAsync(shardNumber, index, endpoints).WaitAsync(ChooseTimeout)).ConfigureAwait(false);
            if (silos.FirstOrDefault(s => ReplicaRecords.Endpoint(s) == chosen) is { } silo)
            {
                return silo;
            }
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or QuiverException)
        {
            // The set grain's node is dying, or it could not read the records (GrainBoundary): place by the records below.
            LogByRecords(log, shard, index, ex.Message);
        }

        var count = await ReplicaRecords.CountAsync(node, collection, CancellationToken.None).ConfigureAwait(false);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            if (i != index && await ReplicaRecords.PlaceOfAsync(node, shard, i, CancellationToken.None).ConfigureAwait(false) is { } place)
            {
                taken.Add(place.Silo);
            }
        }

        var free = silos.Where(s => !taken.Contains(ReplicaRecords.Endpoint(s))).ToArray();
        var from = free.Length > 0 ? free : silos;
        return from[index % from.Length];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "replica {Index} of {Shard} placed by the records alone: the set grain did not answer ({Reason})")]
    private static partial void LogByRecords(ILogger logger, string shard, int index, string reason);
}

/// <summary>The cluster's record of loaded replicas, KV bucket <c>{cluster}-replicas</c>: key <c>n.{database}.{collection}</c>
/// holds how many replicas the collection was loaded with, key <c>p.{database}.{collection}.{index}</c> where replica
/// <c>index</c> last activated.</summary>
internal static class ReplicaRecords
{
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The bucket's name.</summary>
    public static string Bucket(string cluster) => $"{cluster}-replicas";

    /// <summary>The grain key of replica <paramref name="index"/> of shard <paramref name="shardKey"/>.</summary>
    public static string GrainKey(string shardKey, int index) => $"{shardKey}#{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The shard key and index of a replica's grain key.</summary>
    public static (string Shard, int Index) Parse(string grainKey)
    {
        var hash = grainKey.LastIndexOf('#');
        return (grainKey[..hash], int.Parse(grainKey[(hash + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>A silo's endpoint as <c>host:port</c> (the form <see cref="NodeConfig"/> gives).</summary>
    public static string Endpoint(SiloAddress silo) => $"{silo.Endpoint.Address}:{silo.Endpoint.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Milvus's node id of the node whose silo is at <paramref name="silo"/>: a positive 31-bit FNV-1a hash of the
    /// endpoint, the same on every node and across restarts of the node.</summary>
    public static long NodeId(string silo)
    {
        var hash = 2166136261u;
        foreach (var c in silo)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash & 0x7FFFFFFF;
    }

    /// <summary>How many replicas the collection of shard <paramref name="shardKey"/> is loaded with; 0 when it was not
    /// loaded with several.</summary>
    public static async Task<int> CountAsync(NodeContext node, string shardKey, CancellationToken ct)
    {
        var value = await GetAsync(node, CountKey(shardKey), ct).ConfigureAwait(false);
        return value is null ? 0 : int.Parse(System.Text.Encoding.UTF8.GetString(value), CultureInfo.InvariantCulture);
    }

    /// <summary>Records the collection's replica count (0 removes it).</summary>
    public static async Task SetCountAsync(NodeContext node, string shardKey, int count, CancellationToken ct)
    {
        var store = await StoreAsync(node, ct).ConfigureAwait(false);
        if (count == 0)
        {
            await Retry.UntilAsync(RetryTimeout, async c =>
            {
                await store.DeleteAsync(CountKey(shardKey), cancellationToken: c).ConfigureAwait(false);
                return true;
            }, ct).ConfigureAwait(false);
            return;
        }

        var value = System.Text.Encoding.UTF8.GetBytes(count.ToString(CultureInfo.InvariantCulture));
        await Retry.UntilAsync(RetryTimeout, c => store.PutAsync(CountKey(shardKey), value, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
    }

    /// <summary>Where replica <paramref name="index"/> last activated, or null.</summary>
    public static async Task<ReplicaPlace?> PlaceOfAsync(NodeContext node, string shardKey, int index, CancellationToken ct) =>
        await GetAsync(node, PlaceKey(shardKey, index), ct).ConfigureAwait(false) is { } value ? JsonSerializer.Deserialize<ReplicaPlace>(value) : null;

    /// <summary>Records where replica <paramref name="index"/> runs.</summary>
    public static async Task RecordAsync(NodeContext node, string shardKey, int index, ReplicaPlace place, CancellationToken ct)
    {
        var store = await StoreAsync(node, ct).ConfigureAwait(false);
        var value = JsonSerializer.SerializeToUtf8Bytes(place);
        await Retry.UntilAsync(RetryTimeout, c => store.PutAsync(PlaceKey(shardKey, index), value, cancellationToken: c).AsTask(), ct).ConfigureAwait(false);
    }

    /// <summary>Forgets where replica <paramref name="index"/> ran and how far it applied the log.</summary>
    public static async Task ForgetAsync(NodeContext node, string shardKey, int index, CancellationToken ct)
    {
        var store = await StoreAsync(node, ct).ConfigureAwait(false);
        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            await store.DeleteAsync(PlaceKey(shardKey, index), cancellationToken: c).ConfigureAwait(false);
            await store.DeleteAsync(AppliedKey(shardKey, index), cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>The key of the collection's replica count (<paramref name="shardKey"/>: the collection's shard-0 key).</summary>
    public static string CountKey(string shardKey) => $"n.{shardKey.Replace('/', '.')}";

    /// <summary>The key of how far replica <paramref name="index"/> of shard <paramref name="shardKey"/> applied its log
    /// (<see cref="AppliedPositions"/>).</summary>
    public static string AppliedKey(string shardKey, int index) => $"a.{shardKey.Replace('/', '.')}.{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The bucket, for the applied-position records of replicas on <paramref name="node"/>.</summary>
    public static Task<INatsKVStore> BucketAsync(NodeContext node, CancellationToken ct) => StoreAsync(node, ct);

    /// <summary>The key of where replica <paramref name="index"/> of shard <paramref name="shardKey"/> last activated.</summary>
    public static string PlaceKey(string shardKey, int index) => $"p.{shardKey.Replace('/', '.')}.{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The bucket, opened once per node (<see cref="StoreAsync"/>).</summary>
    private static readonly ConditionalWeakTable<NodeContext, OpenBucket> Stores = [];

    /// <summary>The node's handle on the bucket: opened by the first read or write and kept, so the placement decisions
    /// racing on a node (every replica of every shard at a load) do not each ask JetStream for the bucket, and never race
    /// to create it (<see cref="KvBuckets"/>). An opening that failed is forgotten, and the next call opens again.</summary>
    private static async Task<INatsKVStore> StoreAsync(NodeContext node, CancellationToken ct)
    {
        var open = Stores.GetValue(node, _ => new OpenBucket());
        Task<INatsKVStore> opening;
        lock (open)
        {
            opening = open.Opening ??= KvBuckets.OpenAsync(node.KeyValue, Bucket(node.Config.Cluster), node.Config.Replicas, RetryTimeout, CancellationToken.None);
        }

        try
        {
            return await opening.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception) when (opening.IsFaulted)
        {
            lock (open)
            {
                if (open.Opening == opening)
                {
                    open.Opening = null;
                }
            }

            throw;
        }
    }

    private static async Task<byte[]?> GetAsync(NodeContext node, string key, CancellationToken ct)
    {
        var store = await StoreAsync(node, ct).ConfigureAwait(false);
        return await Retry.UntilAsync(RetryTimeout, c => KvLeaderReads.ValueAsync(store, key, c), ct).ConfigureAwait(false);
    }
}

/// <summary>One node's opening of the replicas bucket (<see cref="ReplicaRecords"/>).</summary>
internal sealed class OpenBucket
{
    /// <summary>The opening under way or done; null before the first and after a failed one.</summary>
    public Task<INatsKVStore>? Opening { get; set; }
}

/// <summary>A replica's activation: opens the follower (<see cref="ReplicaHost"/>) and records where it runs.
/// <para>The follower opens after the activation, not within it, as a shard's engine does (<see cref="ShardGrain"/>):
/// Orleans cancels an activation that has not finished within its activation timeout (30 s), and opening a follower
/// over JetStream (the shard's manifest read, its sealed segments fetched from the object store, the log replayed from
/// the checkpoint) can take longer on a loaded machine; each call sent again then started the open anew, to be
/// cancelled in turn. Now the activation only starts the open, and each call waits for it; an open that fails (among
/// them a replica the collection no longer has) deactivates the grain, so that the next call opens anew
/// (<see cref="OpenAfterActivation{THost}"/>).</para></summary>
[Reentrant]
[ReplicaPlacement]
internal sealed partial class ReplicaGrain(NodeContext node, IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails here, ILogger<ReplicaGrain> log) : OpenAfterActivation<ReplicaHost>, IReplicaGrain
{
    /// <summary>How long an open waits for the set grain to confirm the replica's node before opening where it is.</summary>
    private static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Opens the follower and records where it runs.</summary>
    protected override async Task<ReplicaHost> OpenAsync(string key, CancellationToken ct)
    {
        var (shard, index) = ReplicaRecords.Parse(key);
        LogActivating(log, key);
        if (node.BeforeOpen is { } before)
        {
            await before(key, ct).ConfigureAwait(true);
        }

        if (index >= await Task.Run(() => ReplicaRecords.CountAsync(node, ReplicaSetGrain.ShardOf(shard).Collection, ct), ct).ConfigureAwait(true))
        {
            // A read or release racing a release: the collection no longer has this replica, so none is opened.
            throw new QuiverException(QuiverErrorCode.NotFound, $"replica {index} of '{shard}' {NotLoaded}");
        }

        if (await MisplacedAsync(shard, index, ct).ConfigureAwait(true) is { } chosen)
        {
            // Orleans runs placement only where a caller knows no address for the grain: a caller that still had the
            // node of an earlier activation of this replica (one refused, or closed by a racing load, there) in its
            // cache had it activated on that node again, where another replica of the collection may run now (racing
            // loads of 3, 2, 3 replicas put replicas 1 and 2 on one node so). It moves to the node the set grain chose
            // (migration runs the placement director); the calls waiting on this open are stopped and sent again.
            LogMisplaced(log, key, chosen);
            this.MigrateOnIdle();
            throw new GrainMovingException($"replica {index} of '{shard}' is moving to {chosen}, the node its collection's replica set chose");
        }

        var host = await Task.Run(() => ReplicaHost.OpenAsync(node, shard, ct, index: index), ct).ConfigureAwait(true);
        try
        {
            await Task.Run(() => ReplicaRecords.RecordAsync(node, shard, index, Here(), ct), ct).ConfigureAwait(true);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(true);
            throw;
        }

        LogActivated(log, key);
        return host;
    }

    /// <summary>The node (<c>host:port</c>) the collection's <see cref="IReplicaSetGrain"/> chooses for this replica
    /// among the live ones, when it is not this one; null when it is this one or the set grain does not answer (the
    /// replica then opens where it is, as a placement by the records alone would).</summary>
    private async Task<string?> MisplacedAsync(string shard, int index, CancellationToken ct)
    {
        var (collection, shardNumber) = ReplicaSetGrain.ShardOf(shard);
        var live = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => ReplicaRecords.Endpoint(m.SiloAddress)).ToArray();
        var mine = ReplicaRecords.Endpoint(here.SiloAddress);
        try
        {
            var chosen = await Task.Run(() => grains.GetGrain<IReplicaSetGrain>(collection).ChooseAsync(shardNumber, index, live).WaitAsync(ConfirmTimeout, ct), ct).ConfigureAwait(true);
            return chosen == mine || !live.Contains(chosen) ? null : chosen;
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or QuiverException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    protected override void OnOpenFailed(string key, Exception exception) => LogOpenFailed(log, key, exception.Message);

    /// <inheritdoc/>
    protected override void OnClosing(ReplicaHost host) =>
        LogClosing(log, this.GetPrimaryKeyString(), host.Reads, host.LogEndWaits, host.Opens, host.Kept, host.Adopted);

    /// <inheritdoc/>
    public async Task<MilvusReply> ReadAsync(string method, [Immutable] byte[] request, string database, int level, long guaranteeTs)
    {
        var host = await Opening.ConfigureAwait(true);
        return await Task.Run(() => host.ReadAsync(method, request, database, level, guaranteeTs, CancellationToken.None)).ConfigureAwait(true);
    }

    /// <inheritdoc/>
    public async Task<RestReply> RestReadAsync(string path, [Immutable] byte[] body, bool allowInt64, int level, long guaranteeTs)
    {
        var host = await Opening.ConfigureAwait(true);
        return await Task.Run(() => host.RestReadAsync(path, body, allowInt64, level, guaranteeTs, CancellationToken.None)).ConfigureAwait(true);
    }

    /// <inheritdoc/>
    public async Task<ReplicaPlace> PlaceAsync()
    {
        await Opening.ConfigureAwait(true);
        return Here();
    }

    /// <inheritdoc/>
    public async Task RefreshAsync()
    {
        var host = await Opening.ConfigureAwait(true);
        await Task.Run(() => host.RefreshAsync(CancellationToken.None)).ConfigureAwait(true);
    }

    /// <inheritdoc/>
    public async Task ReleaseAsync()
    {
        try
        {
            // An open under way records where the replica runs when it ends: the record is forgotten after that, and
            // the follower records no more positions (a record under way is written first).
            var host = await Opening.ConfigureAwait(true);
            await host.StopRecordingAsync().ConfigureAwait(true);
        }
        catch (Exception)
        {
            // Nothing opened, so nothing more is recorded; the record is forgotten all the same.
        }

        var (shard, index) = ReplicaRecords.Parse(this.GetPrimaryKeyString());
        await Task.Run(() => ReplicaRecords.ForgetAsync(node, shard, index, CancellationToken.None)).ConfigureAwait(true);
        DeactivateOnIdle();
    }

    /// <summary>The end of the refusal of a replica the collection's count does not include.</summary>
    private const string NotLoaded = "is not loaded";

    /// <summary>True for a replica's refusal to open because the count it read did not include it.</summary>
    internal static bool IsNotLoaded(Exception ex) =>
        ex is QuiverException { Code: QuiverErrorCode.NotFound } refused && refused.Message.EndsWith(NotLoaded, StringComparison.Ordinal);

    private ReplicaPlace Here()
    {
        var silo = $"{node.Config.Host}:{node.Config.SiloPort.ToString(CultureInfo.InvariantCulture)}";
        return new ReplicaPlace(ReplicaRecords.NodeId(silo), $"{node.Config.Host}:{node.MilvusPort.ToString(CultureInfo.InvariantCulture)}", silo);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Key} activating here: opening a read-only follower of its shard")]
    private static partial void LogActivating(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Key} active here")]
    private static partial void LogActivated(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Key} activated here, but its collection's replica set chose {Chosen}: moving there")]
    private static partial void LogMisplaced(ILogger logger, string key, string chosen);

    [LoggerMessage(Level = LogLevel.Warning, Message = "replica {Key} could not open here ({Reason}); the next call opens it again")]
    private static partial void LogOpenFailed(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "replica {Key} closing: {Reads} reads, {LogEndWaits} waited for the log's end, {Opens} engines opened, {Kept} shard changes taken without a new engine, {Adopted} catalog or load changes taken in place")]
    private static partial void LogClosing(ILogger logger, string key, long reads, long logEndWaits, int opens, int kept, int adopted);
}
