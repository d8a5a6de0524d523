using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class IvfPqIndexTests : IvfFamilyTests
{
    private protected override IndexKind Kind => IndexKind.IvfPq;

    private protected override string Extra => "\"m\": 8,";

    // Raw PQ distances (m 8 on dim 32, 8-bit codes) at these seeds: recall@10 0.70-0.73 with every list probed and
    // 0.67-0.71 with 4 of 32; a coarser quantizer or a wrong distance table lands well below.
    private protected override double FullProbeRecall => 0.62;

    private protected override double NarrowProbeRecall => 0.55;

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Search_WithRefineK_ReachesHigherRecall(MetricType metric)
    {
        const string json = """{"nlist": 16, "m": 8}""";
        var plain = IvfContract.RecallAtLeast(Kind, metric, json, new AnnSearchParams(Nprobe: 16), 0.6);
        var refined = IvfContract.RecallAtLeast(Kind, metric, json, new AnnSearchParams(Nprobe: 16, RefineK: 8), 0.97);
        Assert.True(refined > plain, $"refined {refined} <= plain {plain}");
    }

    /// <summary>Wider codes lose less (at these seeds recall@10 0.54 with 4 bits, 0.91 with 9 bits, m 16 on dim 32), and
    /// re-ranking the candidates by exact distance matches the oracle at either width (0.99 and 1.0).</summary>
    [Theory]
    [InlineData(4, 0.45)]
    [InlineData(9, 0.8)]
    public void Search_WithOtherCodeWidths_MatchesOracleOnceReranked(int nbits, double rawRecall)
    {
        var json = $$"""{"nlist": 8, "m": 16, "nbits": {{nbits}}}""";
        IvfContract.RecallAtLeast(Kind, MetricType.L2, json, new AnnSearchParams(Nprobe: 8), rawRecall);
        IvfContract.RecallAtLeast(Kind, MetricType.L2, json, new AnnSearchParams(Nprobe: 8, RefineK: 8), 0.95);
    }

    [Fact]
    public void Refined_search_round_trips() =>
        IvfContract.RoundTripsAndIsThreadSafe(Kind, MetricType.IP, """{"nlist": 8, "m": 4, "nbits": 6}""", new AnnSearchParams(Nprobe: 2, RefineK: 3));

    [Fact]
    public void Validate_WhenDimensionNotDivisibleByM_NamesM()
    {
        var e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"m": 7}"""), 32));
        Assert.Contains("'m'", e.Message, StringComparison.Ordinal);
        Assert.Contains("32", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"m": 8, "nbits": 17}"""), 32));
        Assert.Contains("nbits", e.Message, StringComparison.Ordinal);
    }
}
