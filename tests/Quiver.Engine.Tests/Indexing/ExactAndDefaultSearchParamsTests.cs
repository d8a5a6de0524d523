using Quiver.Testing;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>The <c>exact</c> search parameter (every segment scanned, indexes ignored) and a vector field's default search
/// parameters kept as a collection property: both against the exact oracle on an index that is deliberately coarse
/// (IVF_FLAT, 64 lists, probing one).</summary>
public sealed class ExactAndDefaultSearchParamsTests : IDisposable
{
    private const int Dim = 16;
    private const int Rows = 8_000;
    private const int Queries = 30;
    private const int K = 10;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(QuiverEngine Db, float[] Data)> SetupAsync()
    {
        var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        var data = IndexTestKit.Clustered(5, Rows + Queries, Dim);
        var rows = Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["vec"] = data.AsSpan(i * Dim, Dim).ToArray() }).ToList();
        await db.InsertAsync("c", rows);
        await db.FlushAsync("c");
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "vec", IndexType = "IVF_FLAT", Params = new Dictionary<string, string> { ["nlist"] = "64" } });
        await db.WaitForIndexAsync("c");
        return (db, data);
    }

    private static async Task<double> RecallAsync(QuiverEngine db, float[] data, Dictionary<string, string> searchParams)
    {
        var qs = Enumerable.Range(Rows, Queries).Select(r => data.AsSpan(r * Dim, Dim).ToArray()).ToArray();
        var result = await db.SearchAsync("c", new SearchRequest { Vectors = qs, Limit = K, SearchParams = searchParams });
        double sum = 0;
        for (var q = 0; q < qs.Length; q++)
        {
            var truth = Enumerable.Range(0, Rows)
                .Select(r => (Row: r, D: BruteForce.Score(MetricType.L2, qs[q], data.AsSpan(r * Dim, Dim))))
                .OrderBy(x => x.D).ThenBy(x => x.Row).Take(K).Select(x => (long)x.Row).ToHashSet();
            sum += result.Hits[q].Count(h => truth.Contains((long)h.Id)) / (double)K;
        }

        return sum / qs.Length;
    }

    [Fact]
    public async Task Exact_IgnoresTheIndex_AndMatchesTheOracle()
    {
        var (db, data) = await SetupAsync();
        await using var _ = db;
        var coarse = await RecallAsync(db, data, new() { ["nprobe"] = "1" });
        Assert.True(coarse < 0.95, $"nprobe 1 over 64 lists should miss neighbours; recall {coarse}");
        Assert.Equal(1.0, await RecallAsync(db, data, new() { ["nprobe"] = "1", ["exact"] = "true" }));
        Assert.True(await RecallAsync(db, data, new() { ["nprobe"] = "1", ["exact"] = "false" }) < 0.95);
    }

    [Fact]
    public async Task DefaultSearchParams_ApplyWhenTheRequestGivesNone_AndTheRequestWins()
    {
        var (db, data) = await SetupAsync();
        await using var _ = db;
        var key = SearchRequest.DefaultSearchParamsProperty + "vec";
        var indexDefault = await RecallAsync(db, data, []);
        await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { [key] = """{"nprobe": 1}""" });

        // The default (one list of 64) now governs a search that names no nprobe; a request's own value wins.
        var coarse = await RecallAsync(db, data, []);
        Assert.True(coarse < 0.95 && coarse < indexDefault, $"default nprobe 1: recall {coarse}, index default: {indexDefault}");
        Assert.Equal(1.0, await RecallAsync(db, data, new() { ["nprobe"] = "64" }));
        Assert.Equal(key, Assert.Single((await db.DescribeCollectionAsync("c")).Properties.Keys, k => k.StartsWith("quiver.", StringComparison.Ordinal)));

        // The default survives a reopen, and removing it brings back the index's own default.
        await db.DisposeAsync();
        await using var reopened = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await reopened.WaitForIndexAsync("c");
        Assert.Equal(coarse, await RecallAsync(reopened, data, []));
        await reopened.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), [key]);
        Assert.Equal(indexDefault, await RecallAsync(reopened, data, []));
    }

    [Theory]
    [InlineData("vec", """{"nprobe": 0}""", "nprobe")]
    [InlineData("vec", """{"efSearch": 10}""", "efSearch")]
    [InlineData("vec", "not json", "not valid JSON")]
    [InlineData("id", """{"ef": 10}""", "'id' is not a vector field")]
    [InlineData("nothing", """{"ef": 10}""", "'nothing' is not a vector field")]
    public async Task DefaultSearchParams_Invalid_AreRefusedWhenSet(string field, string value, string expected)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path);
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        var e = await Assert.ThrowsAsync<QuiverException>(() => db.AlterCollectionPropertiesAsync(
            "c", new Dictionary<string, string> { [SearchRequest.DefaultSearchParamsProperty + field] = value }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain((await db.DescribeCollectionAsync("c")).Properties.Keys, k => k.StartsWith("quiver.", StringComparison.Ordinal));
    }
}
