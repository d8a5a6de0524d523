using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>The access layer's part for replicas (docs/cluster.md, "Replicas"): <c>LoadCollection</c> with
/// <c>replica_number</c> N &gt; 1 places N replica grains of the collection's shard on distinct nodes; searches and
/// queries then go to the replicas in turn (one whose node does not answer is retried on the next) at the request's
/// consistency level; <c>GetReplicas</c> reports them; release and drop close them. Writes stay with the shard; their
/// timestamps are kept per client for Session reads.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>Milvus's resource group, the only one a Quiver cluster has.</summary>
    private const string DefaultResourceGroup = "__default_resource_group";

    /// <summary>How long one try of a read on a replica may take before the next replica is asked.</summary>
    private static readonly TimeSpan ReplicaAttemptTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The last write timestamp of each client (its <c>identifier</c> header, else its address) per shard (each
    /// shard's engine has its own clock): what a Session read must see on that shard's replica. Bounded (SessionWrites.cs).</summary>
    private readonly SessionWrites _sessionWrites = new();

    /// <summary>The replica count of each collection this node read or wrote last (ReplicaCounts.cs); a read whose
    /// replicas are gone reads the count again (<see cref="ReadOnReplicasAsync"/>).</summary>
    private readonly ReplicaCounts _replicaCounts = new(node);

    private int _nextReplica;

    /// <summary>The refusal of more replicas than live nodes (docs/errors.md, <c>cluster-replicas-exceed-nodes</c>), as
    /// Milvus's query coordinator words it (<c>ErrResourceGroupNodeNotEnough</c>, code 304).</summary>
    internal static byte[] NotEnoughNodes(MethodDescriptor method, int nodes, int asked) =>
        StatusAnswer(method, 304, $"resource group node not enough[rg={DefaultResourceGroup}][currentNodeNum={nodes.ToString(CultureInfo.InvariantCulture)}][expectedNodeNum={asked.ToString(CultureInfo.InvariantCulture)}]");

    /// <summary>Handles the calls replicas change on a collection of <paramref name="shards"/> shards; null for the rest.</summary>
    private async Task<byte[]?> ReplicaCallAsync(MethodDescriptor method, IMessage message, byte[] request, string database, string collection, int shards, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var key = ShardKeys.Of(database, collection);
        switch (method.Name)
        {
            case "LoadCollection" or "LoadPartitions":
            {
                var asked = message is LoadCollectionRequest load ? load.ReplicaNumber : ((LoadPartitionsRequest)message).ReplicaNumber;
                var count = await ReplicaRecords.CountAsync(node, key, ct).ConfigureAwait(false);
                if (asked <= 1 && count == 0)
                {
                    return null;
                }

                var nodes = context.GetHttpContext().RequestServices.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
                if (asked > nodes)
                {
                    return NotEnoughNodes(method, nodes, asked);
                }

                if (method.Name == "LoadPartitions" && asked > 0 && asked != Math.Max(1, count) && await IsLoadedAsync(database, collection, key, ct).ConfigureAwait(false))
                {
                    // Milvus's query coordinator: a loaded collection's partitions load with the replicas it has.
                    return ReplicaNumberFixed(method, Math.Max(1, count), asked);
                }

                var loaded = shards > 1
                    ? await ShardedAsync(method, request, message, database, collection, shards, ct).ConfigureAwait(false)
                    : await InvokeAsync(key, method, request, database, ct).ConfigureAwait(false);
                if (!Succeeded(loaded))
                {
                    return loaded;
                }

                // One replica is the shards themselves (they serve every read at the latest state): no replica grains.
                await PlaceReplicasAsync(key, asked, shards, ct).ConfigureAwait(false);
                return loaded;
            }

            case "ReleaseCollection" or "DropCollection" when shards > 1:
            {
                var answer = await ShardedAsync(method, request, message, database, collection, shards, ct).ConfigureAwait(false);
                if (Succeeded(answer))
                {
                    await ReleaseReplicasAsync(key, shards, ct).ConfigureAwait(false);
                }

                return answer;
            }

            case "GetReplicas":
                return await GetReplicasAsync(method, (GetReplicasRequest)message, database, collection, key, shards, ct).ConfigureAwait(false);
            case "Search" or "Query":
            {
                var count = await _replicaCounts.GetAsync(key, fresh: false, ct).ConfigureAwait(false);
                if (count <= 1)
                {
                    return null;
                }

                var read = await ReplicaReadAsync(message, database, collection, shards, count, context).ConfigureAwait(false);
                if (shards == 1)
                {
                    return await ReadOnReplicasAsync(method, request, database, key, read, ct).ConfigureAwait(false);
                }

                // Every shard's part of the read goes to the same replica index (one of Milvus's replicas: a whole copy
                // of the collection), through the sharded fan-out and merge (ReadShardAsync).
                CurrentRead.Value = read;
                try
                {
                    return await ShardedAsync(method, request, message, database, collection, shards, ct).ConfigureAwait(false);
                }
                finally
                {
                    CurrentRead.Value = null;
                }
            }

            default:
                return null;
        }
    }

    /// <summary>Makes the collection's replicas <paramref name="asked"/> (0 keeps the count it has): <see cref="ReplicaLoads.PlaceAsync"/>.</summary>
    private async Task PlaceReplicasAsync(string key, int asked, int shards, CancellationToken ct) =>
        _replicaCounts.Set(key, await ReplicaLoads.PlaceAsync(grains, node, key, asked, shards, ct).ConfigureAwait(false));

    /// <summary>Closes and forgets every replica of the collection (release, drop).</summary>
    private async Task ReleaseReplicasAsync(string key, int shards, CancellationToken ct)
    {
        await grains.GetGrain<IReplicaSetGrain>(key).ReleaseAsync(shards).WaitAsync(ct).ConfigureAwait(false);
        _replicaCounts.Set(key, 0);
    }

    /// <summary>True when any partition of the collection is loaded (its shard 0's load state).</summary>
    private async Task<bool> IsLoadedAsync(string database, string collection, string key, CancellationToken ct)
    {
        var state = GetLoadStateResponse.Parser.ParseFrom(await InvokeAsync(key, MilvusService.Descriptor.FindMethodByName("GetLoadState"), new GetLoadStateRequest { DbName = database, CollectionName = collection }.ToByteArray(), database, ct).ConfigureAwait(false));
        return IsOk(state.Status) && state.State is Protocol.Common.LoadState.Loaded or Protocol.Common.LoadState.Loading;
    }

    /// <summary>The refusal of <c>LoadPartitions</c> asking another replica number than the loaded collection has
    /// (docs/errors.md, <c>cluster-replica-number-fixed</c>), as Milvus's query coordinator words it (code 1100).</summary>
    internal static byte[] ReplicaNumberFixed(MethodDescriptor method, int loaded, int asked) =>
        StatusAnswer(method, 1100, $"can't change the replica number for loaded partitions: invalid parameter[expected={loaded.ToString(CultureInfo.InvariantCulture)}][actual={asked.ToString(CultureInfo.InvariantCulture)}]");

    /// <summary>Where and how a read on replicas goes: the replica index tried first (the next in turn), the replica
    /// count, and the consistency level and guarantee timestamp the replica must apply the log to; for a Session read of a
    /// client whose writes this node answered, that client's last write timestamp per shard key
    /// (<see cref="ForShard"/>).</summary>
    private sealed record ReplicaRead(int First, int Count, int Level, long Guarantee, IReadOnlyDictionary<string, long>? SessionWrites = null)
    {
        /// <summary>The level and guarantee timestamp of the part of the read on shard <paramref name="shardKey"/>: a
        /// Session read waits on each shard for the caller's own last write there, and on a shard it wrote nothing to
        /// serves what the replica has (it has nothing of its own to see there).</summary>
        public (int Level, long Guarantee) ForShard(string shardKey) =>
            SessionWrites is null ? (Level, Guarantee)
            : SessionWrites.TryGetValue(shardKey, out var written) ? (Level, Math.Max(Guarantee, written))
            : Guarantee > 0 ? (Level, Guarantee)
            : ((int)Protocol.Common.ConsistencyLevel.Eventually, 0);
    }

    /// <summary>The replica read of a sharded search or query in flight on this call (set around its fan-out, which
    /// sends each shard's part through <see cref="ReadShardAsync"/>); null for every other call.</summary>
    private static readonly AsyncLocal<ReplicaRead?> CurrentRead = new();

    /// <summary>The client of the call in flight (<see cref="ClientOf"/>), set when it arrives: the shard calls of its
    /// writes record their timestamps under it (<see cref="RecordSessionWrite"/>).</summary>
    private static readonly AsyncLocal<string?> CurrentClient = new();

    /// <summary>The consistency level of a search or query (the collection's when it asks for the default) and the
    /// timestamps a Session or Customized read must see, with the next replica in turn. A Session read of a client with
    /// no write known to this node on any shard of the collection waits as Strong (its writes may have gone through
    /// another node).</summary>
    private async Task<ReplicaRead> ReplicaReadAsync(IMessage message, string database, string collection, int shards, int count, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var key = ShardKeys.Of(database, collection);
        var (level, guarantee, useDefault) = message switch
        {
            global::Quiver.Protocol.Milvus.SearchRequest s => ((int)s.ConsistencyLevel, (long)s.GuaranteeTimestamp, s.UseDefaultConsistency),
            global::Quiver.Protocol.Milvus.QueryRequest q => ((int)q.ConsistencyLevel, (long)q.GuaranteeTimestamp, q.UseDefaultConsistency),
            _ => (0, 0L, false),
        };
        if (useDefault)
        {
            var describe = new DescribeCollectionRequest { DbName = database, CollectionName = collection };
            var described = DescribeCollectionResponse.Parser.ParseFrom(await InvokeAsync(key, MilvusService.Descriptor.FindMethodByName("DescribeCollection"), describe.ToByteArray(), database, ct).ConfigureAwait(false));
            level = (int)described.ConsistencyLevel;
        }

        return new ReplicaRead((int)((uint)Interlocked.Increment(ref _nextReplica) % (uint)count), count, level, guarantee,
            level == (int)Protocol.Common.ConsistencyLevel.Session ? SessionWritesOf(ClientOf(context), database, collection, shards) : null);
    }

    /// <summary>The client's last write timestamp on each shard of the collection that it wrote to through this node, or
    /// null when it wrote to none.</summary>
    private Dictionary<string, long>? SessionWritesOf(string client, string database, string collection, int shards)
    {
        Dictionary<string, long>? writes = null;
        for (var s = 0; s < shards; s++)
        {
            var shardKey = ShardKeys.Of(database, collection, s);
            if (_sessionWrites.TryGet(client, shardKey, out var written))
            {
                (writes ??= new(StringComparer.Ordinal))[shardKey] = written;
            }
        }

        return writes;
    }

    /// <summary>Remembers the timestamp a shard answered a write of the call's client with (every insert, upsert and
    /// delete reaches a shard through <see cref="InvokeAsync"/>, on a collection of any shard count).</summary>
    private void RecordSessionWrite(string shardKey, MethodDescriptor method, byte[] answer)
    {
        if (method.Name is not ("Insert" or "Upsert" or "Delete") || CurrentClient.Value is not { } client)
        {
            return;
        }

        var result = global::Quiver.Protocol.Milvus.MutationResult.Parser.ParseFrom(answer);
        if (IsOk(result.Status) && result.Timestamp > 0)
        {
            _sessionWrites.Record(client, shardKey, (long)result.Timestamp);
        }
    }

    /// <summary>One shard's part of a sharded search or query: on the replicas of the shard when the call reads from
    /// replicas (<see cref="CurrentRead"/>), else on the shard grain.</summary>
    private Task<byte[]> ReadShardAsync(string database, string collection, int shard, MethodDescriptor method, byte[] request, CancellationToken ct, string? call = null) =>
        CurrentRead.Value is { } read
            ? ReadOnReplicasAsync(method, request, database, ShardKeys.Of(database, collection, shard), read, ct, call)
            : InvokeAsync(ShardKeys.Of(database, collection, shard), method, request, database, ct, call);

    /// <summary>Runs a search or query on one of the replicas of shard <paramref name="key"/>, from
    /// <paramref name="read"/>'s first in turn; a replica that fails or does not answer within
    /// <see cref="ReplicaAttemptTimeout"/> (its node died, it is moving) is passed over for the next, until one answers
    /// or <see cref="ShardCalls.MoveTimeout"/> passes.</summary>
    private async Task<byte[]> ReadOnReplicasAsync(MethodDescriptor method, byte[] request, string database, string key, ReplicaRead read, CancellationToken ct, string? call = null)
    {
        var count = read.Count;
        var collectionKey = ReplicaSetGrain.ShardOf(key).Collection;
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        for (var attempt = 0; clock.Elapsed < ShardCalls.MoveTimeout; attempt++)
        {
            var grainKey = ReplicaRecords.GrainKey(key, (read.First + attempt) % count);
            var (level, guarantee) = read.ForShard(key);
            try
            {
                var reply = await grains.GetGrain<IReplicaGrain>(grainKey).ReadAsync(call ?? method.Name, request, database, level, guarantee).WaitAsync(ReplicaAttemptTimeout, ct).ConfigureAwait(false);
                if (reply.StatusCode == (int)StatusCode.Unavailable)
                {
                    last = new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, reply.Detail));
                    continue;
                }

                if (reply.StatusCode != 0)
                {
                    throw new RpcException(new Grpc.Core.Status((StatusCode)reply.StatusCode, reply.Detail));
                }

                return reply.Response;
            }
            catch (Exception ex) when (ex is not RpcException && !ct.IsCancellationRequested)
            {
                // This replica's node died or the replica is moving: the next replica answers.
                last = ex;
                if (attempt % count == count - 1)
                {
                    // Every replica failed once: the collection may have been released or loaded with fewer replicas
                    // on another node since this node read the count.
                    var now = await _replicaCounts.GetAsync(collectionKey, fresh: true, ct).ConfigureAwait(false);
                    if (now <= 1)
                    {
                        return await InvokeAsync(key, method, request, database, ct, call).ConfigureAwait(false);
                    }

                    count = now;
                    await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
                }
            }
        }

        return Unreachable(method, $"{method.Name}: no replica of '{key}' answered within {ShardCalls.MoveTimeout.TotalSeconds:0} s (last failure: {last?.Message}); retry later");
    }

    /// <summary>Milvus's <c>GetReplicas</c>: each replica with its id, the collection and its partitions, the node it runs
    /// on and (with <c>with_shard_nodes</c>) its shard replica: the node serving it, that node's Milvus endpoint and the
    /// shard's log stream as the channel. A collection loaded with one replica reports the shard's own node; one not
    /// loaded reports none, as Milvus does.</summary>
    private async Task<byte[]> GetReplicasAsync(MethodDescriptor method, GetReplicasRequest request, string database, string collection, string key, int shards, CancellationToken ct)
    {
        var describe = new DescribeCollectionRequest { DbName = database, CollectionName = collection };
        var described = DescribeCollectionResponse.Parser.ParseFrom(await InvokeAsync(key, MilvusService.Descriptor.FindMethodByName("DescribeCollection"), describe.ToByteArray(), database, ct).ConfigureAwait(false));
        if (!IsOk(described.Status))
        {
            return StatusAnswer(method, described.Status.Code, described.Status.Reason);
        }

        var response = new GetReplicasResponse { Status = new Protocol.Common.Status() };
        var partitions = ShowPartitionsResponse.Parser.ParseFrom(await InvokeAsync(key, MilvusService.Descriptor.FindMethodByName("ShowPartitions"), new ShowPartitionsRequest { DbName = database, CollectionName = collection }.ToByteArray(), database, ct).ConfigureAwait(false));
        var count = await ReplicaRecords.CountAsync(node, key, ct).ConfigureAwait(false);
        // Each shard's engine numbers its collection itself: a shard's log stream is named with its own id.
        var ids = new Dictionary<string, long>(StringComparer.Ordinal) { [key] = described.CollectionID };
        for (var s = 1; s < shards; s++)
        {
            var shardKey = ShardKeys.Of(database, collection, s);
            ids[shardKey] = DescribeCollectionResponse.Parser.ParseFrom(await InvokeAsync(shardKey, MilvusService.Descriptor.FindMethodByName("DescribeCollection"), describe.ToByteArray(), database, ct).ConfigureAwait(false)).CollectionID;
        }

        // Per replica, the node serving each shard (shard key, place).
        var replicas = new List<List<(string Shard, ReplicaPlace Place)>>();
        if (count > 1)
        {
            for (var i = 0; i < count; i++)
            {
                // Replica i is replica grain i of every shard.
                var one = new List<(string, ReplicaPlace)>();
                for (var s = 0; s < shards; s++)
                {
                    var grainKey = ReplicaRecords.GrainKey(ShardKeys.Of(database, collection, s), i);
                    one.Add((ShardKeys.Of(database, collection, s), await ShardCalls.InvokeAsync(grains, key, "GetReplicas", readOnly: true, _ => grains.GetGrain<IReplicaGrain>(grainKey).PlaceAsync(), ct).ConfigureAwait(false)));
                }

                replicas.Add(one);
            }
        }
        else
        {
            var state = GetLoadStateResponse.Parser.ParseFrom(await InvokeAsync(key, MilvusService.Descriptor.FindMethodByName("GetLoadState"), new GetLoadStateRequest { DbName = database, CollectionName = collection }.ToByteArray(), database, ct).ConfigureAwait(false));
            var one = new List<(string, ReplicaPlace)>();
            for (var s = 0; s < shards && state.State == Protocol.Common.LoadState.Loaded; s++)
            {
                var shardKey = ShardKeys.Of(database, collection, s);
                if (await ShardPlaceAsync(shardKey, ct).ConfigureAwait(false) is { } place)
                {
                    one.Add((shardKey, place));
                }
            }

            if (one.Count > 0)
            {
                replicas.Add(one);
            }
        }

        for (var i = 0; i < replicas.Count; i++)
        {
            var info = new ReplicaInfo
            {
                ReplicaID = ReplicaId(key, i),
                CollectionID = described.CollectionID,
                ResourceGroupName = DefaultResourceGroup,
            };
            info.PartitionIds.AddRange(partitions.PartitionIDs);
            info.NodeIds.AddRange(replicas[i].Select(r => r.Place.NodeId).Distinct());
            if (request.WithShardNodes)
            {
                foreach (var (shardKey, place) in replicas[i])
                {
                    var shardReplica = new ShardReplica { LeaderID = place.NodeId, LeaderAddr = place.Milvus, DmChannelName = JetStreamWal.StreamFor(ShardKeys.Storage(node.Config.Cluster, shardKey), ids[shardKey]) };
                    shardReplica.NodeIds.Add(place.NodeId);
                    info.ShardReplicas.Add(shardReplica);
                }
            }

            response.Replicas.Add(info);
        }

        return response.ToByteArray();
    }

    /// <summary>Where the shard grain last activated (<see cref="ClusterStatus"/>'s record), as a replica place. Read by
    /// direct get on purpose: a place only reported, which a lagging NATS replica may answer a moment late.</summary>
    private async Task<ReplicaPlace?> ShardPlaceAsync(string key, CancellationToken ct)
    {
        try
        {
            var entry = await node.Placement.GetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            using var json = JsonDocument.Parse(entry.Value);
            var silo = json.RootElement.GetProperty("Silo").GetString()!;
            return new ReplicaPlace(ReplicaRecords.NodeId(silo), json.RootElement.GetProperty("Node").GetString()!, silo);
        }
        catch (Exception ex) when (ex is NATS.Client.KeyValueStore.NatsKVKeyNotFoundException or NATS.Client.KeyValueStore.NatsKVKeyDeletedException)
        {
            return null;
        }
    }

    /// <summary>A replica's id: a positive 63-bit FNV-1a hash of its grain key, the same on every node.</summary>
    private static long ReplicaId(string key, int index)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in ReplicaRecords.GrainKey(key, index))
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (long)(hash & long.MaxValue);
    }

    /// <summary>Who a Session read belongs to: the client's <c>identifier</c> header (from <c>Connect</c>), else its
    /// address.</summary>
    private static string ClientOf(ServerCallContext context) =>
        context.RequestHeaders.GetValue("identifier") is { Length: > 0 } id ? id : context.Peer;
}
