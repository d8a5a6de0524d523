using Quiver.Segments;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Upserts within the memory budget: the delete mark an upsert puts on each stored row it replaces is reserved
/// before anything is logged, as a delete's marks are, so an upsert whose rows fit but whose marks would pass the budget
/// is refused whole. The model: held = growing rows (32 bytes a row here) + 44 bytes a mark; an upsert of R rows
/// replacing M stored rows fits when held + 32 R + 44 M stays within the budget.</summary>
public sealed class MemoryBudgetUpsertTests : IDisposable
{
    private const int Dim = 4;
    private const long RowBytes = 8 + (Dim * 4) + 8;
    private const long Mark = Segment.DeleteMarkBytes;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<Row> Rows(IEnumerable<long> ids, float first) =>
        [.. ids.Select(id => new Row { ["id"] = id, ["vec"] = new float[] { first, id, 2, 3 } })];

    [Fact]
    public async Task Upsert_WhoseDeleteMarksWouldPassTheBudget_IsRefusedWhole_AndOneReplacingFewerRowsFits()
    {
        // Room for five growing rows and four marks (and 20 bytes): five rows replacing five stored ones do not fit.
        var options = new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = (5 * RowBytes) + (4 * Mark) + 20 };
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, options);
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", Dim, MetricType.L2)],
        });
        await db.InsertAsync("c", Rows(Enumerable.Range(0, 10).Select(i => (long)i), 0));
        await db.FlushAsync("c");
        Assert.Equal(0, db.GetMemoryUsage().UsedBytes);

        var refused = await Assert.ThrowsAsync<MemoryQuotaExceededException>(() => db.UpsertAsync("c", Rows([0, 1, 2, 3, 4], 9)));
        Assert.Equal(QuiverErrorCode.Capacity, refused.Code);
        Assert.StartsWith(
            "memory quota exceeded, please allocate more resources: upsert of 5 rows (160 bytes in memory, and 220 bytes of delete marks for the rows it may replace) into collection 'c' refused, nothing written: ",
            refused.Message, StringComparison.Ordinal);
        Assert.Equal((5 * RowBytes) + (5 * Mark), refused.RequestedBytes);

        // Nothing of it was stored: every row keeps its first vector, and nothing is held.
        Assert.Equal(Enumerable.Repeat(0f, 10), await FirstComponentsAsync(db));
        Assert.Equal(0, db.GetMemoryUsage().UsedBytes);

        // Five new keys replace nothing: the bound of five marks does not fit, the count (none) does.
        Assert.Equal(5, (await db.UpsertAsync("c", Rows([100, 101, 102, 103, 104], 1))).Count);
        Assert.Equal(5 * RowBytes, db.GetMemoryUsage().GrowingBytes);
        Assert.Equal(0, db.GetMemoryUsage().DeleteMarkBytes);
        await db.FlushAsync("c");

        // Four stored keys and a new one: four marks, which fit exactly beside the five rows.
        Assert.Equal(5, (await db.UpsertAsync("c", Rows([0, 1, 2, 3, 200], 2))).Count);
        Assert.Equal(4 * Mark, db.GetMemoryUsage().DeleteMarkBytes);
        Assert.Equal(0, db.GetMemoryUsage().ReservedBytes);
        Assert.True(db.Memory.PeakUsedBytes <= options.MemoryBudgetBytes, $"peak {db.Memory.PeakUsedBytes} past the budget {options.MemoryBudgetBytes}");

        var rows = await db.QueryAsync("c", new QueryRequest { Limit = 100, OutputFields = ["id", "vec"] });
        Assert.Equal(16, rows.Count);
        Assert.Equal(2f, ((float[])rows.Single(r => (long)r["id"]! == 0)["vec"]!)[0]);
        Assert.Equal(0f, ((float[])rows.Single(r => (long)r["id"]! == 4)["vec"]!)[0]);
    }

    private static async Task<float[]> FirstComponentsAsync(QuiverEngine db)
    {
        // No filter: a filter on the sealed segment would build a scalar index, which the budget would hold too.
        var rows = await db.QueryAsync("c", new QueryRequest { Limit = 100, OutputFields = ["id", "vec"] });
        return [.. rows.Where(r => (long)r["id"]! < 10).OrderBy(r => (long)r["id"]!).Select(r => ((float[])r["vec"]!)[0])];
    }
}
