using System.Globalization;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Quiver.Cluster.Nodes;

/// <summary>The placement strategy of shard grains: a collection's shards spread over the live nodes
/// (<see cref="ShardPlacementDirector"/>).</summary>
[GenerateSerializer]
[Immutable]
internal sealed class ShardPlacement : PlacementStrategy;

/// <summary>Puts a grain class under <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class ShardPlacementAttribute() : PlacementAttribute(new ShardPlacement());

/// <summary>Places shard <c>i</c> of a collection on the live node <see cref="Choose"/> names. Orleans's default placement
/// put most shards on the node that received the create, so a node's memory did not fall with more nodes; this rule gives
/// each live node <c>floor(S / N)</c> or <c>ceil(S / N)</c> of a collection's <c>S</c> shards, the collection's first shard
/// on a node of its own (so that the one-shard collections of a database spread too). It reads no record: every node
/// computes the same answer from the same live set, so placements racing on several nodes agree.</summary>
internal sealed class ShardPlacementDirector : IPlacementDirector
{
    /// <inheritdoc/>
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(Choose(target.GrainIdentity.Key.ToString()!, context.GetCompatibleSilos(target)));

    /// <summary>The node of the live <paramref name="silos"/> where shard <paramref name="shardKey"/> belongs: with the
    /// silos in the order of their endpoints, shard <c>i</c> of collection <c>c</c> goes to silo
    /// <c>(h(c) + i) mod N</c>, <c>h</c> a fixed hash of the collection's key (<see cref="ShardKeys.Of(string, string)"/>).
    /// Consecutive shards take consecutive silos, so each silo holds <c>floor(S / N)</c> or <c>ceil(S / N)</c> of them.</summary>
    public static SiloAddress Choose(string shardKey, IReadOnlyCollection<SiloAddress> silos)
    {
        if (silos.Count == 0)
        {
            throw new OrleansException($"no live node to place shard '{shardKey}' on");
        }

        var ordered = silos.OrderBy(ReplicaRecords.Endpoint, StringComparer.Ordinal).ToArray();
        var (collection, shard) = Parse(shardKey);
        var start = (int)(Fnv1a(collection) % (uint)ordered.Length);
        return ordered[(start + shard) % ordered.Length];
    }

    /// <summary>The collection key and the shard number of shard key <paramref name="shardKey"/>: <c>{db}/{c}</c> is shard
    /// 0 of <c>{db}/{c}</c>, <c>{db}/{c}/{i}</c> shard <c>i</c> (<see cref="ShardKeys.Of(string, string, int)"/>).</summary>
    public static (string Collection, int Shard) Parse(string shardKey)
    {
        var first = shardKey.IndexOf('/', StringComparison.Ordinal);
        var last = shardKey.LastIndexOf('/');
        return last > first && int.TryParse(shardKey.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var shard)
            ? (shardKey[..last], shard)
            : (shardKey, 0);
    }

    /// <summary>FNV-1a (32-bit) of <paramref name="text"/>'s UTF-16 code units: fixed, the same in every process.</summary>
    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
