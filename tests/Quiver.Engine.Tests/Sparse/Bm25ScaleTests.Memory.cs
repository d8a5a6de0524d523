namespace Quiver.Engine.Tests.Sparse;

/// <summary>A sealed segment's BM25 postings held against the engine's memory budget (<c>MemoryBudgetBytes</c>), as
/// in-memory index: counted in <c>IndexBytes</c> exactly as <c>DescribeIndexesAsync</c> reports them, refused (the
/// segment scored from its rows, the same results) when they do not fit, given back when the collection goes. The counts
/// per term that stand in for refused postings are held the same way; refused too when they do not fit (each search then
/// counts its query terms over the rows), with the same results.</summary>
public sealed partial class Bm25ScaleTests
{
    private Task<QuiverEngine> OpenWithMemoryAsync(long memoryBudget) =>
        QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Time = _clock, MemoryBudgetBytes = memoryBudget });

    [Fact]
    public async Task Postings_AreHeldAgainstTheEngineMemoryBudget_RefusedPastIt_WithTheSameResults()
    {
        var rng = new Random(24);
        var queries = Enumerable.Range(0, 12).Select(_ => Query(rng)).ToArray();
        var (unlimited, sizes, terms) = await TwoSealedSegmentsAsync(rng, queries);

        // Room for the first segment's postings, not for both: the second is scored from its rows, its statistics
        // read from a count per term, charged too.
        var budget = sizes[0] + sizes[1] - 1;
        await using (var db = await OpenWithMemoryAsync(budget))
        {
            AssertSameAll(unlimited, await SearchAllAsync(db, queries));
            Assert.Equal(new[] { sizes[0], 0 }, LoadedBytes(db));
            Assert.Equal(new[] { 0, TrimmedCountBytes(terms[1]) }, CountBytes(db));
            Assert.Equal(sizes[0] + TrimmedCountBytes(terms[1]), db.GetMemoryUsage().IndexBytes);
            Assert.True(db.Memory.PeakUsedBytes <= budget);
            await AssertPrunedEqualsExhaustiveAsync(db, 52, "one segment past the engine's budget");

            // The postings go with their segments.
            await db.DropCollectionAsync("c");
            Assert.Equal(0, db.GetMemoryUsage().IndexBytes);
        }
    }
}
