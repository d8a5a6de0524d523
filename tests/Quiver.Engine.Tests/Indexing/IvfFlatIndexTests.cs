using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public class IvfFlatIndexTests
{
    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Search_MatchesOracle_WithRecallGrowingInNprobe(MetricType metric)
    {
        var narrow = IvfContract.RecallAtLeast(IndexKind.IvfFlat, metric, """{"nlist": 32}""", new AnnSearchParams(Nprobe: 4), 0.6);
        var wide = IvfContract.RecallAtLeast(IndexKind.IvfFlat, metric, """{"nlist": 32}""", new AnnSearchParams(Nprobe: 32), 0.999);
        Assert.True(wide >= narrow);
    }

    [Fact]
    public void Search_WithAllowList_ReturnsOnlyAllowedRows() =>
        IvfContract.AllowListsHold(IndexKind.IvfFlat, MetricType.L2, """{"nlist": 16}""", new AnnSearchParams(Nprobe: 16), 0.999);

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.Cosine)]
    public void Load_ByMemoryMap_GivesSameResults_AndConcurrentSearchesAgree(MetricType metric) =>
        IvfContract.RoundTripsAndIsThreadSafe(IndexKind.IvfFlat, metric, """{"nlist": 24}""", new AnnSearchParams(Nprobe: 3));

    [Fact]
    public void Build_WithFewerRowsThanNlist_ClampsAndFindsEveryRow() =>
        IvfContract.TinyInputsWork(IndexKind.IvfFlat, """{"nlist": 128}""", new AnnSearchParams(Nprobe: 65536));

    [Fact]
    public void Parameters_AreCheckedAndNamed()
    {
        var e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(IndexKind.IvfFlat, MetricType.L2, IndexParameters.FromJson("""{"nlists": 8}"""), 8));
        Assert.Contains("nlists", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(IndexKind.IvfFlat, MetricType.L2, IndexParameters.FromJson("""{"nlist": 0}"""), 8));
        Assert.Contains("nlist", e.Message, StringComparison.Ordinal);
    }
}
