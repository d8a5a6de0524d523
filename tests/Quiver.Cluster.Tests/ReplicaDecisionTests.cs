using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The placement rule of a collection's replica set grain (<see cref="ReplicaSetGrain.Decide"/>, docs/cluster.md
/// "Replicas"), without a cluster: the decisions a load and its retries ask, in every order a racing load can run them,
/// checked against the rule (each replica on one node when there are enough, the replicas on disjoint nodes).
/// <see cref="InProcessClusterTests"/> runs the same through the grain on a test cluster, in one random order per run.</summary>
public sealed class ReplicaDecisionTests
{
    private static readonly string[] Three = ["127.0.0.1:11111", "127.0.0.1:11112", "127.0.0.1:11113"];

    /// <summary>Every (shard, replica) asked twice, in 5,000 seeded orders: one order in about 30 gave a replica two
    /// nodes before the rule counted a replica's own place among its index's (a second ask re-picked from the free nodes
    /// left, fewer by then).</summary>
    [Theory]
    [InlineData(4, 3)]
    [InlineData(1, 3)]
    [InlineData(3, 2)]
    [InlineData(5, 1)]
    public void DecisionsAskedTwice_InAnyOrder_GiveEachReplicaOneNode_AndTheReplicasDisjointNodes(int shards, int replicas)
    {
        var random = new Random(17);
        for (var round = 0; round < 5_000; round++)
        {
            var asks = Enumerable.Range(0, shards).SelectMany(s => Enumerable.Range(0, replicas).Select(i => (Shard: s, Index: i)))
                .SelectMany(a => new[] { a, a }).OrderBy(_ => random.Next()).ToArray();
            var places = new Dictionary<(int Shard, int Index), string>();
            var answers = new List<(int Index, string Silo)>();
            foreach (var (shard, index) in asks)
            {
                var chosen = ReplicaSetGrain.Decide(places, shard, index, Three);
                places[(shard, index)] = chosen;
                answers.Add((index, chosen));
            }

            var nodesOf = answers.GroupBy(a => a.Index).ToDictionary(g => g.Key, g => g.Select(a => a.Silo).Distinct().ToArray());
            Assert.True(nodesOf.Values.All(nodes => nodes.Length == 1), $"round {round}: {string.Join("; ", asks)} gave {string.Join("; ", answers)}");
            Assert.Equal(replicas, nodesOf.Values.Select(nodes => nodes[0]).Distinct().Count());
        }
    }

    [Fact]
    public void AReplicaAskedAgain_KeepsItsNode_UnlessAnotherReplicaTookIt()
    {
        // Replica 1 of shard 2 first (the free nodes' second), then replica 2 of shard 1 (the free nodes' first): asked
        // again, replica 1 stays where it is, although the free nodes left now put index 1 elsewhere.
        var places = new Dictionary<(int Shard, int Index), string>();
        places[(2, 1)] = ReplicaSetGrain.Decide(places, 2, 1, Three);
        places[(1, 2)] = ReplicaSetGrain.Decide(places, 1, 2, Three);
        Assert.Equal(Three[1], places[(2, 1)]);
        Assert.Equal(Three[0], places[(1, 2)]);
        Assert.Equal(Three[1], ReplicaSetGrain.Decide(places, 2, 1, Three));

        // Its node taken by another replica (recorded there by an activation the grain did not place): it moves to a free one.
        places[(0, 0)] = Three[1];
        Assert.Equal(Three[2], ReplicaSetGrain.Decide(places, 2, 1, Three));
    }

    [Fact]
    public void AReplicaSharingANode_MovesToANodeThatJoined_AndAReplicaOnADeadNodeMoves()
    {
        var two = Three[..2];
        var places = new Dictionary<(int Shard, int Index), string>
        {
            [(0, 0)] = Three[0],
            [(0, 1)] = Three[1],
        };

        // Three replicas on two nodes: replica 2 shares the node with the fewest (a tie: the first in order).
        places[(0, 2)] = ReplicaSetGrain.Decide(places, 0, 2, two);
        Assert.Equal(Three[0], places[(0, 2)]);

        // The third node live again: replica 2 moves there, where no other replica runs.
        Assert.Equal(Three[2], ReplicaSetGrain.Decide(places, 0, 2, Three));

        // Replica 1's node died: it goes to the free node, not back to its own.
        places[(0, 2)] = Three[2];
        Assert.Equal(Three[2], ReplicaSetGrain.Decide(places.Where(p => p.Key.Index != 2).ToDictionary(), 0, 1, [Three[0], Three[2]]));
    }
}
