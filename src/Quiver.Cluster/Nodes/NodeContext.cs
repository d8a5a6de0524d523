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
}
