using Quiver.Testing;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>Sealed segments answer selective VarChar and integer predicates through scalar indexes; growing segments
/// scan. The same filters must give the same rows either way, nulls included.</summary>
public sealed class ScalarIndexTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("category == \"tech\"")]
    [InlineData("category != \"tech\"")]
    [InlineData("category == \"nothing\"")]
    [InlineData("category in [\"home\", \"toys\"]")]
    [InlineData("not (category in [\"home\"])")]
    [InlineData("stock == 5")]
    [InlineData("stock < 3")]
    [InlineData("stock <= 3")]
    [InlineData("stock >= 98")]
    [InlineData("stock > 98")]
    [InlineData("stock != 5")]
    [InlineData("not (stock == 5)")]
    [InlineData("id == 17")]
    [InlineData("id > 1990 and category == \"books\"")]
    [InlineData("id < 20 or stock == 50")]
    public async Task Filter_OnSealedSegment_MatchesScanOnGrowingSegment(string filter)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", TestData.ProductSchema(dim: 4));
        var rng = new Random(21);
        await db.InsertAsync("c", [.. Enumerable.Range(0, 2000).Select(i => TestData.ProductRow(rng, i, dim: 4))]);
        var request = new QueryRequest { Filter = filter, OutputFields = ["id"] };
        var scanned = (await db.QueryAsync("c", request)).Select(r => (long)r["id"]!).Order().ToList();

        await db.FlushAsync("c");
        var info = await db.DescribeCollectionAsync("c");
        Assert.Equal(1, info.SealedSegments);
        var indexed = (await db.QueryAsync("c", request)).Select(r => (long)r["id"]!).Order().ToList();
        Assert.Equal(scanned, indexed);

        // Deleted rows stay out even though the index still lists them.
        await db.DeleteWhereAsync("c", "id < 1000");
        var afterDelete = (await db.QueryAsync("c", request)).Select(r => (long)r["id"]!).Order().ToList();
        Assert.Equal(scanned.Where(id => id >= 1000), afterDelete);
    }
}
