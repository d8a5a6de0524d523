using Quiver.Sparse;
using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>The counts per term of a segment's deleted rows (what BM25's statistics take out of its postings' document
/// frequencies) are held against the engine's memory budget as in-memory index (20 bytes a slot of their dictionary);
/// when they do not fit none are kept and each search takes its query terms out over the segment's delete marks, with
/// the same ids, scores and statistics as the reference path (the reference scorer over a walk of the visible rows).</summary>
public sealed partial class Bm25ScaleTests
{
    /// <summary>Per segment (view order) the bytes its deleted rows' counts per term are charged.</summary>
    private static long[] DeletedCountBytes(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Select(s => Bm25Corpus.DeletedCountBytesOf(s.Segment, field))];
    }

    [Fact]
    public async Task DeletedTermCounts_WithoutRoom_AreNotKept_SearchesSubtractOverTheMarks_WithTheSameResults_ThenCharged()
    {
        var rng = new Random(43);
        var texts = new Dictionary<long, string>();
        await using var db = await OpenWithMemoryAsync(1L << 30);
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", Index());
        for (var at = 0; at < 1_000; at += 250)
        {
            var rows = Enumerable.Range(at, 250).Select(i => RowOf(i, texts[i] = Document(rng))).ToList();
            await db.InsertAsync("c", rows);
        }

        await db.FlushAsync("c");
        await AssertPrunedEqualsExhaustiveAsync(db, 80, "sealed, nothing deleted");
        var postings = Assert.Single(LoadedBytes(db));
        Assert.True(postings > 0);
        Assert.Equal(new long[1], DeletedCountBytes(db));
        Assert.Equal(postings, db.GetMemoryUsage().IndexBytes);

        // What counts of the deleted rows' distinct terms grown one at a time are charged.
        var deleted = new List<long>();
        long DeletedTermBytes() => GrownCountBytes(deleted.SelectMany(id => texts[id].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(TermHash.Of).Distinct().Count());

        deleted.AddRange(Enumerable.Range(0, 1_000).Where(i => i % 4 == 1).Select(i => (long)i));
        await db.DeleteAsync("c", [.. deleted.Cast<object>()]);
        var expected = DeletedTermBytes();
        Assert.True(expected > 0);

        // One byte short of the deleted rows' counts: none are kept, every search subtracts its terms over the marks.
        var memory = db.Memory;
        // (Filters' cached bitmaps give way to index memory: they are not counted as taking room.)
        var taken = memory.BudgetBytes - (memory.UsedBytes - memory.FilterCacheBytes) - memory.ReservedBytes - expected + 1;
        Assert.True(memory.TryReserve(taken));
        try
        {
            await AssertPrunedEqualsExhaustiveAsync(db, 81, "deleted rows' counts refused");
            Assert.Equal(new long[1], DeletedCountBytes(db));
            Assert.Equal(postings, db.GetMemoryUsage().IndexBytes);
        }
        finally
        {
            memory.Release(taken);
        }

        // Room again: counted from the first mark, kept and charged.
        await AssertPrunedEqualsExhaustiveAsync(db, 82, "deleted rows' counts admitted");
        Assert.Equal(new[] { expected }, DeletedCountBytes(db));
        Assert.Equal(postings + expected, db.GetMemoryUsage().IndexBytes);

        // More deletes: the counts grow, and so does their charge.
        deleted.AddRange(Enumerable.Range(0, 1_000).Where(i => i % 4 == 3).Select(i => (long)i));
        await db.DeleteAsync("c", [.. Enumerable.Range(0, 1_000).Where(i => i % 4 == 3).Select(i => (object)(long)i)]);
        await AssertPrunedEqualsExhaustiveAsync(db, 83, "more deletes");
        Assert.Equal(new[] { DeletedTermBytes() }, DeletedCountBytes(db));
        Assert.Equal(postings + DeletedTermBytes(), db.GetMemoryUsage().IndexBytes);

        // The counts go with their segment.
        await db.DropCollectionAsync("c");
        Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
    }
}
