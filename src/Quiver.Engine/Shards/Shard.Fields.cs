namespace Quiver.Shards;

internal sealed partial class Shard
{
    /// <summary>Raises a field's <c>max_length</c> (VarChar, or an Array of VarChar) and/or <c>max_capacity</c> (Array),
    /// as Milvus's AlterCollectionField does. Limits only grow: every stored row fits the old limit, so it fits the new one
    /// and nothing on disk changes; a smaller limit could hold rows that break it and is refused. Writes are held off
    /// while the new schema is persisted, so each write is checked against one limit or the other.</summary>
    public async Task AlterFieldAsync(string fieldName, int? maxLength, int? maxCapacity, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _maintenanceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfDisposed();
                var index = Schema.IndexOf(fieldName);
                if (index < 0)
                {
                    Throw.NotFound($"field '{fieldName}' does not exist in collection '{Meta.Name}'");
                }

                var field = Schema.Fields[index];
                var changed = field with
                {
                    MaxLength = maxLength is { } length ? Grown(field, "max_length", field.MaxLength, length, FieldSchema.MaxVarCharLength,
                        field.DataType == DataType.VarChar || field.ElementType == DataType.VarChar, "VarChar fields and arrays of VarChar") : field.MaxLength,
                    MaxCapacity = maxCapacity is { } capacity ? Grown(field, "max_capacity", field.MaxCapacity, capacity, FieldSchema.MaxArrayCapacity,
                        field.DataType == DataType.Array, "Array fields") : field.MaxCapacity,
                };
                var schema = Schema with { Fields = Schema.Fields.SetItem(index, changed) };
                await PersistMetaAsync(Meta with { Schema = schema }, cancellationToken).ConfigureAwait(false);
                Schema = schema;
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

    private static int Grown(FieldSchema field, string name, int? current, int wanted, int max, bool applies, string appliesTo)
    {
        if (!applies)
        {
            Throw.Invalid($"alter field '{field.Name}': {name} applies to {appliesTo}, and the field is {field.DataType}");
        }

        if (wanted < 1 || wanted > max)
        {
            Throw.Invalid($"alter field '{field.Name}': {name} must be in 1..{max}, got {wanted}");
        }

        if (wanted < current)
        {
            Throw.Invalid($"alter field '{field.Name}': {name} can only grow ({current} to {wanted} asked): stored rows may not fit a smaller limit");
        }

        return wanted;
    }
}
