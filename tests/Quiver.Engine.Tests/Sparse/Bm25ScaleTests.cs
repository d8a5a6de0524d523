using Quiver.Sparse;
using Quiver.Testing;
using Quiver.TextAnalysis;

namespace Quiver.Engine.Tests.Sparse;

/// <summary>BM25 at scale: MaxScore over sealed postings against the reference path (every posting scored, statistics
/// walked row by row; <see cref="Bm25Path.Reference"/>), which <see cref="Bm25Tests"/> checks against a reference
/// BM25 written from the formula; the incremental corpus statistics against a walk of the visible rows through inserts,
/// deletes, upserts, a TTL cut, compaction and a reopen; postings saved with the segment, mapped back after a reopen and
/// rebuilt when their file is damaged; texts with more distinct terms than a client's sparse row may hold.</summary>
public sealed partial class Bm25ScaleTests : IDisposable
{
    private const string AnalyzerJson = """{"type":"english"}""";
    private static readonly string[] Vocabulary = [.. Enumerable.Range(0, 600).Select(Word)];

    private readonly TempFolder _dir = new();
    private readonly ManualClock _clock = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Letters only, so that the analyzer keeps each word whole (no digits, no stop words, no stemming).</summary>
    private static string Word(int i) => "q" + new string([.. $"{i:D4}".Select(c => (char)('a' + c - '0'))]) + "x";

    /// <summary>0..80 words, Zipf-like: a few words in most rows, most words rare; some rows repeat words.</summary>
    private static string Document(Random rng)
    {
        var n = rng.Next(0, 81);
        return string.Join(' ', Enumerable.Range(0, n).Select(_ => Vocabulary[(int)(Math.Pow(rng.NextDouble(), 3) * Vocabulary.Length)]));
    }

    private static string Query(Random rng) =>
        string.Join(' ', Enumerable.Range(0, rng.Next(1, 7)).Select(_ => rng.Next(8) == 0 ? "absentword" : Vocabulary[(int)(Math.Pow(rng.NextDouble(), 2) * Vocabulary.Length)]));

