namespace Quiver.Toolbox.Prep;

/// <summary>How <c>prep text</c> cuts a document into chunks.</summary>
public enum ChunkMode
{
    /// <summary>One chunk: the whole cleaned text.</summary>
    None,

    /// <summary>Whole sentences packed up to a size in characters, with whole sentences of overlap.</summary>
    Sentences,

    /// <summary>A fixed number of tokens, with tokens of overlap.</summary>
    Tokens,
}

/// <summary>Cuts a cleaned text into chunks, each an exact substring of it (from its first sentence or token to its
/// last, with the text between them as it is). Stateless and thread-safe.</summary>
internal static class TextChunker
{
    /// <summary>Chunks of <paramref name="text"/>. <paramref name="size"/> is characters for
    /// <see cref="ChunkMode.Sentences"/> and tokens for <see cref="ChunkMode.Tokens"/>; <paramref name="overlap"/> is
    /// sentences or tokens repeated from the end of one chunk at the start of the next (less than
    /// <paramref name="size"/> for tokens). A sentence longer than <paramref name="size"/> characters is cut between
    /// tokens into pieces that fit (a single token longer than that stays whole); <paramref name="longSentences"/>
    /// counts them.</summary>
    public static List<TextSpan> Chunk(string text, ChunkMode mode, int size, int overlap, out int longSentences)
    {
        ArgumentNullException.ThrowIfNull(text);
        longSentences = 0;
        switch (mode)
        {
            case ChunkMode.None:
                return text.Length == 0 ? [] : [new TextSpan(0, text.Length)];
            case ChunkMode.Tokens:
                return ByTokens(TextSegmenter.Tokens(text), size, overlap);
            default:
                return BySentences(text, size, overlap, out longSentences);
        }
    }

    /// <summary>Windows of <paramref name="size"/> tokens starting every <c>size - overlap</c> tokens; the last window
    /// ends at the last token (it may be shorter).</summary>
    public static List<TextSpan> ByTokens(IReadOnlyList<TextSpan> tokens, int size, int overlap)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(overlap, size);
        var chunks = new List<TextSpan>();
        for (var first = 0; first < tokens.Count; first += size - overlap)
        {
            var last = Math.Min(first + size, tokens.Count) - 1;
            chunks.Add(new TextSpan(tokens[first].Start, tokens[last].End));
            if (last == tokens.Count - 1)
            {
                break;
            }
        }

        return chunks;
    }

    private static List<TextSpan> BySentences(string text, int size, int overlap, out int longSentences)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        longSentences = 0;
        var units = new List<TextSpan>();
        foreach (var sentence in TextSegmenter.Sentences(text))
        {
            if (sentence.Length <= size)
            {
                units.Add(sentence);
                continue;
            }

            longSentences++;
            var tokens = TextSegmenter.Tokens(sentence.Of(text));
            var start = -1;
            var end = -1;
            foreach (var t in tokens)
            {
                var token = new TextSpan(sentence.Start + t.Start, sentence.Start + t.End);
                if (start >= 0 && token.End - start > size)
                {
                    units.Add(new TextSpan(start, end));
                    start = -1;
                }

                if (start < 0)
                {
                    start = token.Start;
                }

                end = token.End;
            }

            if (start >= 0)
            {
                units.Add(new TextSpan(start, end));
            }
        }

        var chunks = new List<TextSpan>();
        var first = 0;
        while (first < units.Count)
        {
            // Take as many whole units as fit (always at least one).
            var last = first;
            while (last + 1 < units.Count && units[last + 1].End - units[first].Start <= size)
            {
                last++;
            }

            chunks.Add(new TextSpan(units[first].Start, units[last].End));
            if (last == units.Count - 1)
            {
                break;
            }

            // The next chunk repeats up to `overlap` units, fewer when they would leave no room for a new one, and
            // never the whole chunk (the window must move on).
            var carried = Math.Min(overlap, last - first);
            while (carried > 0 && units[last + 1].End - units[last + 1 - carried].Start > size)
            {
                carried--;
            }

            first = last + 1 - carried;
        }

        return chunks;
    }
}
