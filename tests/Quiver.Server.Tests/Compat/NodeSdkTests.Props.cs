namespace Quiver.Server.Tests.Compat;

public sealed partial class NodeSdkTests
{
    /// <summary>Partition keys (is_partition_key, num_partitions: hidden partitions, reads pinned to a tenant equal to a
    /// brute-force oracle, partition APIs refused), AlterIndex (mmap.enabled set, described, dropped; a build parameter
    /// refused) and collection.ttl.seconds (rows expire from count, get and search; a bad TTL refused) through the SDK
    /// (props.js).</summary>
    [Fact]
    public Task PartitionKeysTtlAndAlterIndex_AsTheSdkUsesThem() => RunScriptAsync("props.js");
}
