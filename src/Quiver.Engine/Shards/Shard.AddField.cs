namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Adds a field to the collection (Milvus's AddCollectionField), on a loaded collection with rows: a nullable
    /// scalar field, maybe with a default value, appended after the existing fields. Rows written before read the
    /// default, or null; rows written after may give a value.
    /// <para>Crash safety: a checkpoint first seals every growing segment and moves the WAL's replay point past every
    /// record, with writes held off until the new schema is durable, so that no WAL record of the old schema is ever
    /// replayed under the new one. The new schema and, per sealed segment, how many fields its file holds are then
    /// written in one manifest; a crash leaves the old manifest (the field was never added) or the new one. Segment files
    /// are not rewritten: an added field reads from a column built when a segment is opened, until a compaction or merge
    /// writes the segment again.</para></summary>
    public async Task AddFieldAsync(FieldSchema field, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        RefuseAddedField(field);
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HoldWritesAfterCheckpointAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfDisposed();
                var old = Schema;
                if (old.Find(field.Name) is not null)
                {
                    Throw.Invalid($"duplicate field name: {field.Name}");
                }

                if (old.Fields.Length >= SchemaValidator.MaxFields)
                {
                    Throw.Invalid($"The number of fields has reached the maximum value {SchemaValidator.MaxFields}");
                }

                var schema = old with { Fields = old.Fields.Add(field) };
                schema.Validate();
                await WidenAsync(schema, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeGate.Release();
            }
        }
        finally
        {
            _maintenanceGate.Release();
        }
    }

    /// <summary>Makes <paramref name="schema"/> (this collection's schema with fields appended) the collection's: the
    /// manifest records it and, per sealed segment, how many fields its file holds; every sealed segment then reads each
    /// added field as its default or null. Call with the maintenance gate and the write gate held, after a checkpoint left
    /// nothing growing and nothing to replay (<see cref="HoldWritesAfterCheckpointAsync"/>), so that no row of the old
    /// layout is in memory outside a sealed segment nor in the log past the checkpoint.</summary>
    private async Task WidenAsync(CollectionSchema schema, CancellationToken cancellationToken)
    {
        var held = Schema.Fields.Length;
        List<Segments.Segment> sealedSegments;
        lock (_applyLock)
        {
            sealedSegments = [.. _sealed, .. _pendingMerges.Select(p => p.Merged)];
        }

        var segments = Meta.Segments.Select(s => s.Fields is null ? s with { Fields = held } : s).ToList();
        await PersistMetaAsync(Meta with { Schema = schema, Segments = segments }, cancellationToken).ConfigureAwait(false);
        lock (_applyLock)
        {
            foreach (var seg in sealedSegments)
            {
                seg.AddFields(schema, seg.FieldsInFile ?? held);
            }

            Schema = schema;
        }
    }

    /// <summary>Milvus's rules for a field added to an existing collection.</summary>
    private static void RefuseAddedField(FieldSchema field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.IsPrimaryKey)
        {
            Throw.Invalid($"not support to add pk field, field name = {field.Name}");
        }

        if (field.AutoId)
        {
            Throw.Invalid($"only primary field can specify AutoID with true, field name = {field.Name}");
        }

        if (field.IsVector || field.IsSparseVector)
        {
            Throw.Invalid($"not support to add vector field, field name = {field.Name}");
        }

        if (!field.Nullable)
        {
            Throw.Invalid($"added field must be nullable, please check it, field name = {field.Name}");
        }

        if (field.Name == CollectionSchema.DynamicFieldName)
        {
            Throw.Invalid($"cannot add the dynamic field '{CollectionSchema.DynamicFieldName}' to an existing collection");
        }
    }

    /// <summary>Checkpoints until nothing is left to replay, then returns with the write gate held (the caller releases
    /// it): a write that slipped in between the checkpoint and the gate takes another round.</summary>
    private async Task HoldWritesAfterCheckpointAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await GuardIoAsync("add field", () => CheckpointAsync(drop: null, cancellationToken)).ConfigureAwait(false);
            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_applyLock)
            {
                if (_growing.Count == 0 && _frozen.Count == 0 && _wal.NextLsn == Meta.CheckpointLsn)
                {
                    return;
                }
            }

            _writeGate.Release();
        }
    }
}
