using System.Text.Json;

namespace Quiver.Client.Tests;

/// <summary>
/// The contract of <see cref="IQuiverClient"/>, written once and run against every implementation: each derived class
/// says how to open a client (<see cref="EmbeddedClientTests"/>, <see cref="RemoteClientTests"/>). Assertions are on
/// results and <see cref="QuiverErrorCode"/>s only, never on how a side produced them.
/// </summary>
public abstract partial class ClientContractTests
{
    private const int Dim = 4;

    /// <summary>Opens a fresh client over empty storage.</summary>
    protected abstract Task<ClientTarget> OpenAsync();

    private static CollectionSchema AllTypesSchema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Scalar("flag", DataType.Bool),
            FieldSchema.Scalar("tiny", DataType.Int8),
            FieldSchema.Scalar("small", DataType.Int16),
            FieldSchema.Scalar("count", DataType.Int32, nullable: true),
            FieldSchema.Scalar("big", DataType.Int64),
            FieldSchema.Scalar("price", DataType.Float),
            FieldSchema.Scalar("weight", DataType.Double),
            FieldSchema.VarChar("title", 64),
            new FieldSchema { Name = "rating", DataType = DataType.Int32, DefaultValue = JsonDocument.Parse("3").RootElement },
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 8, maxLength: 16),
            FieldSchema.Vector("embedding", Dim, MetricType.L2),
        ],
        EnableDynamicField = true,
        Description = "every type",
    };

    private static CollectionSchema SimpleSchema(MetricType metric = MetricType.L2) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("category", 32),
            FieldSchema.Scalar("price", DataType.Double),
            FieldSchema.Vector("vector", Dim, metric),
        ],
    };

    /// <summary>Row i: vector (i, 0, 0, 1), category "even"/"odd", price i * 10.</summary>
    private static List<IReadOnlyDictionary<string, object?>> SimpleRows(int count, int first = 0) =>
        [.. Enumerable.Range(first, count).Select(i => (IReadOnlyDictionary<string, object?>)new Row
        {
            ["id"] = (long)i,
            ["category"] = i % 2 == 0 ? "even" : "odd",
            ["price"] = i * 10.0,
            ["vector"] = new float[] { i, 0, 0, 1 },
        })];

    private async Task<ClientTarget> OpenWithSimpleAsync(int rows, MetricType metric = MetricType.L2)
    {
        var target = await OpenAsync();
        await target.Client.CreateCollectionAsync("items", SimpleSchema(metric));
        if (rows > 0)
        {
            await target.Client.InsertAsync("items", SimpleRows(rows));
        }

        await target.Client.LoadCollectionAsync("items");
        return target;
    }

    private static async Task<QuiverException> ThrowsQuiver(Func<Task> action, QuiverErrorCode code)
    {
        var e = await Assert.ThrowsAnyAsync<QuiverException>(action);
        Assert.True(e.Code == code, $"expected {code}, got {e.Code}: {e.Message}");
        return e;
    }

    [Fact]
    public async Task Databases_CreateListDrop()
    {
        await using var t = await OpenAsync();
        await t.Client.CreateDatabaseAsync("analytics");
        Assert.Contains("analytics", await t.Client.ListDatabasesAsync());
        Assert.Contains("default", await t.Client.ListDatabasesAsync());
        await t.Client.CreateCollectionAsync("c", SimpleSchema(), database: "analytics");
        Assert.Equal(["c"], await t.Client.ListCollectionsAsync("analytics"));
        Assert.Empty(await t.Client.ListCollectionsAsync());
        await t.Client.DropCollectionAsync("c", "analytics");
        await t.Client.DropDatabaseAsync("analytics");
        Assert.DoesNotContain("analytics", await t.Client.ListDatabasesAsync());
    }

    [Fact]
    public async Task CreateCollection_Describe_RoundTripsTheSchema()
    {
        await using var t = await OpenAsync();
        var schema = AllTypesSchema();
        await t.Client.CreateCollectionAsync("all", schema);
        Assert.True(await t.Client.HasCollectionAsync("all"));
        Assert.False(await t.Client.HasCollectionAsync("none"));
        Assert.Equal(["all"], await t.Client.ListCollectionsAsync());

        var info = await t.Client.DescribeCollectionAsync("all");
        Assert.Equal("all", info.Name);
        Assert.Equal("default", info.Database);
        Assert.True(info.Schema.EnableDynamicField);
        Assert.Equal(schema.Fields.Select(f => f.Name), info.Schema.Fields.Select(f => f.Name));
        foreach (var expected in schema.Fields)
        {
            var actual = info.Schema.Find(expected.Name)!;
            Assert.Equal(expected.DataType, actual.DataType);
            Assert.Equal(expected.IsPrimaryKey, actual.IsPrimaryKey);
            Assert.Equal(expected.Nullable, actual.Nullable);
            Assert.Equal(expected.Dimension, actual.Dimension);
            Assert.Equal(expected.MaxLength, actual.MaxLength);
            Assert.Equal(expected.MaxCapacity, actual.MaxCapacity);
            Assert.Equal(expected.ElementType, actual.ElementType);
            Assert.Equal(expected.DefaultValue?.GetRawText(), actual.DefaultValue?.GetRawText());
        }

        Assert.Equal(MetricType.L2, info.Schema.Find("embedding")!.Metric);
        Assert.Contains("_default", info.Partitions);
        Assert.Equal(0, info.RowCount);
    }

    [Fact]
    public async Task CreateCollection_Twice_IsAlreadyExists_AndMissingIsNotFound()
    {
        await using var t = await OpenAsync();
        await t.Client.CreateCollectionAsync("c", SimpleSchema());
        await ThrowsQuiver(() => t.Client.CreateCollectionAsync("c", SimpleSchema()), QuiverErrorCode.AlreadyExists);
        await ThrowsQuiver(() => t.Client.DescribeCollectionAsync("missing"), QuiverErrorCode.NotFound);
        await ThrowsQuiver(() => t.Client.DropCollectionAsync("missing"), QuiverErrorCode.NotFound);
        await ThrowsQuiver(() => t.Client.InsertAsync("missing", SimpleRows(1)), QuiverErrorCode.NotFound);
        await ThrowsQuiver(() => t.Client.LoadCollectionAsync("missing"), QuiverErrorCode.NotFound);
    }

    [Fact]
    public async Task CreateCollection_InvalidSchema_IsInvalidArgument()
    {
        await using var t = await OpenAsync();
        var noKey = new CollectionSchema { Fields = [FieldSchema.Vector("v", Dim)] };
        await ThrowsQuiver(() => t.Client.CreateCollectionAsync("c", noKey), QuiverErrorCode.InvalidArgument);
        Assert.False(await t.Client.HasCollectionAsync("c"));
    }

    [Fact]
    public async Task RenameCollection_KeepsRows()
    {
        await using var t = await OpenWithSimpleAsync(3);
        await t.Client.RenameCollectionAsync("items", "products");
        Assert.False(await t.Client.HasCollectionAsync("items"));
        await t.Client.LoadCollectionAsync("products");
        var rows = await t.Client.GetAsync("products", [1L]);
        Assert.Equal(10.0, Assert.Single(rows)["price"]);
    }

    [Fact]
    public async Task Partitions_CreateListHasDrop_AndScopeReads()
    {
        await using var t = await OpenWithSimpleAsync(0);
        await t.Client.CreatePartitionAsync("items", "p1");
        Assert.True(await t.Client.HasPartitionAsync("items", "p1"));
        Assert.Equal(["_default", "p1"], (await t.Client.ListPartitionsAsync("items")).Order(StringComparer.Ordinal));
        await t.Client.InsertAsync("items", SimpleRows(2), partition: "p1");
        await t.Client.InsertAsync("items", SimpleRows(2, first: 10));
        var inP1 = await t.Client.QueryAsync("items", new QueryRequest { Filter = "id >= 0", Partitions = ["p1"] });
        Assert.Equal([0L, 1L], inP1.Select(r => (long)r["id"]!).Order());
        await t.Client.DropPartitionAsync("items", "p1");
        Assert.False(await t.Client.HasPartitionAsync("items", "p1"));
        var all = await t.Client.QueryAsync("items", new QueryRequest { Filter = "id >= 0" });
        Assert.Equal([10L, 11L], all.Select(r => (long)r["id"]!).Order());
    }

    [Fact]
    public async Task Insert_Get_ReturnsEveryTypeAsTheEngineDoes()
    {
        await using var t = await OpenAsync();
        await t.Client.CreateCollectionAsync("all", AllTypesSchema());
        await t.Client.LoadCollectionAsync("all");
        var rows = new List<IReadOnlyDictionary<string, object?>>
        {
            new Row
            {
                ["id"] = 1, ["flag"] = true, ["tiny"] = (sbyte)-5, ["small"] = 300, ["count"] = 7, ["big"] = 1L << 40,
                ["price"] = 1.5f, ["weight"] = 2.25, ["title"] = "first \"quoted\"", ["rating"] = 5,
                ["meta"] = JsonDocument.Parse("""{"a":1,"b":[true,null]}""").RootElement, ["tags"] = new[] { "x", "y" },
                ["embedding"] = new float[] { 1, 0, 0, 0 }, ["color"] = "red",
            },
            new Row
            {
                ["id"] = 2L, ["flag"] = false, ["tiny"] = 0, ["small"] = (short)-1, ["count"] = null, ["big"] = 0,
                ["price"] = 0.0, ["weight"] = -1.0, ["title"] = "", ["tags"] = Array.Empty<string>(),
                ["embedding"] = new List<float> { 0, 1, 0, 0 },
            },
        };
        var result = await t.Client.InsertAsync("all", rows);
        Assert.Equal(2, result.Count);
        Assert.Equal([1L, 2L], result.Keys);

        var got = await t.Client.GetAsync("all", [2L, 1L, 99L]);
        Assert.Equal(2, got.Count);
        var (second, first) = (got[0], got[1]);
        Assert.Equal(2L, second["id"]);
        Assert.Equal(1L, first["id"]);
        Assert.Equal(true, first["flag"]);
        Assert.Equal((sbyte)-5, first["tiny"]);
        Assert.Equal((short)300, first["small"]);
        Assert.Equal(7, first["count"]);
        Assert.Equal(1L << 40, first["big"]);
        Assert.Equal(1.5f, first["price"]);
        Assert.Equal(2.25, first["weight"]);
        Assert.Equal("first \"quoted\"", first["title"]);
        Assert.Equal(5, first["rating"]);
        Assert.Equal(1, ((JsonElement)first["meta"]!).GetProperty("a").GetInt32());
        Assert.Equal(["x", "y"], ((JsonElement)first["tags"]!).EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([1f, 0, 0, 0], (float[])first["embedding"]!);
        Assert.Equal("red", ((JsonElement)first["color"]!).GetString());

        Assert.Null(second["count"]);
        Assert.Null(second["meta"]);
        Assert.Equal(3, second["rating"]); // the default fills a missing value
        Assert.Equal((short)-1, second["small"]);
        Assert.Empty(((JsonElement)second["tags"]!).EnumerateArray());
        Assert.False(second.ContainsKey("color"));
    }

    [Fact]
    public async Task Insert_BadRow_RefusesTheWholeBatch()
    {
        await using var t = await OpenWithSimpleAsync(0);
        var rows = SimpleRows(3);
        ((Row)rows[2])["vector"] = new float[] { 1, 2, 3 };
        var e = await ThrowsQuiver(() => t.Client.InsertAsync("items", rows), QuiverErrorCode.InvalidArgument);
        Assert.Contains("row 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("vector", e.Message, StringComparison.Ordinal);
        var count = await t.Client.QueryAsync("items", new QueryRequest { OutputFields = ["count(*)"] });
        Assert.Equal(0L, Assert.Single(count)["count(*)"]);
    }

    [Fact]
    public async Task Insert_ExistingKey_IsAlreadyExists_UpsertReplaces()
    {
        await using var t = await OpenWithSimpleAsync(2);
        await ThrowsQuiver(() => t.Client.InsertAsync("items", SimpleRows(1, first: 1)), QuiverErrorCode.AlreadyExists);
        var replacement = new Row { ["id"] = 1L, ["category"] = "new", ["price"] = 99.0, ["vector"] = new float[] { 5, 5, 5, 5 } };
        var r = await t.Client.UpsertAsync("items", [replacement]);
        Assert.Equal(1, r.Count);
        var row = Assert.Single(await t.Client.GetAsync("items", [1L]));
        Assert.Equal("new", row["category"]);
        Assert.Equal(99.0, row["price"]);
    }

    [Fact]
    public async Task Delete_ByKeyAndByFilter_RemovesOnlyThoseRows()
    {
        await using var t = await OpenWithSimpleAsync(6);
        var byKey = await t.Client.DeleteAsync("items", [0L, 1L, 100L]);
        Assert.Equal(2, byKey.Count);
        var byFilter = await t.Client.DeleteWhereAsync("items", "category == {c} and price >= {p}", new Dictionary<string, object?> { ["c"] = "even", ["p"] = 30.0 });
        Assert.Equal(1, byFilter.Count); // row 4
        var left = await t.Client.QueryAsync("items", new QueryRequest { Filter = "id >= 0" });
        Assert.Equal([2L, 3L, 5L], left.Select(r => (long)r["id"]!).Order());
    }

    [Fact]
    public async Task Query_FilterOutputLimitOffsetAndCount()
    {
        await using var t = await OpenWithSimpleAsync(10);
        var rows = await t.Client.QueryAsync("items", new QueryRequest
        {
            Filter = "category == \"odd\" and price < {max}",
            FilterParams = new Dictionary<string, object?> { ["max"] = 80 },
            OutputFields = ["price"],
        });
        Assert.Equal([1L, 3L, 5L, 7L], rows.Select(r => (long)r["id"]!).Order());
        Assert.All(rows, r => Assert.Equal(["id", "price"], r.Keys.Order(StringComparer.Ordinal)));

        var page = await t.Client.QueryAsync("items", new QueryRequest { Filter = "id in [1, 2, 3, 4, 5]", Limit = 2, Offset = 1 });
        Assert.Equal(2, page.Count);

        var count = await t.Client.QueryAsync("items", new QueryRequest { Filter = "price >= 50", OutputFields = ["count(*)"] });
        Assert.Equal(5L, Assert.Single(count)["count(*)"]);
    }

    [Fact]
    public async Task Query_BadFilter_IsBadFilter_AndTheClientKeepsWorking()
    {
        await using var t = await OpenWithSimpleAsync(2);
        await ThrowsQuiver(() => t.Client.QueryAsync("items", new QueryRequest { Filter = "price >>= 3" }), QuiverErrorCode.BadFilter);
        Assert.Equal(2, (await t.Client.QueryAsync("items", new QueryRequest { Filter = "id >= 0" })).Count);
    }

    [Fact]
    public async Task Search_ReturnsNearestFirst_WithFilterAndOutputFields()
    {
        await using var t = await OpenWithSimpleAsync(20);
        var result = await t.Client.SearchAsync("items", new SearchRequest
        {
            Vectors = [[3.2f, 0, 0, 1], [17.9f, 0, 0, 1]],
            Limit = 3,
            Filter = "category == \"odd\"",
            OutputFields = ["category", "price"],
        });
        Assert.Equal(2, result.Hits.Length);
        Assert.Equal([3L, 5L, 1L], result.Hits[0].Select(h => h.Id));
        Assert.Equal([17L, 19L, 15L], result.Hits[1].Select(h => h.Id));
        var best = result.Hits[0][0];
        Assert.Equal(0.04f, best.Score, 3); // squared L2
        Assert.Equal("odd", best.Fields["category"]);
        Assert.Equal(30.0, best.Fields["price"]);
        Assert.True(result.Hits[0][0].Score <= result.Hits[0][1].Score);
    }

    [Fact]
    public async Task AlterCollectionProperties_SetsAndRemoves_AndChecksDefaultSearchParams()
    {
        await using var t = await OpenWithSimpleAsync(4);
        var key = SearchRequest.DefaultSearchParamsProperty + "vector";
        await t.Client.AlterCollectionPropertiesAsync("items", new Dictionary<string, string> { [key] = """{"ef":64}""", ["collection.ttl.seconds"] = "60" });
        var props = (await t.Client.DescribeCollectionAsync("items")).Properties;
        Assert.Equal("""{"ef":64}""", props[key]);
        Assert.Equal("60", props["collection.ttl.seconds"]);

        await t.Client.AlterCollectionPropertiesAsync("items", new Dictionary<string, string>(), [key]);
        Assert.False((await t.Client.DescribeCollectionAsync("items")).Properties.ContainsKey(key));

        var e = await Assert.ThrowsAnyAsync<QuiverException>(() => t.Client.AlterCollectionPropertiesAsync(
            "items", new Dictionary<string, string> { [SearchRequest.DefaultSearchParamsProperty + "price"] = """{"ef":64}""" }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains("'price' is not a vector field", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_ExactParam_ReachesTheEngine()
    {
        await using var t = await OpenWithSimpleAsync(20);
        var exact = await t.Client.SearchAsync("items", new SearchRequest
        {
            Vectors = [[3.2f, 0, 0, 1]],
            Limit = 3,
            SearchParams = new Dictionary<string, string> { ["exact"] = "true" },
        });
        Assert.Equal([3L, 4L, 2L], exact.Hits[0].Select(h => h.Id));

        var e = await Assert.ThrowsAnyAsync<QuiverException>(() => t.Client.SearchAsync("items", new SearchRequest
        {
            Vectors = [[3.2f, 0, 0, 1]],
            SearchParams = new Dictionary<string, string> { ["exact"] = "perhaps" },
        }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains("exact", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_OffsetRangeAndGroupBy()
    {
        await using var t = await OpenWithSimpleAsync(10);
        var paged = await t.Client.SearchAsync("items", new SearchRequest { Vectors = [[0, 0, 0, 1]], Limit = 2, Offset = 2 });
        Assert.Equal([2L, 3L], paged.Hits[0].Select(h => h.Id));

        var range = await t.Client.SearchAsync("items", new SearchRequest { Vectors = [[0, 0, 0, 1]], Limit = 10, Radius = 10, RangeFilter = 1 });
        Assert.Equal([1L, 2L, 3L], range.Hits[0].Select(h => h.Id)); // 1 <= d < 10, d = i^2

        var grouped = await t.Client.SearchAsync("items", new SearchRequest
        {
            Vectors = [[0, 0, 0, 1]], Limit = 2, GroupByField = "category", GroupSize = 2, OutputFields = ["category"],
        });
        Assert.Equal([0L, 1L, 2L, 3L], grouped.Hits[0].Select(h => (long)h.Id).Order());
    }

    [Fact]
    public async Task Search_WrongDimension_IsInvalidArgument()
    {
        await using var t = await OpenWithSimpleAsync(2);
        await ThrowsQuiver(() => t.Client.SearchAsync("items", new SearchRequest { Vectors = [[1, 2]] }), QuiverErrorCode.InvalidArgument);
    }

    [Fact]
    public async Task Index_CreateDescribeWaitDrop()
    {
        await using var t = await OpenWithSimpleAsync(50, MetricType.IP);
        await t.Client.FlushAsync("items");
        await t.Client.CreateIndexAsync("items", new IndexDefinition
        {
            FieldName = "vector",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "8", ["efConstruction"] = "64" },
        });
        await t.Client.WaitForIndexAsync("items");
        var index = Assert.Single(await t.Client.DescribeIndexesAsync("items"));
        Assert.Equal("vector", index.FieldName);
        Assert.Equal("HNSW", index.IndexType);
        Assert.Equal(MetricType.IP, index.Metric);
        Assert.Equal("8", index.Params["M"]);
        Assert.Equal(IndexState.Finished, index.State);
        Assert.Equal(index.TotalRows, index.IndexedRows);

        var hits = await t.Client.SearchAsync("items", new SearchRequest
        {
            Vectors = [[1, 0, 0, 0]], Limit = 1, SearchParams = new Dictionary<string, string> { ["ef"] = "32" },
        });
        Assert.Equal(49L, hits.Hits[0][0].Id);

        await ThrowsQuiver(() => t.Client.DescribeIndexesAsync("items", "nothing"), QuiverErrorCode.NotFound);
        await t.Client.DropIndexAsync("items");
        Assert.Empty(await t.Client.DescribeIndexesAsync("items"));
    }

    [Fact]
    public async Task LoadRelease_AndFlush_LeaveDataReadable()
    {
        await using var t = await OpenWithSimpleAsync(5);
        await t.Client.FlushAsync("items");
        await t.Client.ReleaseCollectionAsync("items");
        await t.Client.LoadCollectionAsync("items");
        Assert.Equal(5, (await t.Client.DescribeCollectionAsync("items")).RowCount);
        Assert.Equal(5, (await t.Client.QueryAsync("items", new QueryRequest { Filter = "id >= 0" })).Count);
    }
}

/// <summary>The contract suite against the embedded engine.</summary>
public sealed class EmbeddedClientTests : ClientContractTests
{
    protected override Task<ClientTarget> OpenAsync() => ClientTarget.EmbeddedAsync();
}
