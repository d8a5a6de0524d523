namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Raises the limits of a field of a collection (Milvus's AlterCollectionField): <paramref name="maxLength"/>
    /// for a VarChar field or an Array of VarChar, <paramref name="maxCapacity"/> for an Array field (null leaves a limit
    /// as it is). Limits only grow (a smaller one is refused, as stored rows may not fit it); the new schema is durable
    /// and every write after the call is checked against it. NotFound for an unknown field.</summary>
    public Task AlterCollectionFieldAsync(string collection, string field, int? maxLength = null, int? maxCapacity = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(field);
        return Require(database, collection).AlterFieldAsync(field, maxLength, maxCapacity, cancellationToken);
    }

    /// <summary>Adds a field to an existing collection (Milvus's AddCollectionField), loaded and with rows or not: a
    /// nullable scalar field, optionally with a default value, appended after the existing fields. Rows written before
    /// read the default value, or null; later writes may give values. Refused (InvalidArgument, Milvus's messages): a field
    /// that is not nullable, a primary key, auto_id, a vector field, a name already in use, the 65th field, and any field
    /// the schema rules refuse. Durable when the call returns; a crash leaves the collection with or without the field.
    /// Costs a checkpoint (every growing segment is sealed) and, per sealed segment, a column of the new field held in
    /// memory until the segment is next compacted.</summary>
    public Task AddCollectionFieldAsync(string collection, FieldSchema field, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(field);
        var shard = Require(database, collection);
        // A TIMESTAMPTZ default without an offset is read in the collection's zone now, as Milvus's add-field does.
        if (field.DataType == DataType.Timestamptz && Timestamptz.Resolve(null, shard.Meta.Properties) is { } zone)
        {
            field = Timestamptz.FixDefaults(new CollectionSchema { Fields = [field] }, zone).Fields[0];
        }

        return shard.AddFieldAsync(field, cancellationToken);
    }
}
