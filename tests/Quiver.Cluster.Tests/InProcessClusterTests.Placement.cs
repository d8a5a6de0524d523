using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>The in-process tier's cases of shard placement (<see cref="ShardPlacementDirector"/>): a collection's shards
/// spread over the live silos, a silo that joins takes its share, a stopped silo's shards move to the live ones. The
/// oracle is the spread itself, read from Orleans's management grain: with <c>S</c> shards on <c>N</c> live silos every
/// silo holds <c>floor(S / N)</c> or <c>ceil(S / N)</c> of them; and the rows each shard was given, read back after it
/// moved.</summary>
public sealed partial class InProcessClusterTests
{
    /// <summary>How long a placement may take to settle before the test fails (a safety net on a loaded machine: the
    /// test waits on the placement itself).</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromMinutes(4);

    [NatsFact]
    public async Task EveryCollectionsShards_SpreadOverTheLiveSilos_OnePerSiloForThreeShards()
    {
        // Orleans's default placement put at least two of three shards on one node in every run of last session's
        // benchmark; three collections of three shards each on three distinct silos is what the rule promises.
        using var data = new TempFolder("quiver-inproc-spread");
        await using var cluster = await StartAsync(data.Path);
        var keys = new[] { "wide_a", "wide_b", "wide_c" }.Select(c => Enumerable.Range(0, 3).Select(i => ShardKeys.Of("default", c, i)).ToArray()).ToArray();
        await Task.WhenAll(keys.SelectMany(k => k).Select(k => cluster.Client.GetGrain<IShardGrain>(k).ReadyAsync()));

        var places = await ShardSilosAsync(cluster, keys.SelectMany(k => k).ToArray());

        foreach (var collection in keys)
        {
            Assert.Equal(3, collection.Select(k => places[k]).Distinct().Count());
        }
    }

    [NatsFact]
    public async Task ASiloThatJoins_TakesItsShareOfTheShards_AndAStoppedSilosShardsMoveToTheLiveOnes_KeepingTheirRows()
    {
        using var data = new TempFolder("quiver-inproc-join");
        await using var cluster = await StartAsync(data.Path, rebalancePeriod: TimeSpan.FromSeconds(1));
        const string Name = "shared";
        var keys = Enumerable.Range(0, 4).Select(i => ShardKeys.Of("default", Name, i)).ToArray();
        var shards = keys.Select(k => cluster.Client.GetGrain<IShardGrain>(k)).ToArray();
        var oracles = keys.Select(_ => new SortedSet<long>()).ToArray();
        for (var i = 0; i < shards.Length; i++)
        {
            await CreateAsync(shards[i], Name);
            await InsertAsync(shards[i], Name, oracles[i], i * 100, 20);
        }

        // Four shards on three silos: two, one and one.
        await UntilSpreadAsync(cluster, keys);

        // A fourth silo joins: it takes one shard, so each silo holds one.
        var joined = await cluster.Cluster.StartAdditionalSiloAsync();
        var spread = await UntilSpreadAsync(cluster, keys);
        Assert.Contains(joined.SiloAddress, spread.Values);

        // A silo that is not the primary (which keeps the test cluster's membership) stops: its shard comes back on one of
        // the three live silos, which again hold two, one and one.
        var stopped = cluster.Cluster.Silos.First(s => s != cluster.Cluster.Primary && spread.ContainsValue(s.SiloAddress));
        await cluster.Cluster.StopSiloAsync(stopped);
        var after = await UntilSpreadAsync(cluster, keys);
        Assert.DoesNotContain(stopped.SiloAddress, after.Values);

        for (var i = 0; i < shards.Length; i++)
        {
            Assert.Equal(oracles[i], await KeysAsync(shards[i], Name));
        }
    }

    /// <summary>Waits until every shard of <paramref name="keys"/> is active once, on a live silo, and the live silos hold
    /// <c>floor(S / N)</c> or <c>ceil(S / N)</c> of them each; returns where each is. Calls each shard meanwhile, since a
    /// shard whose silo stopped activates again at its next call.</summary>
    private static async Task<Dictionary<string, SiloAddress>> UntilSpreadAsync(InProcessCluster cluster, string[] keys)
    {
        using var timeout = new CancellationTokenSource(SettleTimeout);
        while (true)
        {
            await Task.WhenAll(keys.Select(k => cluster.Client.GetGrain<IShardGrain>(k).ReadyAsync()));
            var live = cluster.Cluster.GetActiveSilos().Select(s => s.SiloAddress).ToArray();
            var places = await ShardSilosAsync(cluster, keys, mustBeOne: false);
            if (places.Count == keys.Length && places.Values.All(live.Contains))
            {
                var counts = live.Select(s => places.Values.Count(p => p.Equals(s))).ToArray();
                if (counts.Max() - counts.Min() <= 1)
                {
                    return places;
                }
            }

            Assert.False(timeout.IsCancellationRequested, $"the shards did not spread over {live.Length} silos within {SettleTimeout}: {string.Join(", ", places.Select(p => $"{p.Key}@{p.Value}"))}");
            await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
        }
    }

    /// <summary>Where each shard of <paramref name="keys"/> is active, read from Orleans's management grain; a shard not
    /// active exactly once is left out (or fails the test when <paramref name="mustBeOne"/>).</summary>
    private static async Task<Dictionary<string, SiloAddress>> ShardSilosAsync(InProcessCluster cluster, string[] keys, bool mustBeOne = true)
    {
        var statistics = await cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var found = new Dictionary<string, SiloAddress>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var activations = statistics.Where(s => s.GrainId.Type.ToString() == "shard" && s.GrainId.Key.ToString() == key).ToArray();
            Assert.False(mustBeOne && activations.Length != 1, $"{activations.Length} activations of shard '{key}'");
            if (activations.Length == 1)
            {
                found[key] = activations[0].SiloAddress;
            }
        }

        return found;
    }
}
