using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Quiver.Cluster.Nodes;

/// <summary>A REST v2 read of one shard on its replicas (docs/cluster.md, "Replicas"), for a collection of one shard
/// (<see cref="RestRouting"/>) or of several (each shard's part, <see cref="MilvusRouting"/>): the replicas of the shard
/// in turn from the one asked first; a replica that fails or does not answer within <see cref="AttemptTimeout"/> (its
/// node died, it is moving, it was released) is passed over for the next.</summary>
internal static class RestReplicaCalls
{
    /// <summary>How long one try of a read on a replica may take before the next replica is asked (as over gRPC).</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The answer of one of the replicas of shard <paramref name="shardKey"/> (of the collection with key
    /// <paramref name="collectionKey"/>, whose replica count <paramref name="counts"/> holds), trying from replica
    /// <paramref name="first"/> of <paramref name="count"/>; null when the replicas are gone (the count read again is 1
    /// or less: the shard answers); a code-2 answer when none answered within <see cref="ShardCalls.MoveTimeout"/>.</summary>
    public static async Task<RestReply?> ReadAsync(IGrainFactory grains, ReplicaCounts counts, string collectionKey, string shardKey,
        string path, byte[] body, bool allowInt64, int first, int count, int level, long guaranteeTs, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; clock.Elapsed < ShardCalls.MoveTimeout; attempt++)
        {
            var grainKey = ReplicaRecords.GrainKey(shardKey, (first + attempt) % count);
            try
            {
                return await grains.GetGrain<IReplicaGrain>(grainKey).RestReadAsync(path, body, allowInt64, level, guaranteeTs)
                    .WaitAsync(AttemptTimeout, ct).ConfigureAwait(false);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // This replica's node died, the replica is moving, or it was released: the next one answers.
                if (attempt % count == count - 1)
                {
                    count = await counts.GetAsync(collectionKey, fresh: true, ct).ConfigureAwait(false);
                    if (count <= 1)
                    {
                        return null;
                    }

                    await Task.Delay(Retry.Pause, ct).ConfigureAwait(false);
                }
            }
        }

        return new RestReply(StatusCodes.Status200OK, System.Text.Encoding.UTF8.GetBytes(RestRouting.Unreachable(
            $"POST {RestRouting.Prefix}{path}: no replica of '{shardKey}' answered within {ShardCalls.MoveTimeout.TotalSeconds:0} s; retry later")));
    }
}
