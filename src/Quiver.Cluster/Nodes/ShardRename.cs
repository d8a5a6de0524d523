using Google.Protobuf;
using Quiver.Protocol.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>The shard side of a cluster rename (docs/cluster.md, "Rename"): each shard's engine names its collection after
/// the name the calls carry, so after the catalog's moment (<see cref="CollectionCatalog.BeginRenameAsync"/>) the
/// collection is renamed in each shard's engine, and each loaded replica of each shard takes the shard's changed manifest
/// before the catalog makes the new name's key plain (<see cref="CollectionCatalog.CompleteRenameAsync"/>). Until then a
/// node reading the new name finds it through the pending record and settles the rename before routing a call, so no call
/// under the new name reaches an engine that still holds the old one.
/// <para>Why renamed in the engines rather than mapped: the shards' and replicas' answers (descriptions, listings,
/// refusals) name the collection, and their engines keep aliases and the manifest by it, so a node mapping names would
/// have to rewrite every request and every answer; an engine-only alias of the new name would show in the engines'
/// alias listings. The stored things (grain keys, streams, buckets) are named from the storage id and do not move.</para></summary>
internal static class ShardRename
{
    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> in each of the <paramref name="shards"/> shards
    /// of storage id <paramref name="id"/> in <paramref name="database"/>, then refreshes each placed replica of each
    /// shard. Repeatable: a shard whose engine already holds <paramref name="to"/> is left as it is (a renamer and a node
    /// settling its records may both run this). A shard that refuses otherwise, or does not answer, is thrown as a
    /// <see cref="QuiverErrorCode.Unavailable"/> refusal.</summary>
    public static async Task RunAsync(IGrainFactory grains, NodeContext node, string database, string from, string to, int shards, string id, CancellationToken ct)
    {
        try
        {
            await RenameAsync(grains, node, database, from, to, shards, id, ct).ConfigureAwait(false);
        }
        catch (ShardUnreachableException ex)
        {
            // The rename is past its moment: the next call on the new name, or the next node's start, settles it.
            throw new QuiverException(QuiverErrorCode.Unavailable, ex.Message, ex);
        }
    }

    private static async Task RenameAsync(IGrainFactory grains, NodeContext node, string database, string from, string to, int shards, string id, CancellationToken ct)
    {
        var rename = new RenameCollectionRequest { DbName = database, OldName = from, NewName = to }.ToByteArray();
        var has = new HasCollectionRequest { DbName = database, CollectionName = to }.ToByteArray();
        for (var s = 0; s < shards; s++)
        {
            var key = ShardKeys.Of(database, id, s);
            var reply = await ShardCalls.InvokeAsync(grains, key, "RenameCollection", readOnly: true, g => g.CallAsync("RenameCollection", rename, database), ct).ConfigureAwait(false);
            var status = reply.StatusCode == 0 ? Protocol.Common.Status.Parser.ParseFrom(reply.Response) : null;
            if (status is { Code: 0 })
            {
                continue;
            }

            var held = await ShardCalls.InvokeAsync(grains, key, "RenameCollection", readOnly: true, g => g.CallAsync("HasCollection", has, database), ct).ConfigureAwait(false);
            if (held.StatusCode == 0 && BoolResponse.Parser.ParseFrom(held.Response) is { Value: true, Status: null or { Code: 0 } })
            {
                // Renamed already, by this rename's other runner or this call's earlier try.
                continue;
            }

            throw new QuiverException(QuiverErrorCode.Unavailable,
                $"shard {s} of collection '{from}' (storage id '{id}') could not be renamed to '{to}': {status?.Reason ?? reply.Detail}");
        }

        var replicas = await ReplicaRecords.CountAsync(node, ShardKeys.Of(database, id), ct).ConfigureAwait(false);
        for (var i = 0; i < replicas; i++)
        {
            for (var s = 0; s < shards; s++)
            {
                var shardKey = ShardKeys.Of(database, id, s);
                if (await ReplicaRecords.PlaceOfAsync(node, shardKey, i, ct).ConfigureAwait(false) is not null)
                {
                    // Taken in place by the serving engine (the manifest's collection name), read from the bucket's leader.
                    await ShardCalls.InvokeAsync(grains, shardKey, "RenameCollection", readOnly: true, async _ =>
                    {
                        await grains.GetGrain<IReplicaGrain>(ReplicaRecords.GrainKey(shardKey, i)).RefreshAsync().ConfigureAwait(false);
                        return true;
                    }, ct).ConfigureAwait(false);
                }
            }
        }
    }
}
