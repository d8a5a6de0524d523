using Quiver.Toolbox.Prep;

namespace Quiver.Cli.Tests.Ops.Prep;

public sealed class TextChunkingTests
{
    private static string[] Sentences(string text) => [.. TextSegmenter.Sentences(text).Select(s => s.Of(text))];

    [Theory]
    [InlineData("Dr. Smith arrived. He sat down.", new[] { "Dr. Smith arrived.", "He sat down." })]
    [InlineData("Pi is 3.14 today. Yes.", new[] { "Pi is 3.14 today.", "Yes." })]
    [InlineData("Use tools, e.g. Hammers and saws. Fine.", new[] { "Use tools, e.g. Hammers and saws.", "Fine." })]
    [InlineData("That is, i.e. The one. Fine.", new[] { "That is, i.e. The one.", "Fine." })]
    [InlineData("Wait... What happened? Nothing.", new[] { "Wait... What happened?", "Nothing." })]
    [InlineData("Wait\u2026 What now! Ok.", new[] { "Wait\u2026 What now!", "Ok." })]
    [InlineData("J. R. R. Tolkien wrote it. Done.", new[] { "J. R. R. Tolkien wrote it.", "Done." })]
    [InlineData("He said \"Stop.\" Then he left.", new[] { "He said \"Stop.\"", "Then he left." })]
    [InlineData("Really?! Yes.", new[] { "Really?!", "Yes." })]
    [InlineData("It ended. and went on.", new[] { "It ended. and went on." })]
    [InlineData("Title\n\nBody text here", new[] { "Title", "Body text here" })]
    [InlineData("文一。文二！", new[] { "文一。", "文二！" })]
    [InlineData("  No terminator  ", new[] { "No terminator" })]
    public void Sentences_EdgeCases(string text, string[] expected)
    {
        Assert.Equal(expected, Sentences(text));
    }

    [Fact]
    public void Tokens_WordsAndPunctuationByCategory()
    {
        const string text = "Don't stop—now! 3.5 café_x 👍";
        var tokens = TextSegmenter.Tokens(text).Select(t => t.Of(text)).ToArray();
        Assert.Equal(["Don", "'", "t", "stop", "—", "now", "!", "3", ".", "5", "café_x", "👍"], tokens);
    }

    [Fact]
    public void ChunkTokens_WithOverlap_AreExactSubstrings()
    {
        // Tokens: The cat sat . It ran ! (7). Size 3, overlap 1: windows start at 0, 2, 4; the third reaches the end.
        const string text = "The  cat sat. It ran!";
        var chunks = TextChunker.Chunk(text, ChunkMode.Tokens, size: 3, overlap: 1, out _);
        Assert.Equal(["The  cat sat", "sat. It", "It ran!"], chunks.Select(c => c.Of(text)).ToArray());
        foreach (var c in chunks)
        {
            Assert.Equal(text.Substring(c.Start, c.Length), c.Of(text));
        }
    }

    [Fact]
    public void ChunkTokens_NoOverlap_CountsHandChecked()
    {
        // 10 tokens, size 4: 4 + 4 + 2.
        const string text = "a b c d e f g h i j";
        var chunks = TextChunker.Chunk(text, ChunkMode.Tokens, size: 4, overlap: 0, out _);
        Assert.Equal(["a b c d", "e f g h", "i j"], chunks.Select(c => c.Of(text)).ToArray());

        // Size 4, overlap 2: starts 0, 2, 4, 6 (6..9 reaches the end).
        chunks = TextChunker.Chunk(text, ChunkMode.Tokens, size: 4, overlap: 2, out _);
        Assert.Equal(["a b c d", "c d e f", "e f g h", "g h i j"], chunks.Select(c => c.Of(text)).ToArray());
    }

    [Fact]
    public void ChunkTokens_OverlapNotBelowSize_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TextChunker.Chunk("a b", ChunkMode.Tokens, 2, 2, out _));
    }

    [Fact]
    public void ChunkSentences_PacksWholeSentencesWithOverlap()
    {
        // Sentences of 4 characters at 0, 5, 10, 15; size 9 holds two, overlap 1 carries the last one over.
        const string text = "A b. C d. E f. G h.";
        var chunks = TextChunker.Chunk(text, ChunkMode.Sentences, size: 9, overlap: 1, out var cut);
        Assert.Equal(["A b. C d.", "C d. E f.", "E f. G h."], chunks.Select(c => c.Of(text)).ToArray());
        Assert.Equal(0, cut);

        chunks = TextChunker.Chunk(text, ChunkMode.Sentences, size: 9, overlap: 0, out _);
        Assert.Equal(["A b. C d.", "E f. G h."], chunks.Select(c => c.Of(text)).ToArray());
    }

    [Fact]
    public void ChunkSentences_LongSentence_CutBetweenTokens()
    {
        const string text = "Short. This sentence is far longer than ten.";
        var chunks = TextChunker.Chunk(text, ChunkMode.Sentences, size: 10, overlap: 0, out var cut);
        Assert.Equal(1, cut);
        Assert.All(chunks, c => Assert.True(c.Length <= 10, c.Of(text)));
        Assert.Equal(["Short.", "This", "sentence", "is far", "longer", "than ten."], chunks.Select(c => c.Of(text)).ToArray());
    }
}
