using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class IvfPqIndexTests : IvfFamilyTests
{
    private protected override IndexKind Kind => IndexKind.IvfPq;

    private protected override string Extra => "\"m\": 8,";

    private protected override double FullProbeRecall => 0.45;

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Search_WithRefineK_ReachesHigherRecall(MetricType metric)
    {
        const string json = """{"nlist": 16, "m": 8}""";
        var plain = IvfContract.RecallAtLeast(Kind, metric, json, new AnnSearchParams(Nprobe: 16), 0.4);
        var refined = IvfContract.RecallAtLeast(Kind, metric, json, new AnnSearchParams(Nprobe: 16, RefineK: 8), 0.97);
        Assert.True(refined > plain, $"refined {refined} <= plain {plain}");
    }

    [Theory]
    [InlineData(4)]
    [InlineData(9)]
    public void Search_WithOtherCodeWidths_MatchesOracle(int nbits) =>
        IvfContract.RecallAtLeast(Kind, MetricType.L2, $$"""{"nlist": 8, "m": 16, "nbits": {{nbits}}}""", new AnnSearchParams(Nprobe: 8), nbits < 8 ? 0.3 : 0.5);

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
