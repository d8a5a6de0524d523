using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>The tests every IVF index runs, parameterised by the subclass: recall per metric against the oracle, allow-
/// lists, the mapped round trip, concurrency, tiny inputs and parameter errors.</summary>
public abstract class IvfFamilyTests
{
    private protected abstract IndexKind Kind { get; }

    /// <summary>Build parameters besides nlist, as JSON members with a trailing comma (<c>"m": 8,</c>).</summary>
    private protected virtual string Extra => string.Empty;

    /// <summary>Recall@10 with every list probed: 1 for exact lists, lower for quantized ones.</summary>
    private protected abstract double FullProbeRecall { get; }

    /// <summary>Recall@10 with 4 of 32 lists probed.</summary>
    private protected virtual double NarrowProbeRecall => FullProbeRecall * 0.6;

    private protected virtual AnnSearchParams Wide(int nprobe) => new(Nprobe: nprobe);

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Search_MatchesOracle_WithRecallGrowingInNprobe(MetricType metric)
    {
        var json = $$"""{ {{Extra}} "nlist": 32}""";
        var narrow = IvfContract.RecallAtLeast(Kind, metric, json, Wide(4), NarrowProbeRecall);
        var wide = IvfContract.RecallAtLeast(Kind, metric, json, Wide(32), FullProbeRecall);
        Assert.True(wide >= narrow);
    }

    [Fact]
    public void Search_WithAllowList_ReturnsOnlyAllowedRows() =>
        IvfContract.AllowListsHold(Kind, MetricType.L2, $$"""{ {{Extra}} "nlist": 16}""", Wide(16), FullProbeRecall);

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.Cosine)]
    public void Load_ByMemoryMap_GivesSameResults_AndConcurrentSearchesAgree(MetricType metric) =>
        IvfContract.RoundTripsAndIsThreadSafe(Kind, metric, $$"""{ {{Extra}} "nlist": 24}""", Wide(3));

    [Fact]
    public void Build_WithFewerRowsThanNlist_ClampsAndFindsEveryRow() =>
        IvfContract.TinyInputsWork(Kind, $$"""{ {{Extra.Replace("\"m\": 8", "\"m\": 4", StringComparison.Ordinal)}} "nlist": 128}""", Wide(65536));

    [Fact]
    public void Build_ReportsProgress_AndHonoursCancellation() =>
        IvfContract.ReportsProgressAndHonoursCancellation(Kind, $$"""{ {{Extra}} "nlist": 16}""");

    [Fact]
    public void Parameters_AreCheckedAndNamed()
    {
        var e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"nlists": 8}"""), 8));
        Assert.Contains("nlists", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"nlist": 0}"""), 8));
        Assert.Contains("nlist", e.Message, StringComparison.Ordinal);
    }
}
