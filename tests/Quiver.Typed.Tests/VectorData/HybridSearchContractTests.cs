using Microsoft.Extensions.VectorData;
using Quiver.Testing;
using Quiver.VectorData;

namespace Quiver.Typed.Tests.VectorData;

/// <summary>
/// <see cref="IKeywordHybridSearchable{TRecord}"/> on the embedded engine and the server: every answer against an oracle
/// computed here from the records alone (brute-force squared L2, a reference Okapi BM25 with k1 = 1.2 and b = 0.75 over
/// the whitespace-separated lowercase words, reciprocal rank fusion with k = 60, equal scores by key), with filter,
/// skip, score threshold, included vectors and the property choice rules.
/// </summary>
public abstract class HybridSearchContractTests(bool remote)
{
    private static readonly string[] Keywords = ["kernel", "panic", "driver"];

    /// <summary>Passage i holds 0..2 of each keyword and i filler words, so two passages with the same keyword counts
    /// differ in length and their BM25 scores do not tie.</summary>
    private static List<Passage> Passages(int count)
    {
        var random = new Random(11);
        string[] filler = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"];
        return [.. Enumerable.Range(1, count).Select(i =>
        {
            var words = new List<string>();
            foreach (var k in Keywords)
            {
                words.AddRange(Enumerable.Repeat(k, random.Next(3) * (random.Next(3) == 0 ? 1 : 0)));
            }

            words.AddRange(Enumerable.Range(0, i).Select(_ => filler[random.Next(filler.Length)]));
            return new Passage
            {
                Id = i,
                Text = string.Join(' ', words.OrderBy(_ => random.Next())),
                Group = i % 3,
                Vector = [(float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble()],
            };
        })];
    }

    private static List<(long Id, double Score)> Oracle(List<Passage> passages, float[] vector, string[] keywords, int top, int skip, Func<Passage, bool> filter)
    {
        var allowed = passages.Where(filter).ToList();
        var each = top + skip;
        var dense = allowed.OrderBy(p => p.Vector.Zip(vector, (a, b) => (double)(a - b) * (a - b)).Sum()).ThenBy(p => p.Id).Take(each).Select(p => p.Id).ToList();
        var bm25 = Bm25Reference.Scores(passages.ToDictionary(p => p.Id, p => p.Text), keywords);
        var text = allowed.Where(p => bm25[p.Id] > 0).OrderByDescending(p => bm25[p.Id]).ThenBy(p => p.Id).Take(each).Select(p => p.Id).ToList();
        var fused = new Dictionary<long, double>();
        foreach (var list in new[] { dense, text })
        {
            for (var rank = 1; rank <= list.Count; rank++)
            {
                fused[list[rank - 1]] = fused.GetValueOrDefault(list[rank - 1]) + (1.0 / (60 + rank));
            }
        }

        return [.. fused.OrderByDescending(f => f.Value).ThenBy(f => f.Key).Skip(skip).Take(top).Select(f => (f.Key, f.Value))];
    }

    private async Task<(Target Target, QuiverVectorStoreCollection<long, Passage> Collection, List<Passage> Passages)> OpenAsync()
    {
        var target = await Target.OpenAsync(remote);
        var store = new QuiverVectorStore(target.Client);
        var collection = store.GetCollection<long, Passage>("passages");
        await collection.EnsureCollectionExistsAsync();
        var passages = Passages(90);
        await collection.UpsertAsync(passages.Take(50));
        await target.Client.FlushAsync("passages");
        await collection.UpsertAsync(passages.Skip(50));
        return (target, collection, passages);
    }

    public static TheoryData<string, int, int> Cases() => new()
    {
        { "kernel", 10, 0 },
        { "kernel panic", 7, 3 },
        { "panic driver", 5, 0 },
        { "kernel panic driver", 12, 4 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HybridSearch_EqualsRrfOfBruteForceAndReferenceBm25(string keywords, int top, int skip)
    {
        var (target, collection, passages) = await OpenAsync();
        await using var _ = target;
        float[] vector = [0.3f, 0.6f, 0.2f];
        var words = keywords.Split(' ');
        foreach (var filtered in new[] { false, true })
        {
            var expected = Oracle(passages, vector, words, top, skip, filtered ? p => p.Group != 1 : _ => true);
            var options = new HybridSearchOptions<Passage> { Skip = skip, Filter = filtered ? p => p.Group != 1 : null };
            var hits = await collection.HybridSearchAsync(vector, words, top, options).ToListAsync();
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Record.Id));
            for (var i = 0; i < hits.Count; i++)
            {
                Assert.Equal(expected[i].Score, hits[i].Score!.Value, 5);
                Assert.Equal(passages[(int)hits[i].Record.Id - 1].Text, hits[i].Record.Text);
                Assert.Empty(hits[i].Record.Vector);
            }
        }
    }

    [Fact]
    public async Task HybridSearch_ThresholdVectorsAndKeywordCasing()
    {
        var (target, collection, passages) = await OpenAsync();
        await using var _ = target;
        float[] vector = [0.9f, 0.1f, 0.5f];
        var expected = Oracle(passages, vector, ["kernel", "driver"], 10, 0, _ => true);
        // Between the fourth and fifth scores, so float rounding of the fused scores cannot move the cut.
        Assert.True(expected[3].Score - expected[4].Score > 1e-5);
        var threshold = (expected[3].Score + expected[4].Score) / 2;
        var hits = await collection.HybridSearchAsync(new ReadOnlyMemory<float>(vector), ["KERNEL", "  ", "Driver"], 10, new HybridSearchOptions<Passage>
        {
            ScoreThreshold = threshold,
            IncludeVectors = true,
            VectorProperty = p => p.Vector,
            AdditionalProperty = p => p.Text,
        }).ToListAsync();
        Assert.Equal(expected.Take(4).Select(e => e.Id), hits.Select(h => h.Record.Id));
        Assert.Equal(passages[(int)hits[0].Record.Id - 1].Vector, hits[0].Record.Vector);
        Assert.Same(collection, collection.GetService(typeof(IKeywordHybridSearchable<Passage>)));
    }

    [Fact]
    public async Task HybridSearch_Mistakes_AreClearErrors()
    {
        var (target, collection, _) = await OpenAsync();
        await using var __ = target;
        await Assert.ThrowsAsync<ArgumentException>(() => collection.HybridSearchAsync(new float[] { 1, 0, 0 }, [" ", ""], 3).ToListAsync().AsTask());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => collection.HybridSearchAsync(new float[] { 1, 0, 0 }, ["kernel"], 0).ToListAsync().AsTask());

        var store = new QuiverVectorStore(target.Client);
        var two = store.GetCollection<string, TwoTexts>("two_texts");
        await two.EnsureCollectionExistsAsync();
        await two.UpsertAsync([new TwoTexts { Id = "a", Title = "kernel", Body = "panic", Vector = [1, 0] }, new TwoTexts { Id = "b", Title = "driver", Body = null, Vector = [0, 1] }]);
        var ambiguous = await Assert.ThrowsAsync<InvalidOperationException>(() => two.HybridSearchAsync(new float[] { 1, 0 }, ["kernel"], 3).ToListAsync().AsTask());
        Assert.Contains("full text", ambiguous.Message, StringComparison.OrdinalIgnoreCase);
        var byBody = await two.HybridSearchAsync(new float[] { 0, 1 }, ["panic"], 2, new HybridSearchOptions<TwoTexts> { AdditionalProperty = r => r.Body }).ToListAsync();
        Assert.Equal(["a", "b"], byBody.Select(h => h.Record.Id));
        Assert.Equal((1.0 / 61) + (1.0 / 62), byBody[0].Score!.Value, 5);

        var plain = store.GetCollection<long, Hotel>("hotels");
        await plain.EnsureCollectionExistsAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => plain.HybridSearchAsync(new float[] { 1, 0, 0, 0 }, ["kernel"], 3).ToListAsync().AsTask());
    }
}

public sealed class EmbeddedHybridSearchTests() : HybridSearchContractTests(remote: false);

public sealed class RemoteHybridSearchTests() : HybridSearchContractTests(remote: true);
