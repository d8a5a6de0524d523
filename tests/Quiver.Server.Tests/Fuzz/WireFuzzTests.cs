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
        var outcome = await fuzzer.RunAsync(seed, 0, cases);
        output.WriteLine($"wire fuzz: seed {seed}, {cases} cases, {clock.Elapsed.TotalSeconds:0.0} s, {outcome.Failures.Count} failures");
        foreach (var (label, count) in outcome.Known)
        {
            output.WriteLine($"  known, owned elsewhere: {label}: {count}");
        }
        if (outcome.Failures.Count > 0)
        {
            var report = new StringBuilder($"{outcome.Failures.Count} failing cases (seed {seed}; FuzzCase.Make(seed, case) rebuilds each input):\n");
            foreach (var failure in outcome.Failures.Take(20))
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

    /// <summary>The canary of <see cref="KnownElsewhere.DuplicateKey"/>: a body with a repeated key still answers 65535.
    /// When this fails, the REST body reader refuses duplicate keys: delete this test and the class in
    /// <see cref="KnownElsewhere"/>, so that the fuzzer counts such answers as failures again.</summary>
    [Fact]
    public async Task KnownElsewhere_DuplicateKey_IsStillAnInternalError()
    {
        await using var fuzzer = await WireFuzzer.StartAsync();
        var body = Encoding.UTF8.GetBytes("{\"collectionName\":\"fz_all\",\"collectionName\":\"fz_str\"}");
        Assert.True(KnownElsewhere.HasDuplicateKey(body));
        var verdict = await fuzzer.RunCaseAsync(new FuzzCase(0, 0, FuzzSurface.Rest, "/collections/has", body, Mutated: false));
        Assert.Equal(KnownElsewhere.DuplicateKey, verdict.Known);
    }

    /// <summary>The canary of <see cref="KnownElsewhere.InvalidUtf8Name"/>: a member name with a byte that is not UTF-8
    /// still answers 65535. When this fails, delete it and the class in <see cref="KnownElsewhere"/>.</summary>
    [Fact]
    public async Task KnownElsewhere_InvalidUtf8Name_IsStillAnInternalError()
    {
        await using var fuzzer = await WireFuzzer.StartAsync();
        byte[] body = [.. "{\"collectionName"u8, 0xff, .. "\":\"fz_all\"}"u8];
        Assert.False(KnownElsewhere.IsUtf8(body));
        var verdict = await fuzzer.RunCaseAsync(new FuzzCase(0, 0, FuzzSurface.Rest, "/collections/has", body, Mutated: false));
        Assert.Equal(KnownElsewhere.InvalidUtf8Name, verdict.Known);
    }
}
