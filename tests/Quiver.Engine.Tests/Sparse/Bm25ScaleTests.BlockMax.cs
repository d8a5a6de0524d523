using Quiver.Sparse;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>Block-max MaxScore (<see cref="Bm25Path.BlockMax"/>) against plain MaxScore, the exhaustive path and the
/// reference path on a corpus built so that the block bounds matter: a word with a high frequency in short rows only
/// near the start of the segment and once in a quarter of the long rows after them, so that its list stays essential
/// for plain MaxScore (its whole-list bound is high) while most of its blocks cannot reach the k-th score.</summary>
public sealed partial class Bm25ScaleTests
{
    private static readonly string Common = Word(7);
    private static readonly string Half = Word(8);

    /// <summary>Row <paramref name="i"/>: rows below 300 are short with <see cref="Common"/> five times; of the others
    /// (long), every fourth holds it once; <see cref="Half"/> in every other row, three times in some.</summary>
    private static string SkewedDocument(int i, Random rng)
    {
        var words = new List<string>();
        words.AddRange(Enumerable.Repeat(Common, i < 300 ? 5 : i % 4 == 0 ? 1 : 0));
        if (i % 2 == 0)
        {
            words.AddRange(Enumerable.Repeat(Half, i % 14 == 0 ? 3 : 1));
        }

        var filler = i < 300 ? 2 : 30 + rng.Next(30);
        words.AddRange(Enumerable.Range(0, filler).Select(_ => Vocabulary[100 + rng.Next(400)]));
        return string.Join(' ', words.OrderBy(_ => rng.Next()));
    }

    [Fact]
    public async Task BlockMax_StepsOverBlocks_ScoresFewerRows_AndEqualsEveryOtherPath()
    {
        var rng = new Random(21);
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.CreateIndexAsync("c", Index());
            await db.InsertAsync("c", [.. Enumerable.Range(0, 6_000).Select(i => RowOf(i, SkewedDocument(i, rng)))]);
            await db.FlushAsync("c");
            await AssertBlockMaxAsync(db, "built postings");
        }

        // Mapped from the segment's postings file (format 3, with the block tables) after a reopen.
        await using (var db = await OpenAsync())
        {
            await AssertBlockMaxAsync(db, "mapped postings");
            Assert.Equal([true], MappedPostings(db));
        }
    }

    private static async Task AssertBlockMaxAsync(QuiverEngine db, string what)
    {
        // The last two only for equality: their filler words are spread evenly, so the block bounds need not cut much.
        foreach (var (text, k, filter, fewer) in new[]
        {
            (Common, 10, "", true), ($"{Common} {Half}", 10, "", true), ($"{Common} {Half}", 1, "", true), ($"{Half} {Common}", 25, "", true),
            ($"{Common} {Half}", 10, "id % 3 != 0", true), ($"{Half} {Common} {Vocabulary[150]}", 25, "", false),
            ($"{Common} {Vocabulary[120]} {Vocabulary[121]}", 50, "", false),
        })
        {
            var request = new SearchRequest { Vectors = [], QueryTexts = [text], AnnsField = "sparse", Limit = k, Filter = filter };
            var results = new Dictionary<Bm25Path, SearchResult>();
            foreach (var path in new[] { Bm25Path.BlockMax, Bm25Path.MaxScore, Bm25Path.Exhaustive, Bm25Path.Reference })
            {
                Bm25Search.Path = path;
                try
                {
                    results[path] = await db.SearchAsync("c", request);
                }
                finally
                {
                    Bm25Search.Path = Bm25Path.MaxScore;
                }
            }

            var reference = results[Bm25Path.Reference].Hits[0];
            Assert.Equal(k, reference.Count);
            foreach (var (path, result) in results)
            {
                var hits = result.Hits[0];
                Assert.True(hits.Select(h => (h.Id, h.Score)).SequenceEqual(reference.Select(h => (h.Id, h.Score))),
                    $"{what}, '{text}' k {k} '{filter}': {path} answered [{string.Join(", ", hits.Select(h => $"{h.Id}:{h.Score:R}"))}], " +
                    $"the reference [{string.Join(", ", reference.Select(h => $"{h.Id}:{h.Score:R}"))}]");
            }

            var blockMax = results[Bm25Path.BlockMax].Stats()!;
            var maxScore = results[Bm25Path.MaxScore].Stats()!;
            Assert.Equal(0, maxScore.Bm25PostingsSkipped);
            Assert.True(blockMax.Bm25RowsVisited <= maxScore.Bm25RowsVisited,
                $"{what}, '{text}' k {k} '{filter}': block-max visited {blockMax.Bm25RowsVisited} rows, MaxScore {maxScore.Bm25RowsVisited}");
            Assert.True(!fewer || (blockMax.Bm25PostingsSkipped > 0 && blockMax.Bm25RowsVisited * 3 < maxScore.Bm25RowsVisited),
                $"{what}, '{text}' k {k} '{filter}': block-max visited {blockMax.Bm25RowsVisited} rows and stepped over {blockMax.Bm25PostingsSkipped} postings, " +
                $"MaxScore visited {maxScore.Bm25RowsVisited}");
        }
    }
}
