namespace Quiver.Engine.Tests.Sparse;

/// <summary>A growing segment's BM25 postings held against the engine's memory budget as in-memory index
/// (<c>IndexBytes</c>) at their arrays' capacity as they grow; when a search's appends do not fit they are dropped for a
/// count per term (charged in their place), and searches score the rows one by one, with the same ids and scores as the
/// reference path.</summary>
public sealed partial class Bm25ScaleTests
{
    /// <summary>Row i: one word every row holds and one of five others.</summary>
    private static Row PatternRow(int i) => RowOf(i, $"{Word(0)} {Word(1 + (i % 5))}");

    /// <summary>What the growing postings of the first <paramref name="rows"/> pattern rows hold: the row lengths (64
    /// floats, doubled as needed) and per term its rows and frequencies (4 of each, doubled as needed).</summary>
    private static long PatternPostingsBytes(int rows)
    {
        static long Capacity(int initial, int n)
        {
            long c = initial;
            while (c < n)
            {
                c *= 2;
            }

            return c;
        }

        var bytes = (Capacity(64, rows) * sizeof(float)) + (Capacity(4, rows) * (sizeof(int) + sizeof(float)));
        for (var t = 0; t < 5; t++)
        {
            bytes += Capacity(4, Enumerable.Range(0, rows).Count(i => i % 5 == t)) * (sizeof(int) + sizeof(float));
        }

        return bytes;
    }

    [Fact]
    public async Task GrowingPostings_AreHeldAgainstTheEngineMemoryBudget_DroppedPastIt_WithTheSameResults()
    {
        await using var db = await OpenWithMemoryAsync(1L << 30);
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", Index());
        await db.InsertAsync("c", [.. Enumerable.Range(0, 100).Select(PatternRow)]);
        Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
        await AssertPrunedEqualsExhaustiveAsync(db, 60, "growing postings charged");
        Assert.Equal(new[] { (100, true) }, GrowingRows(db));
        Assert.Equal(PatternPostingsBytes(100), db.GetMemoryUsage().IndexBytes);

        await db.InsertAsync("c", [.. Enumerable.Range(100, 100).Select(PatternRow)]);
        await AssertPrunedEqualsExhaustiveAsync(db, 61, "growing postings grown");
        Assert.Equal(PatternPostingsBytes(200), db.GetMemoryUsage().IndexBytes);

        // The next 200 rows would add PatternPostingsBytes(400) - PatternPostingsBytes(200); one byte less is left.
        await db.InsertAsync("c", [.. Enumerable.Range(200, 200).Select(PatternRow)]);
        var memory = db.Memory;
        var taken = memory.BudgetBytes - memory.UsedBytes - memory.ReservedBytes - (PatternPostingsBytes(400) - PatternPostingsBytes(200)) + 1;
        Assert.True(memory.TryReserve(taken));
        try
        {
            await AssertPrunedEqualsExhaustiveAsync(db, 62, "growing postings dropped");
            Assert.Equal(new[] { (400, false) }, GrowingRows(db));
            Assert.Equal(TrimmedCountBytes(6), db.GetMemoryUsage().IndexBytes);
        }
        finally
        {
            memory.Release(taken);
        }

        // Counts per term from then on (a dictionary of the six terms, sized for them), with room again: the same
        // results, the counts charged.
        await db.InsertAsync("c", [.. Enumerable.Range(400, 100).Select(PatternRow)]);
        await db.DeleteAsync("c", [.. Enumerable.Range(0, 500).Where(i => i % 7 == 1).Select(i => (object)(long)i)]);
        await AssertPrunedEqualsExhaustiveAsync(db, 63, "counts after the drop, with deletes");
        Assert.Equal(new[] { GrownCountBytes(6) }, DeletedCountBytes(db));
        Assert.Equal(TrimmedCountBytes(6) + GrownCountBytes(6), db.GetMemoryUsage().IndexBytes);

        // Sealed: the segment's own postings, charged as before.
        await db.FlushAsync("c");
        await AssertPrunedEqualsExhaustiveAsync(db, 64, "sealed");
        Assert.Equal(LoadedBytes(db).Sum() + DeletedCountBytes(db).Sum(), db.GetMemoryUsage().IndexBytes);
    }
}
