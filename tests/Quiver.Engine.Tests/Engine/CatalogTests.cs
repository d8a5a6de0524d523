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

    [Fact]
    public async Task Aliases_ResolveEverywhere_AndPersistAcrossReopen()
    {
        var rng = new Random(9);
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.CreateCollectionAsync("a", TestData.ProductSchema());
            await db.CreateCollectionAsync("b", TestData.ProductSchema());
            await db.CreateAliasAsync("a", "live");
            await db.InsertAsync("live", [TestData.ProductRow(rng, 1)]);
            Assert.Single(await db.GetAsync("a", [1L]));
            Assert.True(await db.HasCollectionAsync("live"));
            Assert.Equal(["live"], (await db.DescribeCollectionAsync("live")).Aliases);
            Assert.Equal("a", (await db.DescribeCollectionAsync("live")).Name);

            var ex = await Assert.ThrowsAsync<QuiverException>(() => db.CreateAliasAsync("b", "live"));
            Assert.Equal(QuiverErrorCode.AlreadyExists, ex.Code);
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.CreateAliasAsync("a", "b"));
            Assert.Contains("cannot equal a collection name", ex.Message);
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.CreateCollectionAsync("live", TestData.ProductSchema()));
            Assert.Contains("is an alias", ex.Message);
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.DropCollectionAsync("a"));
            Assert.Contains("has aliases (live)", ex.Message);
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.DropCollectionAsync("live"));
            Assert.Contains("through its alias", ex.Message);

            await db.AlterAliasAsync("b", "live");
            Assert.Empty(await db.GetAsync("live", [1L]));
            await db.RenameCollectionAsync("b", "b2");
            Assert.Equal("b2", await db.DescribeAliasAsync("live"));
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            Assert.Equal("b2", await db.DescribeAliasAsync("live"));
            Assert.Equal(["live"], await db.ListAliasesAsync());
            Assert.Equal(["live"], await db.ListAliasesAsync("b2"));
            Assert.Empty(await db.ListAliasesAsync("a"));
            await db.DropAliasAsync("live");
            var ex = await Assert.ThrowsAsync<QuiverException>(() => db.DescribeAliasAsync("live"));
            Assert.Equal(QuiverErrorCode.NotFound, ex.Code);
            await db.DropCollectionAsync("b2");
        }
    }

    [Fact]
    public async Task Properties_OfCollectionsAndDatabases_PersistAcrossReopen()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.CreateDatabaseAsync("shop");
            await db.CreateCollectionAsync("c", TestData.ProductSchema(), "shop");
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = "60", ["x"] = "1" }, null, "shop");
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["x"], "shop");
            await db.AlterDatabasePropertiesAsync("shop", new Dictionary<string, string> { ["database.replica.number"] = "1" });
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            var info = await db.DescribeCollectionAsync("c", "shop");
            Assert.Equal(new Dictionary<string, string> { ["collection.ttl.seconds"] = "60", ["timezone"] = "UTC" }, info.Properties);
            var shop = await db.DescribeDatabaseAsync("shop");
            Assert.Equal("1", shop.Properties["database.replica.number"]);
            Assert.True(shop.CreatedTimestamp > 0);
        }
    }

    [Fact]
    public async Task MetricFromIndex_FirstIndexBindsMetric_ZeroVectorsBlockCosine()
    {
        var schema = TestData.ProductSchema(metric: MetricType.L2);
        schema = schema with { Fields = schema.Fields.SetItem(schema.IndexOf("embedding"), schema.Find("embedding")! with { MetricFromIndex = true }) };
        var rng = new Random(3);
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            await db.CreateCollectionAsync("c", schema);
            var zero = TestData.ProductRow(rng, 1);
            zero["embedding"] = new float[8];
            await db.InsertAsync("c", [zero, TestData.ProductRow(rng, 2)]);

            // COSINE cannot compare the stored zero vector: refused, naming the row; the field stays L2.
            var ex = await Assert.ThrowsAsync<QuiverException>(() =>
                db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT", Metric = MetricType.Cosine }));
            Assert.Contains("primary key 1", ex.Message);
            Assert.Equal(MetricType.L2, (await db.DescribeCollectionAsync("c")).Schema.Find("embedding")!.Metric);

            // IP binds; after dropping the index, another metric may be chosen once the zero row is gone.
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT", Metric = MetricType.IP });
            Assert.Equal(MetricType.IP, (await db.DescribeCollectionAsync("c")).Schema.Find("embedding")!.Metric);
            var search = await db.SearchAsync("c", new SearchRequest { Vectors = [TestData.Vector(rng, 8)], Metric = MetricType.IP });
            Assert.Equal(2, search.Hits[0].Count);
            await db.DropIndexAsync("c");
            await db.DeleteAsync("c", [1L]);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "HNSW", Metric = MetricType.Cosine });
            await db.WaitForIndexAsync("c");
            ex = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("c", [zero]));
            Assert.Contains("zero vector", ex.Message);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, Options))
        {
            var field = (await db.DescribeCollectionAsync("c")).Schema.Find("embedding")!;
            Assert.Equal(MetricType.Cosine, field.Metric);
            Assert.True(field.MetricFromIndex);
            var search = await db.SearchAsync("c", new SearchRequest { Vectors = [TestData.Vector(rng, 8)] });
            Assert.Single(search.Hits[0]);
        }
    }

    [Fact]
    public async Task FixedMetric_IndexWithOtherMetric_IsRefused()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, Options);
        await db.CreateCollectionAsync("c", TestData.ProductSchema(metric: MetricType.L2));
        var ex = await Assert.ThrowsAsync<QuiverException>(() =>
            db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexType = "FLAT", Metric = MetricType.IP }));
        Assert.Contains("does not match", ex.Message);
    }
}
