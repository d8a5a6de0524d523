using NATS.Client.JetStream;
using NATS.Client.ObjectStore;

namespace Quiver.Cluster.Nodes;

/// <summary>A dropped collection's JetStream state: each of its shards' log streams (<c>{name}-wal-{collectionId}</c>),
/// meta bucket (<c>{name}-meta</c>: the manifest and the load state), key allocator of an auto_id collection
/// (<c>{name}-autoids</c>, shard 0's, <see cref="AutoIds"/>; <c>{name}-ids</c> before it kept landed values), file bucket (<c>{name}-files</c>: sealed segments,
/// delete files, indexes) and its placement and applied-position records, where <c>name</c> is the shard's storage name
/// (<see cref="ShardKeys.Storage"/>). Deleting them is what makes a drop free the cluster's storage, and what makes a
/// collection created again under the same name start empty even on a node that never saw the old one.</summary>
internal static class ShardStorage
{
    private static readonly TimeSpan RetryTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The names of the JetStream streams that hold shard <paramref name="name"/>'s state: its logs, and the
    /// streams behind its KV and object buckets (JetStream prefixes them with <c>KV_</c> and <c>OBJ_</c>).</summary>
    public static async Task<List<string>> StreamsAsync(INatsJSContext js, string name, CancellationToken ct)
    {
        var found = new List<string>();
        await foreach (var stream in js.ListStreamNamesAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (stream.StartsWith($"{name}-wal-", StringComparison.Ordinal) || stream == $"KV_{name}-meta" || stream == $"KV_{AutoIds.Bucket(name)}" || stream == $"KV_{AutoIds.LegacyBucket(name)}" || stream == $"OBJ_{name}-files")
            {
                found.Add(stream);
            }
        }

        return found;
    }

    /// <summary>Deletes every stream and bucket of the shard with grain key <paramref name="key"/> and its placement
    /// record. Missing ones are skipped, so a delete that was interrupted can run again. The shard's engine must be
    /// closed first (a running engine would write its checkpoint back).</summary>
    public static async Task DeleteAsync(NodeContext node, string key, CancellationToken ct)
    {
        var name = ShardKeys.Storage(node.Config.Cluster, key);
        var js = node.JetStream;
        var streams = await Retry.UntilAsync(RetryTimeout, c => StreamsAsync(js, name, c), ct).ConfigureAwait(false);
        foreach (var stream in streams)
        {
            await Retry.UntilAsync(RetryTimeout, async c =>
            {
                try
                {
                    if (stream.StartsWith("KV_", StringComparison.Ordinal))
                    {
                        return await node.KeyValue.DeleteStoreAsync(stream[3..], c).ConfigureAwait(false);
                    }

                    if (stream.StartsWith("OBJ_", StringComparison.Ordinal))
                    {
                        return await new NatsObjContext(js).DeleteObjectStore(stream[4..], c).ConfigureAwait(false);
                    }

                    return await js.DeleteStreamAsync(stream, c).ConfigureAwait(false);
                }
                catch (NatsJSApiException ex) when (ex.Error.Code == 404)
                {
                    // Already gone: a delete that ran before, or another node's.
                    return true;
                }
            }, ct).ConfigureAwait(false);
        }

        await Retry.UntilAsync(RetryTimeout, async c =>
        {
            await node.Placement.DeleteAsync(key, cancellationToken: c).ConfigureAwait(false);
            await node.Placement.DeleteAsync(AppliedPositions.ShardKey(key), cancellationToken: c).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>After a drop of <paramref name="collection"/> that every one of its <paramref name="shards"/> shards
    /// accepted, before the catalog forgets it: each shard grain deletes its storage. A shard that cannot (its node
    /// died meanwhile, JetStream unavailable for a minute) keeps its streams and buckets: the drop itself stands (the
    /// shard's engine recorded it, so a collection created again there starts empty), only the storage is not freed
    /// until a later drop of the same name. Answers how many shards failed to delete.</summary>
    public static async Task<int> ForgetAsync(IGrainFactory grains, string database, string collection, int shards)
    {
        var done = await Task.WhenAll(Enumerable.Range(0, shards).Select(async s =>
        {
            try
            {
                await grains.GetGrain<IShardStorageGrain>(ShardKeys.Of(database, collection, s)).DropStorageAsync().ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or QuiverException)
            {
                return false;
            }
        })).ConfigureAwait(false);
        return done.Count(d => !d);
    }
}
