using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using Quiver.Server.Hosting;
using Quiver.Storage;

namespace Quiver.Cluster.Nodes;

/// <summary>What a replica grain runs (docs/cluster.md, "Replicas"): a read-only follower of one shard. It opens its own
/// engine over the shard's storage with read-only seams: the manifest read from the shard's KV key and then kept in memory
/// (<see cref="ReadOnlyMetaStore"/>), the shard's sealed segments and indexes read from the object store and never
/// written there (<see cref="ObjectStoreFileSystem.ReadOnly"/>), and the shard's log read and followed, never appended to
/// or purged (<see cref="FollowerWal"/>). The engine is served as a Quiver server in the node's process, as a shard is (no
/// listener: <see cref="ShardServer"/>), and answers searches and queries only. A change of the shard's catalog (a
/// partition, an index, a field added) is taken by the serving engine in place; when following breaks, a fresh engine is
/// opened beside the serving one and replaces it once open.</summary>
internal sealed class ReplicaHost : IAsyncDisposable
{
    /// <summary>How far behind the log a Bounded read may be: Milvus's default <c>common.gracefulTime</c>, 5000 ms.</summary>
    public static readonly TimeSpan BoundedStaleness = TimeSpan.FromSeconds(5);

    private readonly NodeContext _node;
    private readonly string _key;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private INatsKVStore? _meta;
    private readonly Task _watch;
    private Generation _current;

    private ReplicaHost(NodeContext node, string key, Generation first, bool watch, int? index)
    {
        _node = node;
        _key = key;
        _current = first;
        _positions = index is { } i
            ? new AppliedPositions(c => ReplicaRecords.BucketAsync(node, c), ReplicaRecords.AppliedKey(key, i), AppliedPositions.SiloOf(node), () => Volatile.Read(ref _current).Positions())
            : null;
        _watch = watch ? Task.Run(() => WatchAsync(_stop.Token)) : Task.CompletedTask;
    }

    /// <summary>Records how far the serving engine has applied the shard's log, for <c>status</c> (replica grains only).</summary>
    private readonly AppliedPositions? _positions;

    /// <summary>Records no more positions (<see cref="AppliedPositions.StopAsync"/>): the replica is being released.</summary>
    public Task StopRecordingAsync() => _positions?.StopAsync() ?? Task.CompletedTask;

    private long _reads;
    private long _logEndWaits;

    /// <summary>Reads served (<see cref="ReadAsync"/>).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Reads that waited for the log's end as it was when they arrived (Strong, Bounded past its bound, Session
    /// with no write of the caller known); a Session read waits only for the caller's own writes.</summary>
    public long LogEndWaits => Interlocked.Read(ref _logEndWaits);

    /// <summary>How many engines this replica has opened (the first included).</summary>
    public int Opens { get; private set; } = 1;

    /// <summary>Opens a replica of the shard with grain key <paramref name="shardKey"/> on this node. Without
    /// <paramref name="watch"/> (tests) the replica takes changes of the shard's manifest and load state only when
    /// <see cref="RefreshAsync"/> is called, or when a followed record needs them.
    /// <paramref name="index"/> is the replica's number, under which its watch records how far it applied the log
    /// (<see cref="AppliedPositions"/>; null: nothing recorded).</summary>
    public static async Task<ReplicaHost> OpenAsync(NodeContext node, string shardKey, CancellationToken ct, bool watch = true, int? index = null) =>
        new(node, shardKey, await OpenCurrentAsync(node, shardKey, ct).ConfigureAwait(false), watch, index);

