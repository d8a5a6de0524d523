using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

public sealed class CatalogTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private static readonly QuiverOptions Options = new() { BackgroundMaintenance = false };

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task DatabasesCollectionsPartitions_PersistAcrossReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.CreateDatabaseAsync("shop");
            await db.CreateCollectionAsync("items", TestData.ProductSchema(), "shop");
            await db.CreatePartitionAsync("items", "eu", "shop");
            await db.CreateCollectionAsync("old", TestData.ProductSchema());
            await db.RenameCollectionAsync("old", "renamed");
            var ex = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("items", TestData.ProductSchema(), "shop"));
            Assert.Equal(QuiverErrorCode.AlreadyExists, ex.Code);
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.DropDatabaseAsync("shop"));
            Assert.Contains("still has collections", ex.Message);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            Assert.Equal(["default", "shop"], await db.ListDatabasesAsync());
            Assert.Equal(["items"], await db.ListCollectionsAsync("shop"));
            Assert.Equal(["renamed"], await db.ListCollectionsAsync());
            Assert.Equal(["_default", "eu"], await db.ListPartitionsAsync("items", "shop"));
            var ex = await Assert.ThrowsAsync<QuiverException>(() => db.DescribeCollectionAsync("nope"));
            Assert.Equal(QuiverErrorCode.NotFound, ex.Code);
            Assert.Contains("collection 'nope' does not exist in database 'default'", ex.Message);
            await db.DropCollectionAsync("items", "shop");
            await db.DropDatabaseAsync("shop");
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            Assert.Equal(["default"], await db.ListDatabasesAsync());
            Assert.Single(Directory.GetDirectories(Path.Combine(_dir.Path, "collections")));
        }
    }

    [Fact]
    public async Task Partitions_ScopeWritesReadsAndDrops()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.CreateCollectionAsync("c", TestData.ProductSchema());
        await db.CreatePartitionAsync("c", "p1");
        var rng = new Random(5);
        await db.InsertAsync("c", Enumerable.Range(0, 10).Select(i => TestData.ProductRow(rng, i)).ToList());
        await db.InsertAsync("c", Enumerable.Range(10, 10).Select(i => TestData.ProductRow(rng, i)).ToList(), "p1");
        var inP1 = await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"], Partitions = ["p1"] });
        Assert.Equal(10L, inP1[0]["count(*)"]);
        var search = await db.SearchAsync("c", new SearchRequest { Vectors = [TestData.Vector(rng, 8)], Limit = 20, Partitions = ["p1"] });
        Assert.All(search.Hits[0], h => Assert.InRange((long)h.Id, 10, 19));

        // Delete scoped to a partition leaves other partitions alone.
        var d = await db.DeleteAsync("c", [1L, 11L], "p1");
        Assert.Equal(1, d.Count);
        await db.FlushAsync("c");
        await db.DropPartitionAsync("c", "p1");
        var all = await db.QueryAsync("c", new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal(10L, all[0]["count(*)"]);
        await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [TestData.ProductRow(rng, 50)], "p1"));
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.DropPartitionAsync("c", "_default"));
        Assert.Contains("cannot be dropped", ex.Message);
    }
}
