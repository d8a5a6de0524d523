using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>The per-collection cache of compiled filters and parsed search parameters (<see cref="Search.ReadPlanCache"/>):
/// hands out what it compiled before only while the schema, the properties and (for template filters) the values are
/// the same, and never caches a refusal.</summary>
public sealed class ReadPlanCacheTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.Scalar("v", DataType.Int64), FieldSchema.Vector("vec", 2, MetricType.L2)],
    };

    [Fact]
    public async Task RepeatedFilter_IsBoundOnce_TemplateValuesArePerCall()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema);
        await db.InsertAsync("c", Enumerable.Range(0, 10).Select(i => new Row { ["id"] = (long)i, ["v"] = (long)i, ["vec"] = new float[] { i, 1 } }).ToList());
        var plans = db.ShardOf("c").Plans;
        var schema = db.ShardOf("c").Schema;

        var first = plans.Filter("v < 4", schema, null);
        Assert.NotNull(first);
        Assert.Same(first, plans.Filter("v < 4", schema, null));
        Assert.Null(plans.Filter("v < 4 or true", schema, null));

        // Template values are not part of the cached plan: each call binds its own.
        Assert.Equal(3L, await CountAsync(db, "v < {x}", new Dictionary<string, object?> { ["x"] = 3L }));
        Assert.Equal(7L, await CountAsync(db, "v < {x}", new Dictionary<string, object?> { ["x"] = 7L }));
        Assert.Equal(3L, await CountAsync(db, "v < {x}", new Dictionary<string, object?> { ["x"] = 3L }));
        Assert.Equal(4L, await CountAsync(db, "v < 4", null));

        // A refusal is not cached: the same bad filter is refused again, and a good one after it works.
        for (var i = 0; i < 2; i++)
        {
            var ex = await Assert.ThrowsAnyAsync<QuiverException>(() => CountAsync(db, "nope < 4", null));
            Assert.Contains("nope", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DeleteByFilter_ValidatesThroughTheCache()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema);
        await db.InsertAsync("c", Enumerable.Range(0, 10).Select(i => new Row { ["id"] = (long)i, ["v"] = (long)i, ["vec"] = new float[] { i, 1 } }).ToList());
        var plans = db.ShardOf("c").Plans;
        var before = plans.FiltersBound;

        // The delete binds its filter once to validate it; a second delete and a query with the same text reuse it.
        Assert.Equal(2, (await db.DeleteWhereAsync("c", "v > 7")).Count);
        Assert.Equal(before + 1, plans.FiltersBound);
        Assert.Equal(0, (await db.DeleteWhereAsync("c", "v > 7")).Count);
        Assert.Equal(0L, await CountAsync(db, "v > 7", null));
        Assert.Equal(before + 1, plans.FiltersBound);

        // Refused before anything is logged, and not cached.
        await Assert.ThrowsAnyAsync<QuiverException>(() => db.DeleteWhereAsync("c", "nope > 1"));
        Assert.Equal(8L, await CountAsync(db, "v >= 0", null));
    }

    [Fact]
    public async Task SearchParams_AreParsedOncePerProperties_AndFollowAChangedDefault()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema);
        var shard = db.ShardOf("c");
        var given = new Dictionary<string, string> { ["nprobe"] = "3" };

        Assert.Equal(new Quiver.Indexing.AnnSearchParams(Nprobe: 3), shard.Plans.SearchParams(shard, "vec", given));
        Assert.Equal(new Quiver.Indexing.AnnSearchParams(Nprobe: 3), shard.Plans.SearchParams(shard, "vec", given));

        // A new per-field default is seen by the next search; the request's own names still win.
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { [SearchRequest.DefaultSearchParamsProperty + "vec"] = """{"ef": 40}""" });
        Assert.Equal(new Quiver.Indexing.AnnSearchParams(Ef: 40, Nprobe: 3), shard.Plans.SearchParams(shard, "vec", given));
        Assert.Equal(new Quiver.Indexing.AnnSearchParams(Ef: 7), shard.Plans.SearchParams(shard, "vec", new Dictionary<string, string> { ["ef"] = "7" }));

        // Another parameter set is an entry of its own.
        Assert.Equal(new Quiver.Indexing.AnnSearchParams(Ef: 40, Nprobe: 12), shard.Plans.SearchParams(shard, "vec", new Dictionary<string, string> { ["nprobe"] = "12" }));

        for (var i = 0; i < 2; i++)
        {
            var ex = Assert.Throws<QuiverException>(() => shard.Plans.SearchParams(shard, "vec", new Dictionary<string, string> { ["bogus"] = "1" }));
            Assert.Contains("bogus", ex.Message, StringComparison.Ordinal);
        }
    }

    private static async Task<long> CountAsync(QuiverEngine db, string filter, IReadOnlyDictionary<string, object?>? parameters) =>
        (long)(await db.QueryAsync("c", new QueryRequest { Filter = filter, FilterParams = parameters, OutputFields = ["count(*)"] }))[0]["count(*)"]!;
}
