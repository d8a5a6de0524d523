using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Quiver.Cluster.Nodes;

/// <summary>What a REST v2 call on a collection of several shards carries to each shard (docs/cluster.md, "Several shards
/// over REST"): the caller's <c>Accept-Type-Allow-Int64</c>, its identity for Session reads, and, for a search, query, get
/// or hybrid search on a collection loaded with several replicas, the replica read (as gRPC's: every shard's part on the
/// same replica index, at the body's or the collection's consistency level). The writes a shard answers record the
/// shard's clock for the caller, so that its Session reads wait for its own writes and no others.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The REST call in flight on this async flow (set by <see cref="RestRoutedAsync"/> around the sharded call):
    /// what <see cref="RestOnShardAsync"/> sends each shard.</summary>
    private static readonly AsyncLocal<RestCall?> CurrentRest = new();

    private sealed record RestCall(bool AllowInt64, string Client, ReplicaRead? Read);

    /// <summary>Who a REST caller is for Session reads: its address (REST carries no session; a client's connections
    /// come and go, its address stays). Callers behind one address share their writes, so a Session read waits for
    /// theirs too: never less than its own.</summary>
    internal static string RestClientOf(HttpContext http) =>
        "rest " + (http.Connection.RemoteIpAddress?.ToString() ?? "?");

    /// <summary>The timestamp a Session REST read of <paramref name="client"/> on shard <paramref name="shardKey"/> must
    /// see: its last write there through this node, else 0 (the read waits as Strong).</summary>
    internal long RestSessionWrite(string client, string shardKey) => _sessionWrites.TryGet(client, shardKey, out var ts) ? ts : 0;

    /// <summary>Records the shard clock a REST write of <paramref name="client"/> answered with on a one-shard collection.</summary>
    internal void RecordRestWrite(string client, string shardKey, RestReply reply)
    {
        if (reply.WriteTimestamp > 0)
        {
            _sessionWrites.Record(client, shardKey, reply.WriteTimestamp);
        }
    }

    /// <summary><see cref="RestShardedAsync"/> with the caller's header, identity and (for a replica read) consistency level
    /// <paramref name="level"/>, read only when the collection has replicas (null: the body names no level; the shards then
    /// refuse it in the standalone server's words).</summary>
    internal async Task<(int Status, byte[] Body)> RestRoutedAsync(string path, byte[] body, string database, string collection, int shards,
        bool creates, bool allowInt64, string client, Func<CancellationToken, Task<int?>> level, CancellationToken ct)
    {
        ReplicaRead? read = null;
        if (!creates && RestRouting.IsReplicaRead(path))
        {
            var count = await _replicaCounts.GetAsync(ShardKeys.Of(database, collection), fresh: false, ct).ConfigureAwait(false);
            if (count > 1 && await level(ct).ConfigureAwait(false) is { } named)
            {
                read = new ReplicaRead((int)((uint)Interlocked.Increment(ref _nextReplica) % (uint)count), count, named, 0,
                    named == (int)Protocol.Common.ConsistencyLevel.Session ? SessionWritesOf(client, database, collection, shards) : null);
            }
        }

        CurrentRest.Value = new RestCall(allowInt64, client, read);
        return await RestShardedAsync(path, body, database, collection, shards, creates, allowInt64, ct).ConfigureAwait(false);
    }

    /// <summary>Runs a REST call on shard <paramref name="shard"/>: a replica read on the shard's replicas (passed over to
    /// the shard when they are gone), anything else on the shard grain, with the caller's header; a write's shard clock
    /// is recorded for the caller.</summary>
    private async Task<(int, byte[])> RestOnShardAsync(string database, string collection, int shard, string path, byte[] body, CancellationToken ct)
    {
        var call = CurrentRest.Value;
        var allowInt64 = call?.AllowInt64 ?? false;
        var key = ShardKeys.Of(database, collection, shard);
        if (call?.Read is { } read && RestRouting.IsReplicaRead(path))
        {
            var (level, guarantee) = read.ForShard(key);
            if (await RestReplicaCalls.ReadAsync(grains, _replicaCounts, ShardKeys.Of(database, collection), key, path, body, allowInt64,
                read.First, read.Count, level, guarantee, ct).ConfigureAwait(false) is { } onReplica)
            {
                return (onReplica.HttpStatus, onReplica.Body);
            }
        }

        var reply = await ShardCalls.InvokeAsync(grains, key, string.Create(CultureInfo.InvariantCulture, $"POST {RestRouting.Prefix}{path}"),
            RestRouting.IsReadOnly(path), g => g.RestAsync(path, body, allowInt64), ct).ConfigureAwait(false);
        if (call is not null)
        {
            RecordRestWrite(call.Client, key, reply);
        }

        return (reply.HttpStatus, reply.Body);
    }
}