    /// <summary>Opens an engine; one whose open met a write needing a newer catalog than the manifest it read (a partition
    /// created meanwhile) is closed and opened again, a few times, before it is served broken (and replaced by the watch).</summary>
    private static async Task<Generation> OpenCurrentAsync(NodeContext node, string shardKey, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var generation = await Generation.OpenAsync(node, shardKey, ct).ConfigureAwait(false);
            if (!generation.IsBroken || attempt == 3)
            {
                return generation;
            }

            await generation.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs one read (<c>Search</c>, <c>Query</c>) once the replica has applied the log as far as
    /// <paramref name="level"/> asks: Strong waits for the log's last sequence as it is now; Bounded serves at once if
    /// the replica was caught up within <see cref="BoundedStaleness"/>, else as Strong; Session (and Customized) serves
    /// once the replica has applied writes up to <paramref name="guaranteeTs"/> (the caller's last write, as its
    /// mutation result reported it), or is caught up as Strong; Eventually serves what the replica has.</summary>
    public async Task<MilvusReply> ReadAsync(string method, byte[] request, string database, int level, long guaranteeTs, CancellationToken ct)
    {
        var generation = Volatile.Read(ref _current);
        Interlocked.Increment(ref generation.InFlight);
        try
        {
            Interlocked.Increment(ref _reads);
            if (await generation.CatchUpAsync(level, guaranteeTs, ct).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _logEndWaits);
            }

            return await generation.CallAsync(method, request, database).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref generation.InFlight);
        }
    }

    /// <summary>Runs one REST v2 read (<paramref name="path"/> below <c>/v2/vectordb</c>) as <see cref="ReadAsync"/> runs a
    /// gRPC one (a Session read's <paramref name="guaranteeTs"/> is the shard's clock after the caller's last REST write).</summary>
    public async Task<RestReply> RestReadAsync(string path, byte[] body, bool allowInt64, int level, long guaranteeTs, CancellationToken ct)
    {
        var generation = Volatile.Read(ref _current);
        Interlocked.Increment(ref generation.InFlight);
        try
        {
            Interlocked.Increment(ref _reads);
            if (await generation.CatchUpAsync(level, guaranteeTs, ct).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _logEndWaits);
            }

            return await generation.RestAsync(path, body, allowInt64).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref generation.InFlight);
        }
    }

    /// <summary>Stops watching and closes the serving engine.</summary>
    public async ValueTask DisposeAsync()
    {
        await BackgroundLoop.StopAsync(_stop, _watch).ConfigureAwait(false);
        await _current.DisposeAsync().ConfigureAwait(false);
        _refreshing.Dispose();
    }

    /// <summary>Every second: a new engine when the shard's manifest or load state (a partition loaded or released)
    /// changed or following broke; the applied positions recorded when due (<see cref="AppliedPositions"/>).</summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            try
            {
                await RefreshAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The shard's storage did not answer or changed while opening: the serving engine stays, next second tries again.
            }

            try
            {
                if (_positions is not null)
                {
                    await _positions.TickAsync(ct).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // NATS did not answer: a status report only, tried again next second.
            }
        }
    }

    /// <summary>How many times a change of the shard's manifest or saved load state was taken without opening a new
    /// engine: the change only moved rows the replica already applied from the log (a seal, a merge, a checkpoint, a
    /// delete file, an index file of a segment) or wrote the same load state again (a load of what was loaded).</summary>
    public int Kept { get; private set; }

    /// <summary>How many times a change of what the collection is (partitions, indexes, properties, field limits, aliases,
    /// databases) or of which partitions are loaded was taken by the serving engine in place, without a new engine
    /// (<see cref="RefreshAsync"/>).</summary>
    public int Adopted { get; private set; }

    /// <summary>Makes the replica serve the shard's manifest and load state as they are now, and returns once it does
    /// (a load of partitions waits for this before it answers, so a read right after it sees them). A change that only
    /// moved rows between the log and sealed segments (a seal, a merge, a checkpoint, delete and index files), or a load
    /// state rewritten with the same content, is taken as it is: the serving engine already holds those rows, applied from
    /// the log as the shard applied them, and keeps serving (<see cref="Kept"/>). A change of what the collection is
    /// (partitions, indexes, properties, field limits and metrics, aliases, databases) or of which partitions are loaded
    /// is taken by the serving engine in place (<see cref="Adopted"/>; <see cref="QuiverEngine.AdoptCatalogAsync"/>), with
    /// the followed records held back meanwhile, so that a field added is taken between the last record laid out without
    /// it and the first laid out with it. Following that broke, or a manifest the engine cannot take in place (another
    /// collection under the same key), opens a fresh engine beside the serving one and switches to it once open
    /// (<see cref="Opens"/>).</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        await _refreshing.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _meta ??= await Retry.UntilAsync(TimeSpan.FromSeconds(60), c => _node.KeyValue.GetStoreAsync($"{ShardKeys.Storage(_node.Config.Cluster, _key)}-meta", c).AsTask(), ct).ConfigureAwait(false);
            var manifest = await EntryAsync(_meta, "manifest", ct).ConfigureAwait(false);
            var loads = await EntryAsync(_meta, ShardHost.LoadStateKey, ct).ConfigureAwait(false);
            var current = Volatile.Read(ref _current);
            if (current.IsBroken)
            {
                await ReopenAsync(current, ct).ConfigureAwait(false);
                return;
            }

            if (manifest.Revision == current.Revision && loads.Revision == current.LoadStateRevision)
            {
                return;
            }

            var manifestShape = ReplicaShapes.Manifest(manifest.Value);
            var loadShape = ReplicaShapes.LoadState(loads.Value);
            if (manifestShape == current.ManifestShape && loadShape == current.LoadStateShape)
            {
                current.Revision = Math.Max(current.Revision, manifest.Revision);
                current.LoadStateRevision = loads.Revision;
                Kept++;
                return;
            }

            // What the collection is, or what is loaded, changed: taken by the serving engine in place when it can be.
            if (manifestShape != current.ManifestShape && !await current.AdoptHeldAsync(manifest.Revision, manifest.Value, ct).ConfigureAwait(false))
            {
                await ReopenAsync(current, ct).ConfigureAwait(false);
                return;
            }

            current.Revision = Math.Max(current.Revision, manifest.Revision);
            current.TakeLoadState(loads);
            Adopted++;
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private async Task ReopenAsync(Generation current, CancellationToken ct)
    {
        var next = await OpenCurrentAsync(_node, _key, ct).ConfigureAwait(false);
        Volatile.Write(ref _current, next);
        Opens++;
        _ = RetireAsync(current);
    }

    /// <summary>The partition of a logged insert or upsert (its payload's second 8 bytes: docs/format-wal.md), or null for
    /// other records and writes routed by partition key.</summary>
    private static long? PartitionOf(WalRecord record) =>
        Quiver.Shards.WalRecords.IsWrite(record.Type) && record.Payload.Length >= 16
            && System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(record.Payload.Span[8..]) is var partition && partition >= 0
            ? partition
            : null;

    /// <summary>The shard's <paramref name="key"/> as the bucket's leader holds it (<see cref="KvLeaderReads"/>): a direct
    /// get could be answered by a lagging NATS replica with an older manifest, which the replica would then take as a
    /// change and adopt, going back in time. (0, null) for a key never written or deleted.</summary>
    private static async Task<(ulong Revision, byte[]? Value)> EntryAsync(INatsKVStore meta, string key, CancellationToken ct)
    {
        var read = await KvLeaderReads.GetAsync(meta, key, ct: ct).ConfigureAwait(false);
        return read.Deleted || read.Value is null ? (0, null) : (read.Revision, read.Value);
    }

    /// <summary>Closes a replaced engine once the reads it was serving finished (at most a minute later).</summary>
    private static async Task RetireAsync(Generation old)
    {
        var clock = Stopwatch.StartNew();
        while (Volatile.Read(ref old.InFlight) > 0 && clock.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        await old.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One engine of the replica: its server, its followed logs and the manifest revision it opened at.</summary>
    private sealed class Generation : IAsyncDisposable
    {
        /// <summary>Reads running on this engine.</summary>
        public int InFlight;

        private readonly QuiverServer _server;
        private readonly GrpcChannel _channel;
        private readonly HttpClient _http;
        private readonly List<FollowerWal> _logs;
        private readonly string _folder;
        private readonly INatsKVStore _meta;
        private readonly SemaphoreSlim _adopting = new(1, 1);
        private long _freshAt;

        private Generation(QuiverServer server, List<FollowerWal> logs, string folder, INatsKVStore meta, ulong revision, string manifestShape, (ulong Revision, byte[]? Value) loadState, long freshAt)
        {
            _server = server;
            _logs = logs;
            _folder = folder;
            _meta = meta;
            Revision = revision;
            ManifestShape = manifestShape;
            LoadStateRevision = loadState.Revision;
            LoadStateShape = ReplicaShapes.LoadState(loadState.Value);
            _freshAt = freshAt;
            // In-process: no loopback port (ShardServer); the access layer's own deadline (ShardCalls) bounds a call.
            (_channel, _http) = ShardServer.Clients(server);
        }

        /// <summary>The revision of the shard's manifest this engine serves: the one it opened at, or a later one that
        /// changed only what the engine already applied from the log.</summary>
        public ulong Revision { get; set; }

        /// <summary>What the collection is in the manifest this engine opened with (<see cref="ReplicaShapes.Manifest(Quiver.Catalog.ManifestData?)"/>).</summary>
        public string ManifestShape { get; private set; }

        /// <summary>The revision of the shard's saved load state this engine serves (0: never saved).</summary>
        public ulong LoadStateRevision { get; set; }

        /// <summary>Which partitions the load state this engine opened with loads (<see cref="ReplicaShapes.LoadState"/>).</summary>
        public string LoadStateShape { get; private set; }

        /// <summary>The last sequence applied from each followed log, by stream name.</summary>
        public Dictionary<string, long> Positions()
        {
            lock (_logs)
            {
                return _logs.ToDictionary(l => l.StreamName, l => l.AppliedLsn, StringComparer.Ordinal);
            }
        }

        public bool IsBroken
        {
            get
            {
                lock (_logs)
                {
                    return _logs.Any(l => l.Broken is not null);
                }
            }
        }

        public static async Task<Generation> OpenAsync(NodeContext node, string key, CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            var name = ShardKeys.Storage(node.Config.Cluster, key);
            var folder = Path.Combine(Path.GetFullPath(node.Config.DataPath), "replicas", $"{name}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            var logs = new List<FollowerWal>();
            Generation? opened = null;
            try
            {
                var shardMeta = await KvMetaStore.OpenAsync(node.KeyValue, $"{name}-meta", "manifest", node.Config.Replicas, ct: ct).ConfigureAwait(false);
                // The manifest first, then the listing of the files: every file the manifest names was uploaded before it.
                var meta = await Task.Run(() => new ReadOnlyMetaStore(shardMeta), ct).ConfigureAwait(false);
                var atOpen = meta.Read();
                var shape = ReplicaShapes.Manifest(atOpen);
                var objects = new NatsObjContext(node.JetStream);
                var store = await Retry.UntilAsync(TimeSpan.FromSeconds(60), c => objects.GetObjectStoreAsync($"{name}-files", c).AsTask(), ct).ConfigureAwait(false);
                var files = await ObjectStoreFileSystem.OpenAsync(store, folder, "data", ct: ct, readOnly: true).ConfigureAwait(false);
                var walOptions = new JetStreamWalOptions { Replicas = node.Config.Replicas };
                var engine = new QuiverOptions
                {
                    MetaStore = meta,
                    SharedBm25Statistics = true,
                    FileSystem = files,
                    WalFactory = collectionId =>
                    {
                        var log = FollowerWal.Open(node.JetStream, JetStreamWal.StreamFor(name, collectionId), walOptions);
                        // A write to a partition created after the manifest was read, or laid out with fields added after
                        // it: the open cannot place its rows.
                        var known = atOpen?.Collections.FirstOrDefault(c => c.Id == collectionId);
                        log.NewerThanOpen = record => (PartitionOf(record) is { } partition && partition >= (atOpen?.NextId ?? 0)
                                && known?.Partitions.Any(p => p.Id == partition) != true)
                            || Quiver.Shards.WalRecords.FieldCount(record.Type, record.Payload.Span) > (known?.Schema.Fields.Length ?? int.MaxValue);
                        log.BeforeFollowed = (record, c) => opened!.BeforeRecordAsync(collectionId, record, c);
                        lock (logs)
                        {
                            logs.Add(log);
                        }

                        return log;
                    },
                };
                var metaBucket = await node.KeyValue.GetStoreAsync($"{name}-meta", ct).ConfigureAwait(false);
                // The state as read here before the server reads it again: a change in between is seen as a change and opens again.
                var loadState = await EntryAsync(metaBucket, ShardHost.LoadStateKey, ct).ConfigureAwait(false);
                await ShardHost.RestoreLoadStateAsync(metaBucket, folder, ct).ConfigureAwait(false);
                var server = await QuiverServer.StartAsync(NodeSecurity.ShardOptions(node.Config, folder, engine), cancellationToken: ct).ConfigureAwait(false);
                // Everything acknowledged before the open began was replayed.
                opened = new Generation(server, logs, folder, metaBucket, meta.Revision, shape, loadState, started);
                lock (logs)
                {
                    foreach (var log in logs)
                    {
                        log.StartFollowing();
                    }
                }

                return opened;
            }
            catch
            {
                foreach (var log in logs)
                {
                    await log.DisposeAsync().ConfigureAwait(false);
                }

                Directory.Delete(folder, recursive: true);
                throw;
            }
        }

        /// <summary><see cref="AdoptAsync"/> with every followed log held back (<see cref="FollowerWal.HoldAsync"/>): the
        /// records applied meanwhile would otherwise race the change (a row laid out with a field added landing in a
        /// growing segment without it).</summary>
        public async Task<bool> AdoptHeldAsync(ulong revision, byte[]? json, CancellationToken ct)
        {
            FollowerWal[] logs;
            lock (_logs)
            {
                logs = [.. _logs];
            }

            var held = new List<IDisposable>(logs.Length);
            try
            {
                foreach (var log in logs)
                {
                    held.Add(await log.HoldAsync(ct).ConfigureAwait(false));
                }

                return await AdoptAsync(revision, json, ct).ConfigureAwait(false);
            }
            finally
            {
                foreach (var h in held)
                {
                    h.Dispose();
                }
            }
        }

        /// <summary>Takes the shard's manifest at <paramref name="revision"/> (<paramref name="json"/>) in the serving engine
        /// (<see cref="QuiverEngine.AdoptCatalogAsync"/>); true when it did, or already serves a later revision; false
        /// when the engine cannot take it in place (other collections, fields laid out otherwise, a manifest that does not
        /// read). Called while the records of the logs are held back: from the watch by <see cref="AdoptHeldAsync"/>, from
        /// a log by <see cref="BeforeRecordAsync"/>.</summary>
        public async Task<bool> AdoptAsync(ulong revision, byte[]? json, CancellationToken ct)
        {
            await _adopting.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (revision <= Revision)
                {
                    return true;
                }

                if (ReplicaShapes.Parse(json) is not { } manifest || !await _server.Engine.AdoptCatalogAsync(manifest, ct).ConfigureAwait(false))
                {
                    return false;
                }

                Revision = revision;
                ManifestShape = ReplicaShapes.Manifest(manifest);
                return true;
            }
            finally
            {
                _adopting.Release();
            }
        }

        /// <summary>Takes the shard's saved load state (which partitions are loaded) in the serving server.</summary>
        public void TakeLoadState((ulong Revision, byte[]? Value) loads)
        {
            var shape = ReplicaShapes.LoadState(loads.Value);
            if (shape != LoadStateShape)
            {
                _server.Services.GetRequiredService<Quiver.Server.Milvus.LoadStates>().Replace(loads.Value);
                LoadStateShape = shape;
            }

            LoadStateRevision = loads.Revision;
        }

        /// <summary>Before a followed write is applied: when it goes to a partition the engine does not know, the shard
        /// created that partition after the catalog the engine serves, and recorded it in its manifest before it logged
        /// the write; when its rows hold more fields than the engine's schema, the shard added them (and recorded them in
        /// its manifest) before it logged the write. The manifest is read until it is at least as new as the write (its
        /// next id is past the partition's id, its schema has the write's fields; a KV read may come from a lagging
        /// server) and taken in place, so the write's rows land in the partition instead of being skipped as rows of a
        /// dropped one are, and are decoded with the fields they hold.</summary>
        public async Task BeforeRecordAsync(long collectionId, WalRecord record, CancellationToken ct)
        {
            var partition = PartitionOf(record) is { } p && !_server.Engine.HasPartition(collectionId, p) ? p : (long?)null;
            var fields = Quiver.Shards.WalRecords.FieldCount(record.Type, record.Payload.Span) is { } n && n > (_server.Engine.FieldCount(collectionId) ?? int.MaxValue) ? n : (int?)null;
            if (partition is null && fields is null)
            {
                return;
            }

            var waited = Stopwatch.StartNew();
            while (true)
            {
                var entry = await EntryAsync(_meta, "manifest", ct).ConfigureAwait(false);
                if (ReplicaShapes.Parse(entry.Value) is { } manifest && (partition is null || manifest.NextId > partition)
                    && (fields is null || manifest.Collections.FirstOrDefault(c => c.Id == collectionId)?.Schema.Fields.Length >= fields))
                {
                    if (!await AdoptAsync(entry.Revision, entry.Value, ct).ConfigureAwait(false))
                    {
                        throw new InvalidOperationException($"the write at {record.Lsn} needs the shard's catalog, which the replica's engine cannot take in place");
                    }

                    return;
                }

                if (waited.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException(partition is not null
                        ? $"the write at {record.Lsn} goes to partition {partition}, which the shard's manifest did not show within a minute"
                        : $"the write at {record.Lsn} holds {fields} fields, which the shard's manifest did not show within a minute");
                }

                await Task.Delay(20, ct).ConfigureAwait(false);
            }
        }

        /// <summary>Waits until the engine has applied the log as far as <paramref name="level"/> asks; true when the
        /// read waited for the log's end as it was when the read arrived (Strong, or a level whose bound was not met).</summary>
        public async Task<bool> CatchUpAsync(int level, long guaranteeTs, CancellationToken ct)
        {
            FollowerWal[] logs;
            lock (_logs)
            {
                logs = [.. _logs];
            }

            switch (level)
            {
                case 3: // Eventually
                    return false;
                case 2 when Stopwatch.GetElapsedTime(Interlocked.Read(ref _freshAt)) <= BoundedStaleness: // Bounded
                    return false;
                case 1 or 4 when guaranteeTs > 0: // Session, Customized
                {
                    // The caller's writes are records at or past its timestamp: wait for them, not for the writes that
                    // came after them. A write already below the checkpoint this engine opened from has no record left
                    // to reach: the log's end as it is now bounds the wait.
                    foreach (var log in logs)
                    {
                        if (log.AppliedTs >= guaranteeTs)
                        {
                            continue;
                        }

                        var end = await log.LastSequenceAsync(ct).ConfigureAwait(false);
                        await log.WaitAsync(l => l.AppliedTs >= guaranteeTs || l.AppliedLsn >= end, ct).ConfigureAwait(false);
                    }

                    return false;
                }

                default:
                    break;
            }

            // Strong (and the other levels when their bound is not met): the log's end now, then wait until applied.
            var probe = Stopwatch.GetTimestamp();
            foreach (var log in logs)
            {
                var last = await log.LastSequenceAsync(ct).ConfigureAwait(false);
                await log.WaitAsync(l => l.AppliedLsn >= last, ct).ConfigureAwait(false);
            }

            var fresh = Interlocked.Read(ref _freshAt);
            if (probe > fresh)
            {
                Interlocked.CompareExchange(ref _freshAt, probe, fresh);
            }

            return true;
        }

        public async Task<MilvusReply> CallAsync(string method, byte[] request, string database)
        {
            if (method == ShardBm25.Method)
            {
                return ShardBm25.Answer(_server, request, database);
            }

            var call = new Method<byte[], byte[]>(MethodType.Unary, MilvusRouting.ServiceName, method, MilvusRouting.Bytes, MilvusRouting.Bytes);
            try
            {
                var response = await _channel.CreateCallInvoker().AsyncUnaryCall(call, null, new CallOptions(new Metadata { { "dbname", database } }), request).ConfigureAwait(false);
                return new MilvusReply(0, "", response);
            }
            catch (RpcException ex)
            {
                return new MilvusReply((int)ex.StatusCode, ex.Status.Detail, []);
            }
        }

        public async Task<RestReply> RestAsync(string path, byte[] body, bool allowInt64)
        {
            var (status, answer) = await RestForward.PostAsync(_http, path, body, allowInt64).ConfigureAwait(false);
            return new RestReply(status, answer);
        }

        public async ValueTask DisposeAsync()
        {
            _channel.Dispose();
            _http.Dispose();
            await _server.DisposeAsync().ConfigureAwait(false);
            foreach (var log in _logs)
            {
                await log.DisposeAsync().ConfigureAwait(false);
            }

            _adopting.Dispose();

            Directory.Delete(_folder, recursive: true);
        }
    }
}
