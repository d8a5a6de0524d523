using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Model;

/// <summary>Model-based property test: random inserts, upserts, deletes by key and by filter, flushes, compactions,
/// reopens, partition create/drop and vector index create/drop (FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ), checked after
/// every step against an in-memory dictionary (count, point reads, and while an index exists an unfiltered search) and
/// every few steps in full (all rows, random filter queries, searches against the brute-force oracle: exactly with the
/// <c>exact</c> parameter or a FLAT index, by recall over the run and per-hit validity with an approximate one).</summary>
public sealed class EngineModelTests(ITestOutputHelper output)
{
    public static TheoryData<bool, MetricType, bool, int> Configs => new()
    {
        { false, MetricType.L2, false, 1 },
        { true, MetricType.IP, false, 2 },
        { false, MetricType.Cosine, true, 3 },
        { true, MetricType.Cosine, false, 4 },
        { false, MetricType.IP, true, 5 },
        { true, MetricType.L2, true, 6 },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public async Task RandomOperations_MatchInMemoryModel(bool stringKeys, MetricType metric, bool background, int seed)
    {
        var stats = await RunAsync(new ModelConfig(stringKeys, metric, background, seed, Steps: 200));
        if (!background)
        {
            // The byte thresholds are small enough that explicit compactions find whole tiers of small segments to merge.
            Assert.True(stats.GetValueOrDefault("segments merged") > 0, "no compaction merged anything");
        }
    }

    /// <summary>Many more seeds and steps with QUIVER_LONG=1; a short run of a few seeds otherwise.</summary>
    [Fact]
    [Trait("Category", "Long")]
    public async Task RandomOperations_LongTier()
    {
        var seeds = TestTier.Pick(2, 60);
        var steps = TestTier.Pick(60, 500);
        for (var s = 0; s < seeds; s++)
        {
            var seed = 1000 + s;
            await RunAsync(new ModelConfig(s % 2 == 1, (MetricType)(s % 3), s % 4 >= 2, seed, steps));
        }
    }

    private async Task<SortedDictionary<string, int>> RunAsync(ModelConfig config)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var runner = new ModelRunner(config);
        await runner.RunAsync();
        output.WriteLine($"{config}: {clock.Elapsed.TotalSeconds:F1} s; {string.Join(", ", runner.Stats.Select(kv => $"{kv.Key}={kv.Value}"))}");
        return runner.Stats;
    }
}
