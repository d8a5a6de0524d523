using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Quiver.Cluster.Nodes;

/// <summary>What every grain and the access layer of one node share: the node's configuration, its JetStream client
/// and the cluster's collection catalog.</summary>
internal sealed class NodeContext(NodeConfig config, INatsJSContext jetStream, CollectionCatalog catalog)
{
    /// <summary>The node's configuration.</summary>
    public NodeConfig Config { get; } = config;

    /// <summary>The JetStream client over the node's NATS connection.</summary>
    public INatsJSContext JetStream { get; } = jetStream;

    /// <summary>The cluster's collections.</summary>
    public CollectionCatalog Catalog { get; } = catalog;

    /// <summary>The KV context of <see cref="JetStream"/>.</summary>
    public INatsKVContext KeyValue => new NatsKVContext(JetStream);

    /// <summary>Where shard grains are active (<see cref="ClusterStatus"/>), KV bucket <c>{cluster}-placement</c>; set
    /// before the node serves.</summary>
    public INatsKVStore Placement { get; set; } = null!;

    /// <summary>The cluster's users, roles and grants (<see cref="ClusterSecurity"/>); set before the node serves.</summary>
    public ClusterSecurity Security { get; set; } = null!;

    /// <summary>Fault injection for tests: awaited by a shard grain before it opens its engine and by a replica grain
    /// before it opens its follower (with the grain's key, <c>{database}/{collection}[/{shard}]</c> for a shard and
    /// <c>{shard key}#{index}</c> for a replica, and the token that stops the open), as a slow open on a loaded machine
    /// would take its time; null (the default) in a node.</summary>
    public Func<string, CancellationToken, Task>? BeforeOpen { get; init; }

    /// <summary>Test seam, null in a node: awaited by a shard grain with its key as its collection is dropped
    /// (<c>DropStorageAsync</c>), once it answers calls that it was dropped and has closed its engine, before it deletes its
    /// storage and deactivates, so a test can hold a grain there (or fail the delete) and send calls to it.</summary>
    public Func<string, Task>? ShardDropStep { get; set; }

    /// <summary>Test seam, null in a node: called by a shard grain with its key once it has deactivated, so a test knows
    /// that the next call to the key activates the grain anew.</summary>
    public Action<string>? ShardDeactivated { get; set; }

    /// <summary>How often a shard grain checks that it runs where <see cref="ShardPlacementDirector"/> places it among the
    /// live nodes (<see cref="ShardGrain"/>); a shard moves at the second check that sees the same live set.</summary>
    public TimeSpan ShardRebalancePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The cluster's bulk-import jobs as this node runs and reads them; set before the node serves.</summary>
    public ClusterImports Imports { get; set; } = null!;

    /// <summary>The cluster's work (index builds) as this node queues and takes it; null (in-process tests): shard
    /// engines build their indexes themselves.</summary>
    public ClusterWork? Work { get; set; }

    /// <summary>The Milvus port the node bound (set once it listens; <see cref="NodeConfig.MilvusPort"/> may be 0).</summary>
    public int MilvusPort { get; set; }
}
