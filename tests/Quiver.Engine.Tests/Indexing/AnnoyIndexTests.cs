using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public sealed class AnnoyIndexTests
{
    private const IndexKind Kind = IndexKind.Annoy;

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Search_MatchesOracle_WithRecallGrowingInSearchK(MetricType metric)
    {
        const string json = """{"n_trees": 8}""";
        var byDefault = IvfContract.RecallAtLeast(Kind, metric, json, default, 0.3);
        var wide = IvfContract.RecallAtLeast(Kind, metric, json, new AnnSearchParams(SearchK: 1500), metric == MetricType.IP ? 0.8 : 0.95);
        Assert.True(wide > byDefault);
    }

    [Fact]
    public void Search_WithAllowList_ReturnsOnlyAllowedRows() =>
        IvfContract.AllowListsHold(Kind, MetricType.L2, """{"n_trees": 4}""", new AnnSearchParams(SearchK: 3000), 0.95);

    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.Cosine)]
    public void Load_ByMemoryMap_GivesSameResults_AndConcurrentSearchesAgree(MetricType metric) =>
        IvfContract.RoundTripsAndIsThreadSafe(Kind, metric, """{"n_trees": 5}""", new AnnSearchParams(SearchK: 200));

    [Fact]
    public void Build_OnTinyInputs_FindsEveryRow() =>
        IvfContract.TinyInputsWork(Kind, """{"n_trees": 3}""", new AnnSearchParams(SearchK: 1000));

    [Fact]
    public void Build_OnDuplicateRows_Terminates()
    {
        var data = new float[500 * 4];
        using var index = IvfContract.Build(Kind, MetricType.L2, """{"n_trees": 2}""", data, dim: 4);
        var hits = new IndexHit[10];
        Assert.Equal(10, index.Search(new float[4], 10, new AnnSearchParams(SearchK: 100), null, hits));
    }

    [Fact]
    public void Build_ReportsProgress_AndHonoursCancellation() =>
        IvfContract.ReportsProgressAndHonoursCancellation(Kind, """{"n_trees": 4}""");

    [Fact]
    public void Parameters_AreCheckedAndNamed()
    {
        var e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"ntrees": 8}"""), 8));
        Assert.Contains("ntrees", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<QuiverException>(() => IndexFactory.Validate(Kind, MetricType.L2, IndexParameters.FromJson("""{"n_trees": 2000}"""), 8));
        Assert.Contains("n_trees", e.Message, StringComparison.Ordinal);
    }
}
