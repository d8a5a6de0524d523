namespace Quiver.Server.Milvus;

/// <summary>Partition-key collections (docs/ttl-and-partition-keys.md): their partitions are the engine's, so loading
/// and releasing them one by one is refused with Milvus's message, as creating and dropping them is (by the engine).</summary>
internal sealed partial class MilvusGrpcService
{
    /// <summary>Refuses <paramref name="operation"/> ("load partitions", "release partitions") on a collection with a
    /// partition key: 1100 <c>disable {operation} if partition key mode is used</c>.</summary>
    private void RefuseInPartitionKeyMode(CollectionRef target, string operation)
    {
        if (_engine.GetCollection(target.Name, target.Database).Schema.Fields.Any(f => f.IsPartitionKey))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"disable {operation} if partition key mode is used");
        }
    }
}
