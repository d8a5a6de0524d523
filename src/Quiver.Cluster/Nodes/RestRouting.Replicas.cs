using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>REST v2 reads on replicas (docs/cluster.md, "Replicas"): on a collection loaded with several replicas, a
/// REST search, query, get or hybrid search goes to the replicas in turn, as gRPC's do, at the body's
/// <c>consistencyLevel</c> (the collection's own when it names none); a replica that fails or does not answer is passed
/// over for the next, and when none is left the shard answers.</summary>
internal sealed partial class RestRouting
{
    /// <summary>The REST reads replicas serve.</summary>
    private static readonly HashSet<string> ReplicaReads = new(StringComparer.Ordinal)
    {
        "/entities/search", "/entities/query", "/entities/get", "/entities/hybrid_search",
    };

    /// <summary>Whether replicas serve the REST read <paramref name="path"/>.</summary>
    internal static bool IsReplicaRead(string path) => ReplicaReads.Contains(path);

    /// <summary>The replica count of each collection REST reads last read (ReplicaCounts.cs, as over gRPC).</summary>
    private readonly ReplicaCounts _replicaCounts = new(node);

    private int _nextReplica;

    /// <summary>The answer of a REST read of the one-shard collection with shard key <paramref name="key"/> from one of
    /// its replicas, or null when the collection has no replicas (the shard answers), the body is not one a replica can
    /// serve as it stands (a consistency level that is not one: the shard refuses it in the standalone server's words),
    /// or every replica was released meanwhile. A Session read waits for <paramref name="client"/>'s last REST write
    /// through this node (<see cref="MilvusRouting.RestSessionWrite"/>), else (a write through another node, or none) as
    /// Strong.</summary>
    private async Task<RestReply?> ReplicaReadAsync(string path, byte[] body, string database, string collection, string key,
        bool allowInt64, string client, MilvusRouting routing, CancellationToken ct)
    {
        if (!ReplicaReads.Contains(path))
        {
            return null;
        }

        var count = await _replicaCounts.GetAsync(key, fresh: false, ct).ConfigureAwait(false);
        if (count <= 1 || await LevelAsync(body, database, collection, key, ct).ConfigureAwait(false) is not { } level)
        {
            return null;
        }

        var guarantee = level == (int)Protocol.Common.ConsistencyLevel.Session ? routing.RestSessionWrite(client, key) : 0;
        var first = (int)((uint)Interlocked.Increment(ref _nextReplica) % (uint)count);
        return await RestReplicaCalls.ReadAsync(grains, _replicaCounts, key, key, path, body, allowInt64, first, count, level, guarantee, ct).ConfigureAwait(false);
    }

    /// <summary>Milvus's consistency level (0 Strong .. 4 Customized) of a REST read: its body's <c>consistencyLevel</c>,
    /// else the collection's (shard 0's description); null for a name that is not a level.</summary>
    internal async Task<int?> LevelAsync(byte[] body, string database, string collection, string key, CancellationToken ct)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.TryGetProperty("consistencyLevel", out var named) && named.ValueKind == JsonValueKind.String && named.GetString() is { Length: > 0 } name)
            {
                return Enum.TryParse<Protocol.Common.ConsistencyLevel>(name, ignoreCase: false, out var level) && Enum.IsDefined(level) && level.ToString() == name ? (int)level : null;
            }
        }
        catch (JsonException)
        {
            return null;
        }

        var describe = new DescribeCollectionRequest { DbName = database, CollectionName = collection }.ToByteArray();
        var reply = await ShardCalls.InvokeAsync(grains, key, "DescribeCollection", readOnly: true, g => g.CallAsync("DescribeCollection", describe, database), ct).ConfigureAwait(false);
        var described = reply.StatusCode == 0 ? DescribeCollectionResponse.Parser.ParseFrom(reply.Response) : null;
        return described is { Status: null or { Code: 0 } } ? (int)described.ConsistencyLevel : null;
    }
}
