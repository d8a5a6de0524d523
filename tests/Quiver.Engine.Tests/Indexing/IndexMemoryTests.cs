using Quiver.Indexing;

namespace Quiver.Engine.Tests.Indexing;

public class IndexMemoryTests
{
    [Theory]
    [InlineData("FLAT", "{}", MetricType.L2, 0.0)]
    [InlineData("HNSW", """{"M":16,"efConstruction":40}""", MetricType.L2, 0.05)]
    [InlineData("HNSW", """{"M":8,"efConstruction":40}""", MetricType.Cosine, 0.05)]
    [InlineData("IVF_FLAT", """{"nlist":64}""", MetricType.L2, 0.01)]
    [InlineData("IVF_SQ8", """{"nlist":64}""", MetricType.IP, 0.01)]
    [InlineData("IVF_PQ", """{"nlist":64,"m":8}""", MetricType.L2, 0.01)]
    [InlineData("IVF_PQ", """{"nlist":64,"m":8,"nbits":10}""", MetricType.IP, 0.01)]
    [InlineData("ANNOY", """{"n_trees":4}""", MetricType.L2, 0.35)]
    public void Estimate_BeforeBuilding_MatchesWhatTheBuiltIndexHolds(string type, string json, MetricType metric, double tolerance)
    {
        const int dim = 32;
        const int rows = 12_000;
        IndexKindNames.TryParse(type, out var kind);
        var p = IndexParameters.FromJson(json);
        var data = IndexTestKit.Clustered(6, rows, dim);
        using var index = IndexFactory.Build(kind, metric, p, IndexTestKit.View(data, dim), new IndexBuildOptions(Threads: 2), default);
        var estimate = IndexMemory.Estimate(kind, metric, p, rows, dim);
        var actual = index.MemoryBytes;
        Assert.True(
            Math.Abs(estimate - actual) <= tolerance * Math.Max(actual, 1),
            $"{type} {json}: estimated {estimate} bytes, built index holds {actual}");
    }
}
