using System.Numerics.Tensors;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Quiver.AI;
using Quiver.Embeddings;
using Quiver.VectorData;

namespace Quiver.Typed.Tests.AI;

/// <summary>One loaded all-MiniLM-L6-v2 generator for every test of a class (loading takes about a second and 90 MB).</summary>
public sealed class LocalGenerator : IDisposable
{
    public QuiverEmbeddingGenerator Generator { get; } = QuiverEmbeddingGenerator.CreateLocal();

    public void Dispose() => Generator.Dispose();
}

[CollectionDefinition(nameof(LocalGeneratorCollection))]
public sealed class LocalGeneratorCollection : ICollectionFixture<LocalGenerator>;

/// <summary>
/// <see cref="QuiverEmbeddingGenerator"/> over the local all-MiniLM-L6-v2: its vectors against vectors recorded from the
/// model (tests/Quiver.Embeddings.Tests/TestData/minilm-reference.json) and against the embedder it wraps, its metadata,
/// token usage and refusals; and the VectorData provider embedding with it on the embedded engine and the server, every
/// search against brute-force cosine over the generator's own vectors.
/// </summary>
[Collection(nameof(LocalGeneratorCollection))]
public sealed class EmbeddingGeneratorTests(LocalGenerator local)
{
    private static readonly (string Text, float[] Vector)[] Recorded = [.. JsonDocument.Parse(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "minilm-reference.json"))).RootElement.EnumerateArray()
        .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))];

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.CosineSimilarity(a, b);

    [Fact]
    public async Task Generate_MatchesRecordedVectors_AndTheWrappedEmbedder()
    {
        var generator = local.Generator;
        var embeddings = await generator.GenerateAsync([.. Recorded.Select(r => r.Text)]);
        Assert.Equal(Recorded.Length, embeddings.Count);
        var model = (MiniLmEmbedder)generator.GetService(typeof(ITextEmbedder))!;
        var direct = await model.EmbedAsync([.. Recorded.Select(r => r.Text)], CancellationToken.None);
        for (var i = 0; i < Recorded.Length; i++)
        {
            Assert.Equal(MiniLmEmbedder.Dim, embeddings[i].Vector.Length);
            Assert.True(Cosine(Recorded[i].Vector, embeddings[i].Vector.Span) >= 0.999, $"'{Recorded[i].Text}' moved from its recorded vector");
            Assert.Equal(direct[i], embeddings[i].Vector.ToArray());
            Assert.Equal(MiniLmEmbedder.ModelName, embeddings[i].ModelId);
        }

        Assert.Equal(Recorded.Sum(r => (long)model.Tokenize(r.Text).Length), embeddings.Usage!.InputTokenCount);
        var one = await generator.GenerateVectorAsync(Recorded[2].Text);
        Assert.True(Cosine(direct[2], one.Span) >= 0.99999);
        Assert.Empty(await generator.GenerateAsync([]));
    }

    [Fact]
    public async Task Metadata_Services_AndRefusals()
    {
        var generator = local.Generator;
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal((QuiverEmbeddingGenerator.ProviderName, MiniLmEmbedder.ModelName, 384), (metadata.ProviderName, metadata.DefaultModelId, metadata.DefaultModelDimensions));
        Assert.Same(generator, generator.GetService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Null(generator.GetService(typeof(EmbeddingGeneratorMetadata), "key"));
        Assert.Single(await generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 384 }));
        var wrong = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 128 }));
        Assert.Contains("384", wrong.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync(["x", null!]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task VectorStore_EmbedsWithTheLocalModel_AndSearchesByText(bool remote)
    {
        await using var target = await Target.OpenAsync(remote);
        using var store = new QuiverVectorStore(target.Client, new QuiverVectorStoreOptions { EmbeddingGenerator = local.Generator });
        var collection = store.GetCollection<long, Note>("notes");
        await collection.EnsureCollectionExistsAsync();
        string[] texts =
        [
            "The hotel has a heated pool and a sauna.", "Trains to the airport leave every ten minutes.", "Breakfast is served from seven.",
            "The kernel panicked after the driver update.", "Our cat sleeps on the warm laptop.", "Rooms facing the sea cost more.",
        ];
        await collection.UpsertAsync(texts.Select((t, i) => new Note { Id = i, Text = t, Embedding = t }));
        var vectors = await local.Generator.GenerateAsync(texts);
        foreach (var query in new[] { "swimming at the hotel", "operating system crash", "how to get to the airport" })
        {
            var q = await local.Generator.GenerateVectorAsync(query);
            var expected = Enumerable.Range(0, texts.Length).Select(i => (Id: (long)i, Score: Cosine(vectors[i].Vector.Span, q.Span)))
                .OrderByDescending(x => x.Score).Take(3).ToList();
            var hits = await collection.SearchAsync(query, 3).ToListAsync();
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Record.Id));
            Assert.Equal(expected[0].Score, hits[0].Score!.Value, 4);
            Assert.Equal(texts[hits[0].Record.Id], hits[0].Record.Text);
        }
    }
}

/// <summary>A note whose vector the store generates from the text given in <c>Embedding</c>.</summary>
public sealed class Note
{
    [VectorStoreKey]
    public long Id { get; set; }

    [VectorStoreData]
    public string Text { get; set; } = "";

    [VectorStoreVector(384, IndexKind = IndexKind.Flat)]
    public string Embedding { get; set; } = "";
}
