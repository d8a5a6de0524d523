using Quiver.Server.Console;
using Quiver.Server.Observability;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>The metrics history behind the health charts, on a manual clock: each sample holds exactly the calls made
/// since the previous one, the error rate among them, and the search latency percentiles interpolated within the
/// histogram's buckets; the oldest samples are dropped past the limit.</summary>
public sealed class MetricsHistoryTests
{
    [Fact]
    public void Samples_CountTheCallsOfTheirInterval_AndDropTheOldest()
    {
        var clock = new ManualClock();
        using var metrics = new ServerMetrics();
        using var history = new MetricsHistory(metrics, new ConsoleOptions { SampleInterval = TimeSpan.FromSeconds(2), HistorySamples = 3 }, clock);

        // 10 searches of 3 ms (all in the 2.5-5 ms bucket), 2 of them refused; 5 queries of 1 ms.
        for (var i = 0; i < 10; i++)
        {
            metrics.RecordCall("Search", i % 2 == 0 ? "grpc" : "rest", i < 2 ? 1100 : 0, TimeSpan.FromMilliseconds(3));
        }
        for (var i = 0; i < 5; i++)
        {
            metrics.RecordCall("Query", "rest", 0, TimeSpan.FromMilliseconds(1));
        }
        clock.Advance(TimeSpan.FromSeconds(2));

        var first = Assert.Single(history.Samples());
        Assert.Equal(15, first.Calls);
        Assert.Equal(10, first.Searches);
        Assert.Equal(7.5, first.Qps, 9);
        Assert.Equal(5, first.SearchQps, 9);
        Assert.Equal(2.0 / 15, first.ErrorRate!.Value, 9);
        // Rank q × 10 inside the bucket (2.5 ms, 5 ms] that holds all ten: 2.5 + 2.5 × rank / 10.
        Assert.Equal(2.5 + (2.5 * 5 / 10), first.P50Ms!.Value, 9);
        Assert.Equal(2.5 + (2.5 * 9.5 / 10), first.P95Ms!.Value, 9);
        Assert.Equal(2.5 + (2.5 * 9.9 / 10), first.P99Ms!.Value, 9);
        Assert.True(first.WorkingSetBytes > 0 && first.MemoryLimitBytes > 0);

        // An interval without calls: no rate, no percentiles.
        clock.Advance(TimeSpan.FromSeconds(2));
        var quiet = history.Samples()[^1];
        Assert.Equal(0, quiet.Calls);
        Assert.Null(quiet.ErrorRate);
        Assert.Null(quiet.P50Ms);

        metrics.RecordCall("Search", "grpc", 0, TimeSpan.FromMilliseconds(30));
        clock.Advance(TimeSpan.FromSeconds(2));
        clock.Advance(TimeSpan.FromSeconds(2));
        var kept = history.Samples();
        Assert.Equal(3, kept.Count);
        Assert.Equal([0L, 1L, 0L], kept.Select(s => s.Searches));
        Assert.True(kept.Zip(kept.Skip(1)).All(p => p.Second.UnixMs - p.First.UnixMs == 2000));
    }

    [Fact]
    public void Samples_CarryTheRecallEstimatesOfTheirTime_ByDatabaseAndCollection()
    {
        var clock = new ManualClock();
        using var metrics = new ServerMetrics();
        IReadOnlyList<(string, string, int, double)> estimates = [];
        using var history = new MetricsHistory(metrics, new ConsoleOptions { SampleInterval = TimeSpan.FromSeconds(1) }, clock, () => estimates);
        clock.Advance(TimeSpan.FromSeconds(1));
        estimates = [("default", "docs", 10, 0.9), ("db2", "docs", 3, 1.0)];
        clock.Advance(TimeSpan.FromSeconds(1));

        var samples = history.Samples();
        Assert.Empty(samples[0].Recall);
        Assert.Equal(new Dictionary<string, double> { ["default.docs"] = 0.9, ["db2.docs"] = 1.0 }, samples[1].Recall);
    }

    [Theory]
    [InlineData(50, 10, "SampleInterval")]
    [InlineData(1000, 1, "HistorySamples")]
    public void Options_OutOfRange_AreRefusedNamingTheKey(int intervalMs, int samples, string named)
    {
        var options = new ConsoleOptions { SampleInterval = TimeSpan.FromMilliseconds(intervalMs), HistorySamples = samples };
        Assert.Contains("Console:" + named, Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }
}
