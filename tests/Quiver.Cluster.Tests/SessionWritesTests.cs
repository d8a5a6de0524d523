using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The node's memory of each client's last write per shard (Session reads): the largest timestamp kept, and a
/// bound that forgets the oldest entries, so clients that came and went do not pile up for the node's lifetime.</summary>
public sealed class SessionWritesTests
{
    [Fact]
    public void Record_KeepsTheLargestTimestamp_PerClientAndShard()
    {
        var writes = new SessionWrites();
        writes.Record("a", "db/c#0", 10);
        writes.Record("a", "db/c#0", 7);
        writes.Record("a", "db/c#1", 3);
        writes.Record("b", "db/c#0", 20);

        Assert.True(writes.TryGet("a", "db/c#0", out var a0));
        Assert.Equal(10, a0);
        Assert.True(writes.TryGet("a", "db/c#1", out var a1));
        Assert.Equal(3, a1);
        Assert.True(writes.TryGet("b", "db/c#0", out var b0));
        Assert.Equal(20, b0);
        Assert.False(writes.TryGet("b", "db/c#1", out _));
        Assert.Equal(3, writes.Count);
    }

    [Fact]
    public void ManyClients_StayWithinTheCapacity_AndTheNewestWritesAreRemembered()
    {
        const int capacity = 64;
        var writes = new SessionWrites(capacity);
        for (var i = 1; i <= 10_000; i++)
        {
            writes.Record($"client-{i}", "db/c#0", i);
            Assert.InRange(writes.Count, 1, capacity);
        }

        // The most recent writers are the ones a Session read is likely to come from: each trim forgets the older half.
        for (var i = 10_000 - capacity / 2 + 1; i <= 10_000; i++)
        {
            Assert.True(writes.TryGet($"client-{i}", "db/c#0", out var t), $"client-{i} forgotten");
            Assert.Equal(i, t);
        }

        Assert.False(writes.TryGet("client-1", "db/c#0", out _));
    }

    [Fact]
    public async Task RacingWriters_NeverLoseTheirOwnLatestTimestamp_AndTheCountStaysExact()
    {
        var writes = new SessionWrites(4_096);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 1; i <= 5_000; i++)
            {
                writes.Record($"w{w}-{i % 300}", "db/c#0", (w * 1_000_000L) + i);
            }
        })));

        Assert.Equal(4 * 300, CountEntries(writes, 4, 300));
        Assert.Equal(4 * 300, writes.Count);
        for (var w = 0; w < 4; w++)
        {
            for (var c = 0; c < 300; c++)
            {
                // Each key's last write was its largest.
                var last = Enumerable.Range(1, 5_000).Last(i => i % 300 == c);
                Assert.True(writes.TryGet($"w{w}-{c}", "db/c#0", out var t));
                Assert.Equal((w * 1_000_000L) + last, t);
            }
        }
    }

    private static int CountEntries(SessionWrites writes, int writers, int clients) =>
        Enumerable.Range(0, writers).Sum(w => Enumerable.Range(0, clients).Count(c => writes.TryGet($"w{w}-{c}", "db/c#0", out _)));
}
