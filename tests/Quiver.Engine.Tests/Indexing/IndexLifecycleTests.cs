using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>Creating, building, persisting, loading, dropping and sweeping vector indexes through the engine.</summary>
public sealed class IndexLifecycleTests : IDisposable
{
    private const int Dim = 16;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static QuiverOptions Options => new() { BackgroundMaintenance = false, SegmentMaxRows = 200 };

    private string IndexFolder(QuiverEngine db) => Path.Combine(db.ShardOf("c").Folder, "indexes");

    private async Task<QuiverEngine> SetupAsync(int segments = 3, int rowsPerSegment = 200)
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.CreateCollectionAsync("c", TestData.ProductSchema(dim: Dim));
        var rng = new Random(5);
        for (var s = 0; s < segments; s++)
        {
            var rows = Enumerable.Range(s * rowsPerSegment, rowsPerSegment).Select(i => TestData.ProductRow(rng, i, dim: Dim)).ToList();
            await db.InsertAsync("c", rows);
            await db.FlushAsync("c");
        }

        return db;
    }

    private static IndexDefinition Flat => new() { FieldName = "embedding", IndexType = "FLAT" };

    [Fact]
    public async Task CreateIndex_BuildsEverySealedSegment_AndReopenLoadsThemWithoutRebuild()
    {
        await using (var db = await SetupAsync())
        {
            await db.CreateIndexAsync("c", Flat);
            await db.WaitForIndexAsync("c");
            var info = Assert.Single(await db.DescribeIndexesAsync("c"));
            Assert.Equal(IndexState.Finished, info.State);
            Assert.Equal(600, info.TotalRows);
            Assert.Equal(600, info.IndexedRows);
            Assert.Equal("FLAT", info.IndexType);
            Assert.Equal(0, info.MemoryBytes);
            Assert.Equal(3, db.GetIndexStatistics("c").Built);
            Assert.Equal(3, Directory.GetFiles(IndexFolder(db), "*.qidx").Length);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.WaitForIndexAsync("c");
            var stats = db.GetIndexStatistics("c");
            Assert.Equal(0, stats.Built);
            Assert.Equal(3, stats.Loaded);
            Assert.Equal("embedding", Assert.Single(await db.DescribeIndexesAsync("c")).IndexName);
        }
    }

    [Fact]
    public async Task DamagedIndexFile_IsRebuiltOnOpen()
    {
        await using (var db = await SetupAsync(segments: 1))
        {
            await db.CreateIndexAsync("c", Flat);
            await db.WaitForIndexAsync("c");
        }

        var file = Directory.GetFiles(Path.Combine(_dir.Path, "collections"), "*.qidx", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.WaitForIndexAsync("c");
            var stats = db.GetIndexStatistics("c");
            Assert.Equal(1, stats.Built);
            Assert.Equal(0, stats.Loaded);
        }
    }

    [Fact]
    public async Task NewSegments_AndCompactedSegments_GetIndexed_AndStaleFilesGo()
    {
        await using var db = await SetupAsync();
        await db.CreateIndexAsync("c", Flat);
        await db.WaitForIndexAsync("c");
        var rng = new Random(9);
        await db.InsertAsync("c", Enumerable.Range(1000, 50).Select(i => TestData.ProductRow(rng, i, dim: Dim)).ToList());
        await db.FlushAsync("c");
        await db.WaitForIndexAsync("c");
        Assert.Equal(650, Assert.Single(await db.DescribeIndexesAsync("c")).IndexedRows);

        await db.DeleteWhereAsync("c", "id < 500");
        await db.FlushAsync("c");
        Assert.True(await db.CompactAsync("c") > 0);
        await db.WaitForIndexAsync("c");
        var info = Assert.Single(await db.DescribeIndexesAsync("c"));
        Assert.Equal(info.TotalRows, info.IndexedRows);
        var segments = db.ShardOf("c").Meta.Segments.Select(s => s.Id).ToHashSet();
        var files = Directory.GetFiles(IndexFolder(db), "*.qidx").Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Equal(segments.Count, files.Count);
        Assert.All(files, f => Assert.Contains(long.Parse(f!.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture), segments));
    }

    [Fact]
    public async Task DropIndex_RemovesFilesAndDescription_AndCreateAgainWorks()
    {
        await using var db = await SetupAsync(segments: 2);
        await db.CreateIndexAsync("c", Flat with { IndexName = "vec_idx" });
        await db.WaitForIndexAsync("c");
        await db.DropIndexAsync("c", "vec_idx");
        Assert.Empty(await db.DescribeIndexesAsync("c"));
        Assert.Empty(Directory.GetFiles(IndexFolder(db), "*.qidx"));
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.DropIndexAsync("c", "vec_idx"));
        Assert.Equal(QuiverErrorCode.NotFound, e.Code);
        await db.CreateIndexAsync("c", Flat);
        await db.WaitForIndexAsync("c");
        Assert.Equal(400, Assert.Single(await db.DescribeIndexesAsync("c")).IndexedRows);
    }

    [Theory]
    [InlineData("BOGUS", "embedding", null, "unknown index_type 'BOGUS'")]
    [InlineData("FLAT", "price", null, "field 'price' is Double")]
    [InlineData("FLAT", "nope", null, "no field 'nope'")]
    [InlineData("FLAT", "embedding", "IP", "metric_type IP does not match field 'embedding'")]
    public async Task CreateIndex_RejectsBadDefinitions_NamingTheProblem(string type, string field, string? metric, string message)
    {
        await using var db = await SetupAsync(segments: 1);
        var def = new IndexDefinition { FieldName = field, IndexType = type, Metric = metric is null ? null : Enum.Parse<MetricType>(metric) };
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", def));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Empty(await db.DescribeIndexesAsync("c"));
    }

    [Fact]
    public async Task CreateIndex_RejectsUnknownParameter_AndASecondIndexOnTheField()
    {
        await using var db = await SetupAsync(segments: 1);
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", Flat with { Params = new Dictionary<string, string> { ["nlist"] = "5" } }));
        Assert.Contains("'nlist'", e.Message, StringComparison.Ordinal);
        await db.CreateIndexAsync("c", Flat);
        var dup = await Assert.ThrowsAsync<QuiverException>(() => db.CreateIndexAsync("c", Flat with { IndexName = "other" }));
        Assert.Equal(QuiverErrorCode.AlreadyExists, dup.Code);
    }

    [Theory]
    [InlineData("""{"eff": 64}""", "'eff'")]
    [InlineData("""{"ef": 0}""", "'ef' must be in 1..32768")]
    [InlineData("""{"radius": 1.5}""", "SearchRequest.Radius")]
    public async Task Search_RejectsBadSearchParams_NamingThem(string json, string message)
    {
        await using var db = await SetupAsync(segments: 1);
        var request = new SearchRequest
        {
            Vectors = [TestData.Vector(new Random(1), Dim)],
            Limit = 5,
            SearchParams = new Dictionary<string, string>(Quiver.Indexing.IndexParameters.FromJson(json).Values),
        };
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.SearchAsync("c", request));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
