using Quiver.Engine.Tests.Indexing;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary><see cref="IndexInfo.Segments"/>: one entry per sealed segment, in the shard's order, each with its rows,
/// state, fraction, the type built and its memory, adding up to the index's own totals.</summary>
public sealed class IndexSegmentProgressTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task DescribeIndexes_ListsEverySealedSegment_BuiltWithItsRowsAndMemory()
    {
        const int dim = 8;
        int[] batches = [120, 80, 50];
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", dim, MetricType.L2)] });
        var data = IndexTestKit.Clustered(7, batches.Sum(), dim);
        var first = 0;
        foreach (var count in batches)
        {
            await db.InsertAsync("c", [.. Enumerable.Range(first, count).Select(i => new Row { ["id"] = (long)i, ["vec"] = data.AsSpan(i * dim, dim).ToArray() })]);
            await db.FlushAsync("c");
            first += count;
        }

        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "HNSW", Params = new Dictionary<string, string> { ["M"] = "8" } });
        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        var segments = db.ShardOf("c").Meta.Segments;
        Assert.Equal(segments.Select(s => s.Id), info.Segments.Select(s => s.SegmentId));
        Assert.Equal(segments.Select(s => (long)s.Rows), info.Segments.Select(s => s.Rows));
        Assert.Equal(batches.Select(b => (long)b), info.Segments.Select(s => s.Rows));
        Assert.All(info.Segments, s =>
        {
            Assert.Equal(SegmentIndexState.Built, s.State);
            Assert.Equal(1, s.Fraction);
            Assert.Equal("HNSW", s.IndexType);
            Assert.True(s.MemoryBytes > 0, "an HNSW graph takes memory");
            Assert.Null(s.Error);
        });
        Assert.Equal(info.MemoryBytes, info.Segments.Sum(s => s.MemoryBytes));
        Assert.Equal(info.TotalRows, info.Segments.Sum(s => s.Rows));
    }
}