    private static CollectionSchema Schema() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("text", 60_000) with { EnableAnalyzer = true, AnalyzerParams = AnalyzerJson },
            FieldSchema.SparseVector("sparse"),
        ],
        Functions = [CollectionFunction.BM25("bm25", "text", "sparse")],
    };

    private static IndexDefinition Index() => new() { FieldName = "sparse", IndexType = "SPARSE_INVERTED_INDEX", Metric = MetricType.BM25 };

    private Task<QuiverEngine> OpenAsync() => QuiverEngine.OpenAsync(_dir.Path, new QuiverOptions { BackgroundMaintenance = false, Time = _clock });

    private static Row RowOf(long id, string text) => new() { ["id"] = id, ["text"] = text };

    private async Task InsertAsync(QuiverEngine db, Random rng, long from, int count)
    {
        for (var at = from; at < from + count; at += 250)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await db.InsertAsync("c", [.. Enumerable.Range(0, (int)Math.Min(250, from + count - at)).Select(i => RowOf(at + i, Document(rng)))]);
        }
    }

    /// <summary>Pruned searches (MaxScore, the default, and block-max) and the reference return the same ids with
    /// bit-identical scores, for k from 1 to 100, with and without a filter; and the incremental statistics equal a walk
    /// of the visible rows for every word.</summary>
    private static async Task AssertPrunedEqualsExhaustiveAsync(QuiverEngine db, int seed, string what)
    {
        var rng = new Random(seed);
        for (var q = 0; q < 40; q++)
        {
            var text = Query(rng);
            var k = new[] { 1, 3, 10, 10, 100 }[q % 5];
            var request = new SearchRequest
            {
                Vectors = [], QueryTexts = [text, Query(rng)], AnnsField = "sparse", Limit = k, Filter = q % 4 == 3 ? "id % 3 != 1" : "",
            };
            // The path searches take (MaxScore) and block-max, each against the reference.
            var pruned = await db.SearchAsync("c", request);
            SearchResult blockMax, exhaustive;
            try
            {
                Bm25Search.Path = Bm25Path.BlockMax;
                blockMax = await db.SearchAsync("c", request);
                Bm25Search.Path = Bm25Path.Reference;
                exhaustive = await db.SearchAsync("c", request);
            }
            finally
            {
                Bm25Search.Path = Bm25Path.MaxScore;
            }

            foreach (var (name, answer) in new[] { ("pruned", pruned), ("block-max", blockMax) })
            {
                for (var nq = 0; nq < 2; nq++)
                {
                    var (p, e) = (answer.Hits[nq], exhaustive.Hits[nq]);
                    Assert.True(e.Count == p.Count, $"{what}, query '{request.QueryTexts[nq]}', k {k}: {e.Count} exhaustive hits, {p.Count} {name}");
                    for (var i = 0; i < p.Count; i++)
                    {
                        Assert.True(e[i].Id.Equals(p[i].Id) && e[i].Score == p[i].Score,
                            $"{what}, query '{request.QueryTexts[nq]}', k {k}, rank {i}: exhaustive {e[i].Id} {e[i].Score:R}, {name} {p[i].Id} {p[i].Score:R}");
                    }
                }
            }
        }

        var shard = db.ShardOf("c");
        var terms = Vocabulary.Select((w, i) => (TermHash.Of(w), i)).ToDictionary(x => x.Item1, x => x.i);
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        var kept = Bm25Corpus.Statistics(shard, view, field, terms, Bm25Budget.Of(shard, view, field), CancellationToken.None);
        var walked = Bm25Corpus.Walk(view, field, terms, CancellationToken.None);
        Assert.True(walked.Rows == kept.Rows, $"{what}: N {kept.Rows}, walked {walked.Rows}");
        Assert.True(walked.AverageLength == kept.AverageLength, $"{what}: avgdl {kept.AverageLength}, walked {walked.AverageLength}");
        Assert.Equal(walked.DocumentFrequency, kept.DocumentFrequency);
    }

    [Fact]
    public async Task Search_PrunedEqualsExhaustive_AndStatisticsEqualAWalk_ThroughEveryWrite()
    {
        var rng = new Random(5);
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.CreateIndexAsync("c", Index());
            await InsertAsync(db, rng, 0, 1_500);
            await db.FlushAsync("c");
            await InsertAsync(db, rng, 1_500, 1_500);
            await db.FlushAsync("c");
            await InsertAsync(db, rng, 3_000, 700);
            await AssertPrunedEqualsExhaustiveAsync(db, 1, "two sealed + growing");

            // Searched between the writes, so that each search brings the kept statistics up to date from the last.
            await db.DeleteAsync("c", [.. Enumerable.Range(0, 3_700).Where(i => i % 9 == 4).Select(i => (object)(long)i)]);
            await AssertPrunedEqualsExhaustiveAsync(db, 2, "after deletes");
            await db.UpsertAsync("c", [.. Enumerable.Range(0, 3_700).Where(i => i % 13 == 6).Select(i => RowOf(i, Document(rng)))]);
            await InsertAsync(db, rng, 3_700, 300);
            await AssertPrunedEqualsExhaustiveAsync(db, 3, "after upserts and inserts");

            // A TTL that cuts through the first sealed segment.
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string> { ["collection.ttl.seconds"] = "13" });
            await AssertPrunedEqualsExhaustiveAsync(db, 4, "TTL straddling a segment");
            await db.AlterCollectionPropertiesAsync("c", new Dictionary<string, string>(), ["collection.ttl.seconds"]);
            await db.FlushAsync("c");
            await db.CompactAsync("c");
            await AssertPrunedEqualsExhaustiveAsync(db, 5, "after compaction");
        }

        await using (var db = await OpenAsync())
        {
            await AssertPrunedEqualsExhaustiveAsync(db, 6, "after reopen");
            await db.DeleteAsync("c", [.. Enumerable.Range(0, 4_000).Where(i => i % 5 == 0).Select(i => (object)(long)i)]);
            await AssertPrunedEqualsExhaustiveAsync(db, 7, "deletes after reopen");
        }
    }

    [Fact]
    public async Task Postings_SavedWithTheSegment_MappedAfterReopen_RebuiltWhenDamaged()
    {
        var rng = new Random(9);
        SearchResult before;
        var request = new SearchRequest { Vectors = [], QueryTexts = [$"{Vocabulary[3]} {Vocabulary[40]} {Vocabulary[300]}"], AnnsField = "sparse", Limit = 20 };
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.CreateIndexAsync("c", Index());
            await InsertAsync(db, rng, 0, 1_000);
            await db.FlushAsync("c");
            before = await db.SearchAsync("c", request);
            Assert.Equal([false], MappedPostings(db));
        }

        var file = Assert.Single(Directory.GetFiles(_dir.Path, "*.qidx", SearchOption.AllDirectories));
        await using (var db = await OpenAsync())
        {
            AssertSame(before, await db.SearchAsync("c", request));
            Assert.Equal([true], MappedPostings(db));
        }

        // One flipped byte in the last block: its checksum fails at open, the postings are rebuilt and saved again.
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^5] ^= 0x40;
        await File.WriteAllBytesAsync(file, bytes);
        await using (var db = await OpenAsync())
        {
            AssertSame(before, await db.SearchAsync("c", request));
            Assert.Equal([false], MappedPostings(db));
        }

        await using (var db = await OpenAsync())
        {
            AssertSame(before, await db.SearchAsync("c", request));
            Assert.Equal([true], MappedPostings(db));
        }
    }

    [Fact]
    public async Task Insert_TextWithMoreDistinctTermsThanASparseRowHolds_IsStoredAndSearched()
    {
        var many = string.Join(' ', Enumerable.Range(0, SparseVector.MaxEntries + 904).Select(Word));
        await using (var db = await OpenAsync())
        {
            await db.CreateCollectionAsync("c", Schema());
            await db.InsertAsync("c", [RowOf(1, many), RowOf(2, Vocabulary[1])]);
        }

        // Replayed from the log, then sealed into a segment.
        await using (var db = await OpenAsync())
        {
            // The output field is not readable through the API (as in Milvus), so the stored column is read directly:
            // row 0 of the one replayed segment is id 1.
            SparseVector stored;
            var shard = db.ShardOf("c");
            using (var view = shard.AcquireView([]))
            {
                stored = (SparseVector)view.Segments.Single().GetColumn(shard.Schema.IndexOf("sparse")).GetValue(0)!;
            }

            Assert.Equal(SparseVector.MaxEntries + 904, stored.Count);
            await db.FlushAsync("c");
            var hits = (await db.SearchAsync("c", new SearchRequest { Vectors = [], QueryTexts = [Word(4_500)], AnnsField = "sparse", Limit = 5 })).Hits[0];
            Assert.Equal(1L, Assert.Single(hits).Id);
        }
    }

    private static bool[] MappedPostings(QuiverEngine db)
    {
        var shard = db.ShardOf("c");
        using var view = shard.AcquireView([]);
        var field = shard.Schema.IndexOf("sparse");
        return [.. view.Segments.Where(s => s.Segment.IsSealed).Select(s => Bm25Corpus.PostingsOf(shard, s, field, Bm25Budget.Unlimited, CancellationToken.None)!.IsMapped)];
    }

    private static void AssertSame(SearchResult expected, SearchResult actual)
    {
        Assert.Equal(expected.Hits[0].Select(h => (h.Id, h.Score)), actual.Hits[0].Select(h => (h.Id, h.Score)));
    }
}
