using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary><c>partitionkey.isolation</c> as Milvus enforces it (<see cref="Search.PartitionKeyIsolation"/>): refused
/// without a partition key or with a non-boolean value; a search or hybrid sub-request of an isolated collection must pin
/// the key with one top-level <c>==</c> (Milvus's messages for each other use), and then answers as without isolation;
/// queries are not checked. And <c>ttl_field</c>, refused with its reason.</summary>
public sealed class PartitionKeyIsolationTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema(bool keyed) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("tenant", 16) with { IsPartitionKey = keyed },
            FieldSchema.Scalar("n", DataType.Int64),
            FieldSchema.Vector("v", 2, MetricType.L2),
        ],
        NumPartitions = keyed ? 4 : 0,
    };

    private static Dictionary<string, string> Isolation(string value) => new() { ["partitionkey.isolation"] = value };

    [Theory]
    [InlineData("tenant == \"t1\"", null)]
    [InlineData("n > 2 and tenant == \"t1\"", null)]
    [InlineData("(tenant == \"t1\") and (n < 9 or n > 20)", null)]
    [InlineData("tenant == {t}", null)]
    [InlineData("", "partition key not found in expr or the expr is invalid when validating partition key isolation")]
    [InlineData("n > 2", "partition key not found in expr or the expr is invalid when validating partition key isolation")]
    [InlineData("tenant in [\"t1\"]", "partition key isolation does not support IN")]
    [InlineData("tenant not in [\"t1\"]", "partition key isolation does not support IN")]
    [InlineData("tenant == \"t1\" or n > 2", "partition key isolation does not support OR")]
    [InlineData("not (tenant == \"t1\")", "partition key isolation does not support NOT")]
    [InlineData("tenant != \"t1\"", "partition key isolation does not support NotEqual")]
    [InlineData("tenant > \"t1\"", "partition key isolation does not support GreaterThan")]
    [InlineData("\"a\" < tenant < \"z\"", "partition key isolation does not support BinaryRange")]
    public async Task Search_OfAnIsolatedCollection_NeedsTheKeyPinnedByEquality(string filter, string? refusal)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema(keyed: true));
        await db.AlterCollectionPropertiesAsync("c", Isolation("true"));
        var rows = Enumerable.Range(0, 40).Select(i => new Row { ["id"] = (long)i, ["tenant"] = $"t{i % 3}", ["n"] = (long)i, ["v"] = new[] { i * 0.1f, 1f } }).ToList();
        await db.InsertAsync("c", rows);
        var parameters = new Dictionary<string, object?> { ["t"] = "t1" };
        var search = new SearchRequest { Vectors = [[0.5f, 1f]], Limit = 5, Filter = filter, FilterParams = parameters };
        var hybrid = new HybridRequest { Requests = [search, search with { Filter = "tenant == \"t1\"" }] };
        if (refusal is null)
        {
            var hits = (await db.SearchAsync("c", search)).Hits[0];
            Assert.NotEmpty(hits);
            await db.AlterCollectionPropertiesAsync("c", Isolation("false"));
            Assert.Equal((await db.SearchAsync("c", search)).Hits[0].Select(h => h.Id), hits.Select(h => h.Id));
            return;
        }

        foreach (var run in new Func<Task>[] { () => db.SearchAsync("c", search), () => db.HybridSearchAsync("c", hybrid) })
        {
            var ex = await Assert.ThrowsAsync<QuiverException>(run);
            Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
            Assert.Contains(refusal, ex.Message, StringComparison.Ordinal);
        }

        // Queries are not held to it, as in Milvus; without isolation the same search is served.
        Assert.NotNull(await db.QueryAsync("c", new QueryRequest { Filter = string.IsNullOrEmpty(filter) ? "id >= 0" : filter, FilterParams = parameters, Limit = 3 }));
        await db.AlterCollectionPropertiesAsync("c", Isolation("false"));
        Assert.NotNull(await db.SearchAsync("c", search));
    }

    [Fact]
    public async Task Isolation_WithoutAKey_OrNotABoolean_AndTtlField_AreRefused()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("plain", Schema(keyed: false));
        await db.CreateCollectionAsync("keyed", Schema(keyed: true));
        var ex = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync("plain", Isolation("true")));
        Assert.Equal("partition key isolation mode is enabled but no partition key field is set. Please set the partition key first", ex.Message);
        ex = Assert.Throws<QuiverException>(() => QuiverEngine.CheckCollectionProperties(Isolation("true"), Schema(keyed: false)));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        QuiverEngine.CheckCollectionProperties(Isolation("True"), Schema(keyed: true));
        await db.AlterCollectionPropertiesAsync("plain", Isolation("false"));
        ex = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync("keyed", Isolation("yes")));
        Assert.Contains("is not a boolean", ex.Message, StringComparison.Ordinal);
        ex = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync("keyed", new Dictionary<string, string> { ["ttl_field"] = "expires" }));
        Assert.StartsWith("ttl_field (entity-level TTL) is not supported", ex.Message, StringComparison.Ordinal);
        Assert.False((await db.DescribeCollectionAsync("keyed")).Properties.ContainsKey("ttl_field"));
    }

    [Fact]
    public async Task ChangingIsolation_WhileAVectorFieldHasAnIndex_IsRefused_SettingTheSameValueIsNot()
    {
        const string refusal = "can not alter partition key isolation mode if the collection already has a vector index. Please drop the index first: index duplicates[indexName=v]";
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema(keyed: true));
        var hnsw = new IndexDefinition { FieldName = "v", IndexType = "HNSW", Metric = MetricType.L2 };
        await db.CreateIndexAsync("c", hnsw);

        async Task RefusedAsync(Func<Task> alter, string? expected)
        {
            var ex = await Assert.ThrowsAsync<QuiverException>(alter);
            Assert.Equal(QuiverErrorCode.AlreadyExists, ex.Code);
            Assert.Equal(refusal, ex.Message);
            var properties = (await db.DescribeCollectionAsync("c")).Properties;
            Assert.Equal(expected, properties.TryGetValue("partitionkey.isolation", out var value) ? value : null);
        }

        // Unset reads as false: false again is no change; true is one.
        await db.AlterCollectionPropertiesAsync("c", Isolation("false"));
        await RefusedAsync(() => db.AlterCollectionPropertiesAsync("c", Isolation("true")), "false");

        await db.DropIndexAsync("c");
        await db.AlterCollectionPropertiesAsync("c", Isolation("true"));
        await db.CreateIndexAsync("c", hnsw);
        await db.AlterCollectionPropertiesAsync("c", Isolation("True"));
        await RefusedAsync(() => db.AlterCollectionPropertiesAsync("c", Isolation("false")), "True");
        await RefusedAsync(() => db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["partitionkey.isolation"]), "True");

        // Other properties still change with an index; without one, isolation changes again.
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = "3600" });
        await db.DropIndexAsync("c");
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["partitionkey.isolation"]);
        Assert.False((await db.DescribeCollectionAsync("c")).Properties.ContainsKey("partitionkey.isolation"));
    }
}
