using System.Globalization;
using Quiver.Engine.Tests.Indexing;
using Quiver.Indexing;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Model;

/// <summary>IVF's coarse k-means seeded uniformly (<see cref="KMeansInit.Random"/>) against k-means++
/// (<see cref="KMeansInit.PlusPlus"/>), measured over many seeds rather than one: the recall@k of every approximate IVF
/// kind in the model test's runs (<see cref="ModelRunner"/>, background maintenance off so that a seed replays exactly),
/// and of fresh index builds on <see cref="IvfContract"/>'s data with the build seed varied. Prints each seed's recall and
/// the mean, spread, minimum and maximum per kind and the paired difference seed by seed.
/// <para>Measured (long tier, 32 seeds; the figures are in docs/engine.md, "IVF seeding"): on the model test's segments of a few
/// dozen rows with nlist 8, k-means++ loses on average (all 67 runs with an IVF index: 0.9869 against 0.9914; IVF_SQ8
/// -0.0097 paired, its worst run 0.848 against random's 0.949); on 3,000 clustered rows with nlist 32 and nprobe 4 it
/// gains a little (mean over the nine kind and metric pairs 0.8232 against 0.8187). Uniform seeding stays the default, as
/// k-means++ is not at least as good across the suites' IVF tests; each test holds its measurement's winner to at least
/// the other's mean over all runs, and no kind worse by more than two standard errors of its paired difference. 32 seeds
/// (model runs of 200 steps) in the long tier. Maintenance is off and k-means seeded, but a build can finish at another
/// step of a run, so a seed's figures move by a few thousandths between runs: the comparison needs the long tier's seeds.
/// In CI (3 seeds, 60 steps) each run is held to its suite's own threshold instead: the model test's recall (0.9) for
/// both seedings, and IvfFamilyTests' narrow-probe recall for each build.</para></summary>
public sealed class KMeansInitRecallTests(ITestOutputHelper output)
{
    private static readonly KMeansInit[] Inits = [KMeansInit.Random, KMeansInit.PlusPlus];

    [Fact]
    [Trait("Category", "Long")]
    public async Task ModelRuns_OverSeeds_RandomInitRecallAtLeastPlusPlusOnAverage()
    {
        var seeds = TestTier.Pick(3, 32);
        var steps = TestTier.Pick(60, 200);
        var recall = new Dictionary<(KMeansInit, string), List<double>>();
        for (var s = 1; s <= seeds; s++)
        {
            // Key type and metric vary with the seed, as in EngineModelTests' long tier; maintenance off.
            var config = new ModelConfig(s % 2 == 0, (MetricType)(s % 3), Background: false, Seed: s, steps) { CheckRecall = !TestTier.IsLong };
            var runs = new Dictionary<KMeansInit, IReadOnlyDictionary<string, (long Found, long Wanted)>>();
            foreach (var init in Inits)
            {
                await using var runner = new ModelRunner(config with { KMeansInit = init });
                await runner.RunAsync();
                runs[init] = runner.Recall;
            }

            // A seed's operations do not depend on the answers, so both runs made the same indexes: compared kind by kind.
            var line = new List<string>();
            foreach (var (type, (found, wanted)) in runs[KMeansInit.Random].OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                if (type.StartsWith("IVF", StringComparison.Ordinal) && wanted > 0 && runs[KMeansInit.PlusPlus].TryGetValue(type, out var other) && other.Wanted > 0)
                {
                    Add(recall, (KMeansInit.Random, type), (double)found / wanted);
                    Add(recall, (KMeansInit.PlusPlus, type), (double)other.Found / other.Wanted);
                    line.Add(string.Create(CultureInfo.InvariantCulture, $"{type} random {(double)found / wanted:F3} k-means++ {(double)other.Found / other.Wanted:F3} (of {wanted})"));
                }
            }

            output.WriteLine($"seed {s} ({config}): {string.Join(", ", line)}");
        }

        AssertAtLeastOnAverage(recall, KMeansInit.Random);
    }

