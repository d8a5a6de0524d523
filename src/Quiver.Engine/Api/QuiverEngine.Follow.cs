using Quiver.Catalog;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Takes the catalog of <paramref name="manifest"/> (the manifest of the engine whose log this engine follows,
    /// as that engine last wrote it) in place, keeping the rows this engine holds: databases (their properties and
    /// aliases) as the manifest has them, and per collection what <see cref="Shards.Shard.AdoptAsync"/> takes (name,
    /// properties, limits and metrics, partitions, indexes, fields added). False, changing nothing, when the manifest
    /// holds other collections than this engine or lays a collection's fields out otherwise than by adding fields after
    /// this engine's: then only a new engine opened over the manifest serves it. For a cluster's replica, whose engine
    /// keeps serving meanwhile; while it adds fields to a collection, the records of that collection's log must be held
    /// back (<see cref="Shards.Shard.AdoptAsync"/>).</summary>
    internal async Task<bool> AdoptCatalogAsync(ManifestData manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var adopted = false;
        await WithCatalogAsync(async () =>
        {
            Dictionary<long, Shards.Shard> shards;
            lock (_shards)
            {
                shards = new Dictionary<long, Shards.Shard>(_shards);
            }

            if (shards.Count != manifest.Collections.Count
                || manifest.Collections.Any(c => !shards.TryGetValue(c.Id, out var shard) || !shard.CanAdopt(c)))
            {
                return;
            }

            foreach (var collection in manifest.Collections)
            {
                await shards[collection.Id].AdoptAsync(collection, cancellationToken).ConfigureAwait(false);
            }

            await PersistManifestAsync(new CatalogChange { Databases = [.. manifest.Databases] }, cancellationToken).ConfigureAwait(false);
            adopted = true;
        }, cancellationToken).ConfigureAwait(false);
        return adopted;
    }

    /// <summary>How many fields collection <paramref name="collectionId"/> has now (null for an unknown collection).</summary>
    internal int? FieldCount(long collectionId)
    {
        lock (_shards)
        {
            return _shards.TryGetValue(collectionId, out var shard) ? shard.Schema.Fields.Length : null;
        }
    }

    /// <summary>Whether collection <paramref name="collectionId"/> has partition <paramref name="partitionId"/> now (false
    /// for an unknown collection).</summary>
    internal bool HasPartition(long collectionId, long partitionId)
    {
        lock (_shards)
        {
            return _shards.TryGetValue(collectionId, out var shard) && shard.Meta.Partitions.Any(p => p.Id == partitionId);
        }
    }
}
