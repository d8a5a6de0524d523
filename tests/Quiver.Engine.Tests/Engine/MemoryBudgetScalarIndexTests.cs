using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>Scalar indexes of sealed segments (built on a filter's demand) held against the engine's memory budget as
/// in-memory index: counted (ScalarIndexBytes) at their bytes while the segment lives, refused when they do not fit (the filter then scans,
/// with the same rows as brute force), given back when the collection goes.</summary>
public sealed class MemoryBudgetScalarIndexTests : IDisposable
{
    private const int Rows = 2_000;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static long N(int i) => (i * 37) % 101;

    private static string Tag(int i) => $"t{i % 13}";

    private async Task CreateAsync()
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await db.CreateCollectionAsync("c", new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"), FieldSchema.Scalar("n", DataType.Int64), FieldSchema.VarChar("tag", 16),
                FieldSchema.Vector("vec", 2, MetricType.L2),
            ],
        });
        await db.InsertAsync("c", [.. Enumerable.Range(0, Rows).Select(i => new Row { ["id"] = (long)i, ["n"] = N(i), ["tag"] = Tag(i), ["vec"] = new float[] { i, 1 } })]);
        await db.FlushAsync("c");
    }

    private static async Task<SortedSet<long>> IdsAsync(QuiverEngine db, string filter) =>
        [.. (await db.QueryAsync("c", new QueryRequest { Filter = filter, OutputFields = ["id"] })).Select(r => (long)r["id"]!)];

    private static SortedSet<long> Expected(Func<int, bool> keep) => [.. Enumerable.Range(0, Rows).Where(keep).Select(i => (long)i)];

    /// <summary>The sorted index of <c>n</c> (2,000 longs and rows, three arrays) and the inverted index of <c>tag</c>
    /// (13 values of 2 or 3 characters, each with its rows, and the null rows).</summary>
    private static long SortedBytes => (3 * 24) + (Rows * 12);

    private static long InvertedBytes => 24 + Enumerable.Range(0, 13).Sum(v => 28 + 22 + (2L * $"t{v}".Length) + 24 + (4L * Enumerable.Range(0, Rows).Count(i => i % 13 == v)));

    [Fact]
    public async Task ScalarIndexes_AreHeldAgainstTheBudget_AndPastItTheFilterScans_WithTheSameRows()
    {
        await CreateAsync();
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
            Assert.Equal(Expected(i => N(i) == 5), await IdsAsync(db, "n == 5"));
            Assert.Equal(SortedBytes, db.GetMemoryUsage().ScalarIndexBytes);
            Assert.Equal(Expected(i => Tag(i) == "t3"), await IdsAsync(db, "tag == \"t3\""));
            Assert.Equal(SortedBytes + InvertedBytes, db.GetMemoryUsage().ScalarIndexBytes);

            // Built once: a second filter on the same fields adds nothing.
            Assert.Equal(Expected(i => N(i) > 90 && Tag(i) != "t1"), await IdsAsync(db, "n > 90 and tag != \"t1\""));
            Assert.Equal(SortedBytes + InvertedBytes, db.GetMemoryUsage().ScalarIndexBytes);

            await db.DropCollectionAsync("c");
            Assert.Equal(0, db.GetMemoryUsage().ScalarIndexBytes);
        }
    }

    [Fact]
    public async Task ScalarIndex_PastTheBudget_IsNotKept_AndTheFilterAnswersByScanning()
    {
        await CreateAsync();

        // Room for the sorted index, not for the inverted one beside it.
        var budget = SortedBytes + InvertedBytes - 1;
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, MemoryBudgetBytes = budget });
        Assert.Equal(Expected(i => N(i) == 5), await IdsAsync(db, "n == 5"));
        Assert.Equal(SortedBytes, db.GetMemoryUsage().ScalarIndexBytes);
        for (var round = 0; round < 2; round++)
        {
            Assert.Equal(Expected(i => Tag(i) == "t3"), await IdsAsync(db, "tag == \"t3\""));
            Assert.Equal(Expected(i => Tag(i) is "t3" or "t4" && N(i) < 50), await IdsAsync(db, "tag in [\"t3\", \"t4\"] and n < 50"));
            Assert.Equal(Expected(i => Tag(i) != "t3"), await IdsAsync(db, "tag != \"t3\""));
            Assert.Equal(SortedBytes, db.GetMemoryUsage().ScalarIndexBytes);
        }

        Assert.True(db.Memory.PeakUsedBytes <= budget);
    }
}
