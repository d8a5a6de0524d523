using System.Buffers.Binary;
using System.Text;
using Quiver.Sparse;
using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>Growing postings, the per-list check of mapped postings, and postings under the memory budget: each against
/// the reference path (statistics walked, rows scored one by one) and the results of an engine without the limit.</summary>
public sealed partial class Bm25ScaleTests
{
    private Task<QuiverEngine> OpenAsync(long budget) =>
        QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Time = _clock, IndexMemoryBudgetBytes = budget });

    private static SearchRequest TextRequest(string text, int limit = 20) => new() { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = limit };

    [Fact]
    public async Task Search_GrowingSegment_ScoresItsPostings_AsTheReferenceDoes()
    {
        var rng = new Random(21);
        await using var db = await OpenAsync();
        await db.CreateCollectionAsync("c", Schema());
        await db.CreateIndexAsync("c", Index());
        for (var batch = 0; batch < 4; batch++)
        {
            // Searched between the inserts, so that each search appends only the rows since the last one.
            await InsertAsync(db, rng, batch * 600L, 600);
            await AssertPrunedEqualsExhaustiveAsync(db, 30 + batch, $"growing, batch {batch}");
            Assert.Equal(new[] { (600 * (batch + 1), true) }, GrowingRows(db));
        }

        await db.DeleteAsync("c", [.. Enumerable.Range(0, 2_400).Where(i => i % 7 == 2).Select(i => (object)(long)i)]);
        await AssertPrunedEqualsExhaustiveAsync(db, 40, "growing after deletes");

        // Sealed in place: the segment's sealed postings take over from its growing ones.
        await db.FlushAsync("c");
        await AssertPrunedEqualsExhaustiveAsync(db, 41, "sealed");
        Assert.Equal([false], MappedPostings(db));
    }

    [Fact]
    public async Task Postings_AfterReopen_CheckedAListAtATime_ADamagedListRebuiltAtItsFirstTouch()
    {
        var rng = new Random(22);
        var common = Vocabulary[0];
        var rare = Vocabulary[450];
        SearchResult before;
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.CreateIndexAsync("c", Index());
            await InsertAsync(db, rng, 0, 6_000);
            await db.FlushAsync("c");
            before = await db.SearchAsync("c", TextRequest($"{common} {rare}"));
        }

        var file = Assert.Single(Directory.GetFiles(_dir.Path, "*.qidx", SearchOption.AllDirectories));
        long commonList, damaged;
        await using (var db = await OpenAsync())
        {
            var postings = SealedPostings(db);
            Assert.True(postings.IsMapped);
            Assert.Equal(0L, postings.CheckedPostings);
            await db.SearchAsync("c", TextRequest(rare));
            var rareList = ListLength(postings, rare);
            Assert.Equal(rareList, postings.CheckedPostings);
            Assert.True(rareList * 20 < postings.PostingCount, $"{rareList} of {postings.PostingCount} postings");
            commonList = ListLength(postings, common);
            Assert.True(commonList * 4 > 4 * 4096, $"the common word's list is {commonList} postings, less than four pages");

            var (start, _) = postings.Range(postings.Find(TermHash.Of(common)));
            damaged = start + (commonList / 2);
        }

        // A flipped byte in the middle of the common word's rows, a page that holds only its list.
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[BlockOffset(bytes, "bm25_rows") + (damaged * 4)] ^= 0x10;
        await File.WriteAllBytesAsync(file, bytes);

        await using (var db = await OpenAsync())
        {
            // Opened without reading the damaged page; a search that does not touch it reads the mapped lists.
            var postings = SealedPostings(db);
            Assert.True(postings.IsMapped);
            await db.SearchAsync("c", TextRequest(rare));
            Assert.Same(postings, SealedPostings(db));

            // The first search over the damaged list drops the postings, rebuilds them and answers as before.
            AssertSame(before, await db.SearchAsync("c", TextRequest($"{common} {rare}")));
            Assert.Equal([false], MappedPostings(db));
        }

        await using (var db = await OpenAsync())
        {
            AssertSame(before, await db.SearchAsync("c", TextRequest($"{common} {rare}")));
            var postings = SealedPostings(db);
            Assert.True(postings.IsMapped);
            Assert.Equal(commonList + ListLength(postings, rare), postings.CheckedPostings);
        }
    }

    [Fact]
    public async Task Postings_CountAgainstTheMemoryBudget_SegmentsPastItScoredFromTheirRows()
    {
        var rng = new Random(23);
        var queries = Enumerable.Range(0, 12).Select(_ => Query(rng)).ToArray();
        var (unlimited, sizes, _) = await TwoSealedSegmentsAsync(rng, queries);

        // Room for the first segment's postings, not for both: the second is scored from its rows.
        await using (var db = await OpenAsync(sizes[0] + sizes[1] - 1))
        {
            AssertSameAll(unlimited, await SearchAllAsync(db, queries));
            Assert.Equal(new[] { sizes[0], 0 }, LoadedBytes(db));
            Assert.Equal(sizes[0], Assert.Single(await db.DescribeIndexesAsync("c")).MemoryBytes);
            await AssertPrunedEqualsExhaustiveAsync(db, 50, "one segment past the budget");
        }

        await using (var db = await OpenAsync(1))
        {
            AssertSameAll(unlimited, await SearchAllAsync(db, queries));
            Assert.Equal(new long[2], LoadedBytes(db));
            await db.DeleteAsync("c", [.. Enumerable.Range(0, 3_500).Where(i => i % 4 == 1).Select(i => (object)(long)i)]);
            await AssertPrunedEqualsExhaustiveAsync(db, 51, "no postings, after deletes");
            Assert.Equal(0L, Assert.Single(await db.DescribeIndexesAsync("c")).MemoryBytes);
        }
    }

    private static async Task<SearchResult[]> SearchAllAsync(QuiverEngine db, string[] queries)
    {
        var results = new SearchResult[queries.Length];
        for (var q = 0; q < queries.Length; q++)
        {
            results[q] = await db.SearchAsync("c", TextRequest(queries[q], 10));
        }

        return results;
    }

    private static void AssertSameAll(SearchResult[] expected, SearchResult[] actual)
    {
        for (var q = 0; q < expected.Length; q++)
        {
            AssertSame(expected[q], actual[q]);
        }
    }

    /// <summary>Per segment (view order) the bytes of its loaded postings, loading none.</summary>
    private static long[] LoadedBytes(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Select(s => Bm25Corpus.LoadedBytes([s.Segment], field))];
    }

    /// <summary>Per growing segment: its rows, and whether its growing postings cover them.</summary>
    private static (int Rows, bool Covered)[] GrowingRows(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Where(s => !s.Segment.IsSealed).Select(s => (s.RowCount, Bm25Corpus.GrowingOf(s, field, []) is not null))];
    }

    private static Bm25Postings SealedPostings(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        return Bm25Corpus.PostingsOf(shard, view.Segments.Single(), shard.Schema.IndexOf("sparse"), Bm25Budget.Unlimited, CancellationToken.None)!;
    }

    private static long ListLength(Bm25Postings postings, string word) => postings.DocumentFrequency(postings.Find(TermHash.Of(word)));

    /// <summary>Where a block starts in an index file, read from its directory (docs/format-index.md).</summary>
    private static int BlockOffset(byte[] file, string name)
    {
        var blocks = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12));
        for (var i = 0; i < blocks; i++)
        {
            var entry = file.AsSpan(64 + (i * 48), 48);
            if (Encoding.ASCII.GetString(entry[..24]).TrimEnd('\0') == name)
            {
                return (int)BinaryPrimitives.ReadInt64LittleEndian(entry[24..]);
            }
        }

        throw new InvalidOperationException($"no block {name}");
    }
}
