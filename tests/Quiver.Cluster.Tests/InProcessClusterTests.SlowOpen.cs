using Quiver.Cluster.Nodes;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A shard whose engine takes longer to open than Orleans's activation timeout, as on a loaded machine (the
/// cluster tests' first <c>CreateCollection</c> failed so at load 60 and more: Orleans cancelled the shard grain's
/// activation, and every call sent again started another open, cancelled in turn). The oracle: the keys the test wrote,
/// and the number of opens the fault hook counted.</summary>
public sealed partial class InProcessClusterTests
{
    /// <summary>The open is held three activation timeouts long (a fault, standing for a slow machine; nothing waits on
    /// it to synchronise). The create sent as the access layer sends it (<see cref="ShardCalls"/>: the shard's
    /// readiness first, sent again while it does not answer) is answered, the shard serves what is then written, and its
    /// engine opened once. Before the open moved out of the activation, Orleans cancelled the activation at its timeout
    /// and the create failed with that cancellation.</summary>
    [NatsFact]
    public async Task AShardWhoseOpenOutlastsTheActivationTimeout_OpensOnce_AndAnswersTheCreate()
    {
        const string Key = "default/slow";
        var activationTimeout = TimeSpan.FromSeconds(5);
        var opens = 0;
        using var data = new TempFolder("quiver-inproc-slow");
        await using var cluster = await StartAsync(data.Path, activationTimeout, async (key, ct) =>
        {
            if (key == Key)
            {
                Interlocked.Increment(ref opens);
                await Task.Delay(activationTimeout * 3, ct);
            }
        });

        await ShardCalls.InvokeAsync(cluster.Client, Key, "CreateCollection", readOnly: false,
            g => ShardRest.CallAsync(g, "/collections/create", ShardRest.Create("slow")), CancellationToken.None);
        var shard = cluster.Client.GetGrain<IShardGrain>(Key);
        var oracle = new SortedSet<long>();
        await RestAsync(shard, "/entities/insert", ShardRest.Insert("slow", oracle, 0, 20));

        Assert.Equal(oracle, await KeysAsync(shard, "slow"));
        Assert.Equal(1, Volatile.Read(ref opens));
    }
}