    [Fact]
    [Trait("Category", "Long")]
    public void IndexBuilds_OverBuildSeeds_PlusPlusRecallAtLeastRandomsOnAverage()
    {
        var seeds = TestTier.Pick(3, 32);
        var data = IndexTestKit.Clustered(11, IvfContract.Rows, IvfContract.Dim);
        var queries = IndexTestKit.Queries(12, 40, IvfContract.Dim);
        (IndexKind Kind, string Json, AnnSearchParams Search)[] cases =
        [
            // IvfFamilyTests' narrow probe: 4 of 32 lists.
            (IndexKind.IvfFlat, """{"nlist":32}""", new AnnSearchParams(Nprobe: 4)),
            (IndexKind.IvfSq8, """{"nlist":32}""", new AnnSearchParams(Nprobe: 4)),
            (IndexKind.IvfPq, """{"m":8,"nlist":32}""", new AnnSearchParams(Nprobe: 4)),
        ];
        var recall = new Dictionary<(KMeansInit, string), List<double>>();
        foreach (var metric in new[] { MetricType.L2, MetricType.IP, MetricType.Cosine })
        {
            foreach (var (kind, json, search) in cases)
            {
                var p = IndexParameters.FromJson(json);
                for (var seed = 1; seed <= seeds; seed++)
                {
                    foreach (var init in Inits)
                    {
                        using var index = IndexFactory.Build(kind, metric, p, IndexTestKit.View(data, IvfContract.Dim), new IndexBuildOptions(2, seed, KMeansInit: init), default);
                        var r = IndexTestKit.Recall(index, data, queries, 10, search);
                        Add(recall, (init, $"{kind} {metric}"), r);
                        if (!TestTier.IsLong)
                        {
                            // IvfFamilyTests' NarrowProbeRecall for the kind.
                            var min = kind == IndexKind.IvfPq ? 0.55 : kind == IndexKind.IvfSq8 ? 0.95 * 0.6 : 0.999 * 0.6;
                            Assert.True(r >= min, $"{kind} {metric} build seed {seed} {init}: recall {r:F3} < {min}");
                        }
                    }
                }
            }
        }

        AssertAtLeastOnAverage(recall, KMeansInit.PlusPlus);
    }

    private static void Add(Dictionary<(KMeansInit, string), List<double>> recall, (KMeansInit, string) key, double value)
    {
        if (!recall.TryGetValue(key, out var list))
        {
            recall[key] = list = [];
        }

        list.Add(value);
    }

    /// <summary>Per kind, over the same seeds: each init's mean, standard deviation, minimum and maximum, and the mean of
    /// the paired differences (<paramref name="winner"/> minus the other, seed by seed) with its standard error. Holds
    /// <paramref name="winner"/> to at least the other's mean over every run of every kind, and no kind worse by more than
    /// two standard errors of its paired difference (a loss the seeds cannot tell from noise is not counted as one).</summary>
    private void AssertAtLeastOnAverage(Dictionary<(KMeansInit, string), List<double>> recall, KMeansInit winner)
    {
        var loser = winner == KMeansInit.Random ? KMeansInit.PlusPlus : KMeansInit.Random;
        var failures = new List<string>();
        var allWinner = new List<double>();
        var allLoser = new List<double>();
        foreach (var type in recall.Keys.Select(k => k.Item2).Distinct().Order(StringComparer.Ordinal))
        {
            var w = recall.GetValueOrDefault((winner, type)) ?? [];
            var l = recall.GetValueOrDefault((loser, type)) ?? [];
            Assert.Equal(w.Count, l.Count);
            allWinner.AddRange(w);
            allLoser.AddRange(l);
            var diff = w.Zip(l, (a, b) => a - b).ToList();
            var se = diff.Count > 1 ? Sd(diff) / Math.Sqrt(diff.Count) : 0;
            var (random, plus) = winner == KMeansInit.Random ? (w, l) : (l, w);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{type} ({w.Count} runs): random mean {Mean(random):F4} sd {Sd(random):F4} min {Min(random):F3} max {Max(random):F3}; k-means++ mean {Mean(plus):F4} sd {Sd(plus):F4} min {Min(plus):F3} max {Max(plus):F3}; {winner} minus {loser} paired {Mean(diff):+0.0000;-0.0000} (standard error {se:F4})"));
            if (diff.Count > 0 && Mean(diff) < -2 * se)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{type}: {winner} below {loser} by {-Mean(diff):F4}, more than two standard errors ({se:F4})"));
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all ({allWinner.Count} runs): {winner} mean {Mean(allWinner):F4}, {loser} mean {Mean(allLoser):F4}"));
        if (!TestTier.IsLong)
        {
            // A few seeds cannot tell the two apart from a run's own noise (see the class summary).
            return;
        }

        if (Mean(allWinner) < Mean(allLoser))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"over every run {winner}'s mean recall {Mean(allWinner):F4} is below {loser}'s {Mean(allLoser):F4}"));
        }

        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    private static double Sd(List<double> v)
    {
        if (v.Count < 2)
        {
            return 0;
        }

        var mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1));
    }

    private static double Mean(List<double> v) => v.Count == 0 ? double.NaN : v.Average();

    private static double Min(List<double> v) => v.Count == 0 ? double.NaN : v.Min();

    private static double Max(List<double> v) => v.Count == 0 ? double.NaN : v.Max();
}
