using Quiver.Sparse;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>The counts per term a BM25 field keeps for its statistics where a segment has no postings, held against the
/// engine's memory budget as in-memory index (<c>IndexBytes</c>, 20 bytes a slot of their dictionary); when they do not
/// fit none are kept and each search counts its query terms over the segment's rows, with the same ids, scores and
/// statistics as the reference path (<see cref="Bm25Search"/>'s reference scorer over a walk of the visible rows).</summary>
public sealed partial class Bm25ScaleTests
{
    /// <summary>What a sealed segment's counts of <paramref name="terms"/> distinct terms are charged: its dictionary
    /// trimmed to the smallest capacity .NET gives that many entries.</summary>
    private static long TrimmedCountBytes(int terms) => (long)new Dictionary<uint, int>(terms).Capacity * 20;

    /// <summary>What counts of <paramref name="terms"/> distinct terms added one at a time from an empty dictionary are
    /// charged.</summary>
    private static long GrownCountBytes(int terms)
    {
        var counts = new Dictionary<uint, int>();
        for (var t = 0u; t < terms; t++)
        {
            counts[t] = 1;
        }

        return (long)counts.Capacity * 20;
    }

    /// <summary>Per segment (view order) the bytes its counts per term are charged.</summary>
    private static long[] CountBytes(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Select(s => Bm25Corpus.CountBytesOf(s.Segment, field))];
    }

    /// <summary>Per sealed segment (view order) the distinct terms of its rows, read from its postings (built or mapped
    /// without a budget).</summary>
    private static int[] DistinctTerms(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Select(s => Bm25Corpus.PostingsOf(shard, s, field, Bm25Budget.Unlimited, CancellationToken.None)!.TermCount)];
    }

    /// <summary>Two sealed segments (1,500 and 2,000 rows) searched by an engine without a budget: its answers to
    /// <paramref name="queries"/> (which load the postings), and per segment its postings' bytes and distinct terms.</summary>
    private async Task<(SearchResult[] Unlimited, long[] Sizes, int[] Terms)> TwoSealedSegmentsAsync(Random rng, string[] queries)
    {
        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", Index());
        await InsertAsync(db, rng, 0, 1_500);
        await db.FlushAsync("c");
        await InsertAsync(db, rng, 1_500, 2_000);
        await db.FlushAsync("c");
        Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
        var unlimited = await SearchAllAsync(db, queries);
        var sizes = LoadedBytes(db);
        Assert.Equal(2, sizes.Length);
        Assert.All(sizes, s => Assert.True(s > 0));
        Assert.Equal(sizes.Sum(), db.GetMemoryUsage().IndexBytes);
        Assert.Equal(sizes.Sum(), Assert.Single(await db.DescribeIndexesAsync("c")).MemoryBytes);
        return (unlimited, sizes, DistinctTerms(db));
    }

    [Fact]
    public async Task TermCounts_WithoutRoom_AreNotKept_SearchesWalkTheRows_WithTheSameResults_ThenCharged()
    {
        var rng = new Random(31);
        var (_, sizes, terms) = await TwoSealedSegmentsAsync(rng, [.. Enumerable.Range(0, 12).Select(_ => Query(rng))]);
        var budget = sizes[0] + sizes[1] - 1;
        await using (var db = await OpenWithMemoryAsync(budget))
        {
            // Deletes first (a write needs room for its marks), then room for the first segment's postings and one byte
            // less than the second's counts.
            await db.DeleteAsync("c", [.. Enumerable.Range(0, 3_500).Where(i => i % 6 == 2).Select(i => (object)(long)i)]);
            var memory = db.Memory;
            var taken = memory.BudgetBytes - memory.UsedBytes - memory.ReservedBytes - sizes[0] - TrimmedCountBytes(terms[1]) + 1;
            Assert.True(memory.TryReserve(taken));
            try
            {
                await AssertPrunedEqualsExhaustiveAsync(db, 53, "counts per term refused, after deletes");
                Assert.Equal(new[] { sizes[0], 0 }, LoadedBytes(db));
                Assert.Equal(new long[2], CountBytes(db));
                Assert.Equal(sizes[0] + DeletedCountBytes(db).Sum(), db.GetMemoryUsage().IndexBytes);
            }
            finally
            {
                memory.Release(taken);
            }

            // With room again the next search counts the segment's terms once and keeps the counts, charged.
            await AssertPrunedEqualsExhaustiveAsync(db, 54, "counts admitted after the refusal");
            Assert.Equal(new[] { 0, TrimmedCountBytes(terms[1]) }, CountBytes(db));
            // Beside the deleted rows' counts per term (Bm25ScaleTests.DeletedCounts.cs).
            Assert.Equal(sizes[0] + TrimmedCountBytes(terms[1]) + DeletedCountBytes(db).Sum(), db.GetMemoryUsage().IndexBytes);
            Assert.True(memory.PeakUsedBytes <= budget);

            // The counts go with their segment.
            await db.DropCollectionAsync("c");
            Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
        }
    }

    [Fact]
    public async Task GrowingTermCounts_AfterThePostingsDrop_RefusedPastTheBudget_WithTheSameResults_ThenCharged()
    {
        await using var db = await OpenWithMemoryAsync(1L << 30);
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", Index());
        await db.InsertAsync("c", [.. Enumerable.Range(0, 500).Select(PatternRow)]);
        await db.DeleteAsync("c", [.. Enumerable.Range(0, 500).Where(i => i % 7 == 1).Select(i => (object)(long)i)]);

        // Room for neither the growing postings nor the six terms' counts (one byte short of them): the first search
        // drops the postings, refuses the counts and walks the rows.
        var memory = db.Memory;
        var taken = memory.BudgetBytes - memory.UsedBytes - memory.ReservedBytes - GrownCountBytes(6) + 1;
        Assert.True(memory.TryReserve(taken));
        try
        {
            await AssertPrunedEqualsExhaustiveAsync(db, 71, "growing postings and counts refused");
            Assert.Equal(new[] { (500, false) }, GrowingRows(db));
            Assert.Equal(new long[1], CountBytes(db));
            Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
        }
        finally
        {
            memory.Release(taken);
        }

        // Room again: counts from the first row, charged; no growing postings again for this segment.
        await AssertPrunedEqualsExhaustiveAsync(db, 72, "counts after the refusal");
        Assert.Equal(new[] { (500, false) }, GrowingRows(db));
        // Beside them the deleted rows' counts, of the same six terms.
        Assert.Equal(new[] { GrownCountBytes(6) }, CountBytes(db));
        Assert.Equal(new[] { GrownCountBytes(6) }, DeletedCountBytes(db));
        Assert.Equal(2 * GrownCountBytes(6), db.GetMemoryUsage().IndexBytes);
        await db.InsertAsync("c", [.. Enumerable.Range(500, 100).Select(PatternRow)]);
        await AssertPrunedEqualsExhaustiveAsync(db, 73, "counts brought up to date");
        Assert.Equal(2 * GrownCountBytes(6), db.GetMemoryUsage().IndexBytes);

        // Sealed: the segment's own postings, and the counts given back.
        await db.FlushAsync("c");
        await AssertPrunedEqualsExhaustiveAsync(db, 74, "sealed");
        Assert.Equal(new long[1], CountBytes(db));
        Assert.Equal(LoadedBytes(db).Sum() + DeletedCountBytes(db).Sum(), db.GetMemoryUsage().IndexBytes);
    }
}
