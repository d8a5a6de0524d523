using System.Text.Json;
using Quiver.Catalog;
using Quiver.Storage;

namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Whether <see cref="AdoptAsync"/> can take <paramref name="target"/> (another engine's metadata of this
    /// collection) in place: its fields are laid out as this engine's (same names, types, dimensions, in the same order;
    /// limits and metrics may differ), maybe with fields added after them (AddCollectionField), so every row this engine
    /// holds reads the same under both schemas, an added field as its default or null.</summary>
    public bool CanAdopt(CollectionMeta target)
    {
        var held = Schema.Fields.Length;
        return target.Id == Meta.Id && target.Schema.Fields.Length >= held
            && Layout(target.Schema with { Fields = [.. target.Schema.Fields.Take(held)] }) == Layout(Schema);
    }

    /// <summary>Takes what <paramref name="target"/> (the metadata of this collection as the engine that writes its log
    /// last recorded it) says the collection is, keeping the rows this engine holds and where it holds them (its own
    /// segments, checkpoint and id counters): name and database, properties, the schema's limits and metrics, partitions
    /// (a new one starts empty, with the writer's id, so logged writes to it apply here; a dropped one takes its rows
    /// with it, growing ones included), indexes (a new one is built over this engine's sealed segments, a dropped one
    /// detached, changed properties taken), and fields added (as <see cref="AddFieldAsync"/> adds one: a checkpoint seals
    /// every growing segment first, so the rows of the old layout are all in sealed segments, which read the added fields
    /// as their defaults or null). For a follower of another engine's log (a cluster's replica), whose engine keeps
    /// serving throughout; <see cref="CanAdopt"/> must hold. When fields are added the caller holds the log's records
    /// back until this returns: the rows logged after the add are laid out with them, and must land in a growing segment
    /// of the new layout.</summary>
    public async Task AdoptAsync(CollectionMeta target, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (!CanAdopt(target))
        {
            throw new InvalidOperationException($"collection '{Meta.Name}': the metadata to adopt lays its fields out differently");
        }

        List<IndexMeta> dropped;
        bool added;
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            if (target.Schema.Fields.Length > Schema.Fields.Length)
            {
                await HoldWritesAfterCheckpointAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await WidenAsync(target.Schema, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _writeGate.Release();
                }
            }

            var gone = Meta.Partitions.Where(p => target.Partitions.All(t => t.Id != p.Id)).Select(p => p.Id).ToHashSet();
            dropped = [.. Meta.Indexes.Where(i => target.Indexes.All(t => t.Id != i.Id))];
            added = target.Indexes.Any(t => Meta.Indexes.All(i => i.Id != t.Id));
            if (added)
            {
                DurableFolders.Create(Fs, IndexFolder);
            }

            var meta = Meta with
            {
                Name = target.Name,
                Database = target.Database,
                Schema = target.Schema,
                Properties = new Dictionary<string, string>(target.Properties, StringComparer.Ordinal),
                Partitions = [.. target.Partitions],
                Indexes = [.. target.Indexes],
                Segments = [.. Meta.Segments.Where(s => !gone.Contains(s.PartitionId))],
            };
            await PersistMetaAsync(meta, cancellationToken).ConfigureAwait(false);
            lock (_applyLock)
            {
                Schema = target.Schema;
                foreach (var id in gone)
                {
                    // Growing rows of a dropped partition go with it, as the writer's drop sealed and removed them.
                    if (_growing.Remove(id, out var growing))
                    {
                        _frozen.Add(growing);
                    }
                }
            }

            foreach (var id in gone)
            {
                RemovePartitionData(id);
            }

            if (dropped.Count > 0)
            {
                lock (_applyLock)
                {
                    foreach (var index in dropped)
                    {
                        var field = Schema.IndexOf(index.FieldName);
                        foreach (var seg in SegmentsToIndex())
                        {
                            seg.DetachIndex(field, index.Id);
                        }
                    }
                }
            }

            if (dropped.Count > 0 || gone.Count > 0)
            {
                SweepIndexFiles(includeTemporary: false);
            }
        }
        finally
        {
            _maintenanceGate.Release();
        }

        foreach (var index in dropped)
        {
            ForgetIndexErrors(k => k.IndexId == index.Id);
        }

        if (added)
        {
            ScheduleIndexWork();
        }
    }

    /// <summary>What decides how a logged row decodes: the fields without the limits and metric a later call may change.</summary>
    private static string Layout(CollectionSchema schema) =>
        JsonSerializer.Serialize(schema with
        {
            Fields = [.. schema.Fields.Select(f => f with { MaxLength = null, MaxCapacity = null, Metric = default, MetricFromIndex = false })],
        }, ManifestFile.Json);
}
