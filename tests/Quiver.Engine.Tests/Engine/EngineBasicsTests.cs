using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

public sealed class EngineBasicsTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task InsertSearchGetQuery_RoundTripAcrossReopen()
    {
        var rng = new Random(1);
        var rows = Enumerable.Range(1, 200).Select(i => TestData.ProductRow(rng, i)).ToList();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await db.CreateCollectionAsync("products", TestData.ProductSchema());
            var r = await db.InsertAsync("products", rows);
            Assert.Equal(200, r.Count);

            var got = await db.GetAsync("products", [5L, 7L, 999L]);
            Assert.Equal(2, got.Count);
            Assert.Equal(5L, got[0]["id"]);
            Assert.Equal("product 5", got[0]["title"]);
            Assert.Equal((float[])rows[4]["embedding"]!, (float[])got[0]["embedding"]!);

            var q = await db.SearchAsync("products", new SearchRequest { Vectors = [(float[])rows[10]["embedding"]!], Limit = 3, OutputFields = ["title"] });
            Assert.Equal(11L, q.Hits[0][0].Id);
            Assert.Equal(0f, q.Hits[0][0].Score, 4);
            Assert.Equal("product 11", q.Hits[0][0].Fields["title"]);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var count = await db.QueryAsync("products", new QueryRequest { OutputFields = ["count(*)"] });
            Assert.Equal(200L, count[0]["count(*)"]);
            var tech = await db.QueryAsync("products", new QueryRequest { Filter = "category == \"tech\" and price >= 50", OutputFields = ["category", "price"] });
            Assert.NotEmpty(tech);
            Assert.All(tech, t => Assert.True((string)t["category"]! == "tech" && (double)t["price"]! >= 50));
            var expected = rows.Count(x => (string)x["category"]! == "tech" && (double)x["price"]! >= 50);
            Assert.Equal(expected, tech.Count);

            await db.FlushAsync("products");
            var deleted = await db.DeleteWhereAsync("products", "id < 50");
            Assert.Equal(49, deleted.Count);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var count = await db.QueryAsync("products", new QueryRequest { OutputFields = ["count(*)"] });
            Assert.Equal(151L, count[0]["count(*)"]);
            Assert.Empty(await db.GetAsync("products", [1L, 2L]));
            Assert.Equal(1, await db.CompactAsync("products"));
            count = await db.QueryAsync("products", new QueryRequest { OutputFields = ["count(*)"] });
            Assert.Equal(151L, count[0]["count(*)"]);
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var count = await db.QueryAsync("products", new QueryRequest { OutputFields = ["count(*)"] });
            Assert.Equal(151L, count[0]["count(*)"]);
            var info = await db.DescribeCollectionAsync("products");
            Assert.Equal(151, info.RowCount);
            Assert.Equal(1, info.SealedSegments);
        }
    }

    [Fact]
    public async Task Insert_ExistingKey_IsRefusedAndUpsertReplaces()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("p", TestData.ProductSchema());
        var rng = new Random(2);
        await db.InsertAsync("p", [TestData.ProductRow(rng, 1)]);
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.InsertAsync("p", [TestData.ProductRow(rng, 2), TestData.ProductRow(rng, 1)]));
        Assert.Equal(QuiverErrorCode.AlreadyExists, ex.Code);
        Assert.Contains("row 1", ex.Message);
        Assert.Empty(await db.GetAsync("p", [2L]));

        var replacement = TestData.ProductRow(rng, 1);
        replacement["title"] = "new";
        await db.UpsertAsync("p", [replacement]);
        var got = await db.GetAsync("p", [1L], ["title"]);
        Assert.Equal("new", Assert.Single(got)["title"]);
        var count = await db.QueryAsync("p", new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal(1L, count[0]["count(*)"]);
    }

    [Fact]
    public async Task AutoId_GeneratesUniqueKeys_AndDynamicFieldsAreFilterable()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("a", TestData.ProductSchema(autoId: true, dynamic: true));
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 10).Select(i =>
        {
            var r = TestData.ProductRow(rng, i, withId: false);
            r["brand"] = i % 2 == 0 ? "acme" : "other";
            return r;
        }).ToList();
        var res = await db.InsertAsync("a", rows);
        Assert.Equal(10, res.Keys.Distinct().Count());
        var acme = await db.QueryAsync("a", new QueryRequest { Filter = "brand == \"acme\"", OutputFields = ["brand"] });
        Assert.Equal(5, acme.Count);
        Assert.All(acme, r => Assert.Equal("acme", ((JsonElement)r["brand"]!).GetString()));
    }
}
