using System.Diagnostics;
using System.Globalization;
using System.Text;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>
/// Fuzzes both wires of the server (gRPC messages and REST v2 bodies) with generated and mutated inputs: every answer is
/// a success or a specific Milvus error, and the server keeps answering. A failure lists the seed, the case number and
/// the input; <see cref="FuzzCase.Make"/> rebuilds the input from the seed and number. <c>QUIVER_FUZZ_SEED</c> picks
/// another seed and <c>QUIVER_FUZZ_CASES</c> another number of cases (for exploring; CI uses neither).
/// </summary>
public sealed class WireFuzzTests(ITestOutputHelper output)
{
    private static int SeedOr(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("QUIVER_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : fallback;

    private async Task RunAsync(int seed, int cases)
    {
        cases = int.TryParse(Environment.GetEnvironmentVariable("QUIVER_FUZZ_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : cases;
        await using var fuzzer = await WireFuzzer.StartAsync();
        var clock = Stopwatch.StartNew();
        var failures = await fuzzer.RunAsync(seed, 0, cases);
        output.WriteLine($"wire fuzz: seed {seed}, {cases} cases, {clock.Elapsed.TotalSeconds:0.0} s, {failures.Count} failures");
        if (failures.Count > 0)
        {
            var report = new StringBuilder($"{failures.Count} failing cases (seed {seed}; FuzzCase.Make(seed, case) rebuilds each input):\n");
            foreach (var failure in failures.Take(20))
            {
                report.Append(failure).Append("\n\n");
            }
            Assert.Fail(report.ToString());
        }
    }

    [Fact]
    public Task Wire_CiTier_EveryAnswerIsSuccessOrASpecificCode() => RunAsync(SeedOr(1201), 3000);

    [Fact]
    [Trait("Category", "Long")]
    public Task Wire_LongTier_EveryAnswerIsSuccessOrASpecificCode() => RunAsync(SeedOr(1202), TestTier.Pick(1000, 1_000_000));

    [Fact]
    public void Cases_AreRebuiltExactlyFromSeedAndIndex()
    {
        for (var i = 0; i < 20_000; i++)
        {
            var a = FuzzCase.Make(7, i);
            var b = FuzzCase.Make(7, i);
            Assert.Equal(a.Method, b.Method);
            Assert.Equal(a.Payload, b.Payload);
        }
    }
}
