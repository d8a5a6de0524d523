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
}
