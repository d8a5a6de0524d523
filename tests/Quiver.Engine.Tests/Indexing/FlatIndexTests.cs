using Quiver.Indexing;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

public class FlatIndexTests
{
    [Theory]
    [InlineData(MetricType.L2)]
    [InlineData(MetricType.IP)]
    [InlineData(MetricType.Cosine)]
    public void Flat_is_exact_and_round_trips(MetricType metric)
    {
        const int dim = 24;
        var data = IndexTestKit.Clustered(1, 2000, dim);
        var queries = IndexTestKit.Queries(2, 20, dim);
        using var index = IndexFactory.Build(IndexKind.Flat, metric, IndexParameters.Empty, IndexTestKit.View(data, dim), IndexBuildOptions.Default, default);
        Assert.Equal(1.0, IndexTestKit.Recall(index, data, queries, 10, default));
        var allowed = IndexTestKit.Selectivity(3, 2000, 0.05);
        Assert.Equal(1.0, IndexTestKit.Recall(index, data, queries, 10, default, allowed));
        using var folder = new TempFolder();
        using var loaded = IndexTestKit.RoundTrip(index, folder);
        Assert.Equal(IndexKind.Flat, loaded.Kind);
        IndexTestKit.AssertSameResults(index, loaded, queries, 10, default);
    }

    [Fact]
    public void Index_file_damage_is_reported_with_the_block()
    {
        const int dim = 8;
        var data = IndexTestKit.Clustered(1, 100, dim);
        using var index = IndexFactory.Build(IndexKind.Flat, MetricType.L2, IndexParameters.FromJson("{}"), IndexTestKit.View(data, dim), IndexBuildOptions.Default, default);
        using var folder = new TempFolder();
        var fs = Quiver.Storage.PhysicalFileSystem.Instance;
        var path = Path.Combine(folder.Path, "x.qidx");
        IndexFactory.Save(index, fs, path);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x5A; // inside the last block ("params")
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CorruptionException>(() => { IndexFile.Open(fs, path).Dispose(); });
        Assert.Contains("params", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parameters_name_the_bad_value()
    {
        var p = IndexParameters.FromJson("""{"M": "lots", "efConstruction": 200}""");
        var e = Assert.Throws<QuiverException>(() => p.GetInt("index HNSW", "M", 16, 2, 2048));
        Assert.Contains("'M'", e.Message, StringComparison.Ordinal);
        Assert.Contains("lots", e.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<QuiverException>(() => IndexParameters.FromJson("""{"ef_construction": 1}""").RejectUnknown("index HNSW", "M", "efConstruction"));
        Assert.Contains("ef_construction", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(200, p.GetInt("index HNSW", "efConstruction", 1, 1, 1000));
    }
}
