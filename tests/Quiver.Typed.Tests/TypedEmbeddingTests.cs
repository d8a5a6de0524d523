using Quiver.Typed.Tests.VectorData;

namespace Quiver.Typed.Tests;

public sealed class Memo
{
    [QuiverKey]
    public long Id { get; set; }

    public string Text { get; set; } = "";

    [QuiverVector(4, Metric = MetricType.L2, EmbedFrom = nameof(Text))]
    public float[] Embedding { get; set; } = [];
}

public sealed class BadSource
{
    [QuiverKey]
    public long Id { get; set; }

    public int Count { get; set; }

    [QuiverVector(4, EmbedFrom = nameof(Count))]
    public float[] Embedding { get; set; } = [];
}

/// <summary>
/// Automatic embedding in the typed API, embedded and against the server: a vector property with <c>EmbedFrom</c> is
/// filled by the collection's generator on upsert (one call per batch, written back into the records), and
/// <c>SearchAsync(text)</c> searches the text's embedding, against brute force over the generator's own vectors
/// (<see cref="LetterCountGenerator"/>, deterministic).
/// </summary>
public abstract class TypedEmbeddingTests(bool remote)
{
    [Fact]
    public async Task EmbedFrom_FillsVectorsOnUpsert_AndTextSearchEqualsBruteForce()
    {
        await using var target = await Target.OpenAsync(remote);
        var generator = new LetterCountGenerator();
        var memos = target.Client.Collection<Memo>("memos", new QuiverCollectionOptions { EmbeddingGenerator = generator, VectorIndexType = "FLAT" });
        await memos.EnsureCreatedAsync();
        string[] texts = ["vector search", "durable storage", "abc", "quiver and milvus", "zzzz", "typed records"];
        var records = texts.Select((t, i) => new Memo { Id = i, Text = t }).ToList();
        await memos.UpsertAsync(records);
        Assert.Equal(1, generator.Calls);
        Assert.All(records, r => Assert.Equal(LetterCountGenerator.Embed(r.Text), r.Embedding));
        var stored = await memos.GetAsync(3L);
        Assert.Equal(LetterCountGenerator.Embed(texts[3]), stored!.Embedding);

        foreach (var query in new[] { "search vectors", "milvus", "storage typed" })
        {
            var q = LetterCountGenerator.Embed(query);
            var expected = texts.Select((t, i) => (Id: (long)i, Distance: LetterCountGenerator.Embed(t).Zip(q, (a, b) => (a - b) * (a - b)).Sum()))
                .OrderBy(x => x.Distance).ThenBy(x => x.Id).Take(3).ToList();
            var hits = await memos.SearchAsync(query, new QuiverSearchOptions { Limit = 3 }).ToListAsync();
            Assert.Equal(expected.Select(e => e.Distance), hits.Select(h => h.Score));
            Assert.All(hits, h => Assert.Equal(texts[h.Record.Id], h.Record.Text));
        }
    }

    [Fact]
    public async Task EmbeddingMistakes_AreInvalidArgument()
    {
        await using var target = await Target.OpenAsync(remote);
        var without = target.Client.Collection<Memo>("memos", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await without.EnsureCreatedAsync();
        var noGenerator = await Assert.ThrowsAsync<QuiverException>(() => without.UpsertAsync([new Memo { Id = 1, Text = "x" }]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, noGenerator.Code);
        Assert.Contains("EmbeddingGenerator", noGenerator.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<QuiverException>(() => without.SearchAsync("x").ToListAsync().AsTask());
        var with = target.Client.Collection<Memo>("memos", new QuiverCollectionOptions { EmbeddingGenerator = new LetterCountGenerator() });
        var nullText = await Assert.ThrowsAsync<QuiverException>(() => with.UpsertAsync([new Memo { Id = 2, Text = null! }]));
        Assert.Contains("Memo.Text is null", nullText.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<QuiverException>(() => target.Client.Collection<BadSource>("bad"));
        Assert.Contains("EmbedFrom names Count", bad.Message, StringComparison.Ordinal);
    }
}

public sealed class EmbeddedTypedEmbeddingTests() : TypedEmbeddingTests(remote: false);

public sealed class RemoteTypedEmbeddingTests() : TypedEmbeddingTests(remote: true);
