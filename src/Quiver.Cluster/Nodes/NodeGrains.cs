namespace Quiver.Cluster.Nodes;

/// <summary>What every silo registers for Quiver's grains, a node's (<see cref="ClusterNode"/>) and the in-process test
/// cluster's alike, so the two cannot drift apart: the placement directors of shards and replicas and the grain boundary
/// (<see cref="GrainBoundary"/>).</summary>
internal static class NodeGrains
{
    /// <summary>Registers the placement directors and the grain boundary on a silo.</summary>
    public static ISiloBuilder AddNodeGrains(this ISiloBuilder silo)
    {
        silo.Services.AddPlacementDirector<ReplicaPlacement, ReplicaPlacementDirector>();
        silo.Services.AddPlacementDirector<ShardPlacement, ShardPlacementDirector>();
        return silo.AddGrainBoundary();
    }
}
