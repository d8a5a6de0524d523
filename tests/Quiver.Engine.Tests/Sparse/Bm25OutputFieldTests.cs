using Quiver.Testing;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>A BM25 function's output field is never read back, as in Milvus (its proxy's <c>CanRetrieveRawFieldData</c>
/// is false for it): <c>*</c> leaves it out of query, get, search and hybrid results, and naming it is refused with
/// Milvus's message, while a plain sparse field is returned as before.</summary>
public sealed class Bm25OutputFieldTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("text", 200) with { EnableAnalyzer = true },
            FieldSchema.SparseVector("sparse"),
            FieldSchema.SparseVector("plain") with { Metric = MetricType.IP },
            FieldSchema.Vector("dense", 2, MetricType.L2),
        ],
        Functions = [CollectionFunction.BM25("bm25", "text", "sparse")],
    };

    [Fact]
    public async Task Star_LeavesTheBm25OutputOut_AndNamingItIsRefused()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", Schema());
        await db.InsertAsync("c",
        [
            new Row { ["id"] = 1L, ["text"] = "kernel modules load", ["plain"] = SparseVector.Create([3], [0.5f]), ["dense"] = new[] { 1f, 0f } },
            new Row { ["id"] = 2L, ["text"] = "kernel panic", ["plain"] = SparseVector.Create([4], [1f]), ["dense"] = new[] { 0f, 1f } },
        ]);

        string[] expected = ["dense", "id", "plain", "text"];
        var queried = await db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["*"] });
        Assert.All(queried, r => Assert.Equal(expected, r.Keys.Order(StringComparer.Ordinal)));
        var got = await db.GetAsync("c", [1L]);
        Assert.Equal(expected, got[0].Keys.Order(StringComparer.Ordinal));
        var byText = await db.SearchAsync("c", new SearchRequest { Vectors = [], QueryTexts = ["kernel"], AnnsField = "sparse", Limit = 2, OutputFields = ["*"] });
        Assert.Equal(2, byText.Hits[0].Count);
        Assert.All(byText.Hits[0], h => Assert.Equal(expected, h.Fields.Keys.Order(StringComparer.Ordinal)));
        var hybrid = await db.HybridSearchAsync("c", new HybridRequest
        {
            Requests = [new SearchRequest { Vectors = [], QueryTexts = ["panic"], AnnsField = "sparse", Limit = 2 }, new SearchRequest { Vectors = [[1f, 0f]], AnnsField = "dense", Limit = 2 }],
            OutputFields = ["*"],
        });
        Assert.All(hybrid.Hits[0], h => Assert.Equal(expected, h.Fields.Keys.Order(StringComparer.Ordinal)));

        foreach (var read in new Func<Task>[]
        {
            () => db.QueryAsync("c", new QueryRequest { Filter = "id > 0", OutputFields = ["text", "sparse"] }),
            () => db.GetAsync("c", [1L], ["sparse"]),
            () => db.SearchAsync("c", new SearchRequest { Vectors = [[1f, 0f]], AnnsField = "dense", Limit = 1, OutputFields = ["sparse"] }),
        })
        {
            var ex = await Assert.ThrowsAsync<QuiverException>(read);
            Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
            Assert.Equal("not allowed to retrieve raw data of field sparse", ex.Message);
        }
    }
}
