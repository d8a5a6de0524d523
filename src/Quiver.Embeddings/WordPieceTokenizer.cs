using System.Globalization;
using System.Text;
using Quiver.Toolbox.Prep;

namespace Quiver.Embeddings;

/// <summary>BERT's uncased tokenization, as the original BERT code and Hugging Face's <c>BertNormalizer</c> +
/// <c>BertPreTokenizer</c> + <c>WordPiece</c> do it for all-MiniLM-L6-v2: control characters removed, whitespace
/// unified, CJK ideographs split apart, lower case, accents stripped (NFD, non-spacing marks dropped), split on
/// whitespace and on every punctuation character, then each word cut greedily into the longest vocabulary pieces.
/// <para>"Punctuation" is BERT's definition, not Unicode's alone: every ASCII character that is not a letter, digit or
/// space counts (so <c>$ + &lt; = &gt; ^ ` | ~</c>, which Unicode files as symbols, each become a token of their own).
/// Microsoft.ML.Tokenizers' BertTokenizer (3.0.0), used before, dropped those symbols silently, so code and markup
/// embedded differently from sentence-transformers and transformers.js.</para>
/// Thread-safe after construction.</summary>
internal sealed class WordPieceTokenizer
{
    /// <summary>Words longer than this many characters become one [UNK], as BERT's <c>max_input_chars_per_word</c>.</summary>
    public const int MaxCharsPerWord = 100;

    private const string ContinuationPrefix = "##";

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Reads a vocabulary in BERT's <c>vocab.txt</c> layout: one piece per line, the line number is its id.</summary>
    public WordPieceTokenizer(Stream vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        using var reader = new StreamReader(vocabulary, Encoding.UTF8);
        var id = 0;
        while (reader.ReadLine() is { } line)
        {
            // A duplicated line keeps its first id, as the reference loaders do.
            _vocab.TryAdd(line, id++);
        }

        _lookup = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        Unknown = Id("[UNK]");
        Classification = Id("[CLS]");
        Separator = Id("[SEP]");
    }

    /// <summary>Id of [UNK], the piece of a word the vocabulary cannot spell.</summary>
    public int Unknown { get; }

    /// <summary>Id of [CLS], put before the text.</summary>
    public int Classification { get; }

    /// <summary>Id of [SEP], put after the text.</summary>
    public int Separator { get; }

    /// <summary>Appends the word-piece ids of <paramref name="text"/> (no [CLS]/[SEP]) to <paramref name="ids"/>, stopping once
    /// it holds <paramref name="limit"/> ids.</summary>
    public void Encode(string text, List<int> ids, int limit)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ids);
        var word = new StringBuilder();
        foreach (var rune in Normalize(text).EnumerateRunes())
        {
            if (ids.Count >= limit)
            {
                return;
            }

            if (Rune.IsWhiteSpace(rune))
            {
                Flush(word, ids, limit);
            }
            else if (IsPunctuation(rune))
            {
                Flush(word, ids, limit);
                Append(word, rune);
                Flush(word, ids, limit);
            }
            else
            {
                Append(word, rune);
            }
        }

        Flush(word, ids, limit);
    }

    /// <summary>BERT's normalization: controls out, whitespace to spaces, CJK ideographs spaced apart, lower case, accents
    /// stripped. Lower-casing and accent stripping run on the whole text: both act per character, and the punctuation split
    /// after them sees the same characters as BERT's per-word order would.</summary>
    internal static string Normalize(string text)
    {
        var cleaned = new StringBuilder(text.Length + 16);
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            if (value == 0 || value == 0xFFFD || IsControl(rune))
            {
                continue;
            }

            if (IsWhitespace(rune))
            {
                cleaned.Append(' ');
            }
            else if (IsCjk(value))
            {
                Append(cleaned.Append(' '), rune).Append(' ');
            }
            else
            {
                Append(cleaned, rune);
            }
        }

        var decomposed = UnicodeNormalizer.Normalize(Lower(cleaned.ToString()), TextNormalization.Nfd);
        var stripped = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            {
                Append(stripped, rune);
            }
        }

        return stripped.ToString();
    }

    /// <summary>Lower case as Python's <c>str.lower</c> and JavaScript's <c>toLowerCase</c> do it: the simple mapping of
    /// each character (all that <see cref="Rune.ToLowerInvariant"/> has) plus Unicode's two language-independent special
    /// cases, U+0130 (capital I with dot, to <c>i</c> + U+0307, the dot then stripped as an accent) and a capital sigma
    /// that ends a word (to final sigma U+03C2: "ΟΔΟΣ" is "οδος" with a final ς, a different word piece).</summary>
    internal static string Lower(string text)
    {
        if (Ascii.IsValid(text))
        {
            return text.ToLowerInvariant();
        }

        var runes = new List<Rune>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            runes.Add(rune);
        }

        var lowered = new StringBuilder(text.Length + 4);
        for (var i = 0; i < runes.Count; i++)
        {
            var rune = runes[i];
            if (rune.Value == 0x130)
            {
                lowered.Append('i').Append('\u0307');
            }
            else if (rune.Value == 0x3A3 && i > 0 && Rune.IsLetter(runes[i - 1]) && (i + 1 == runes.Count || !Rune.IsLetter(runes[i + 1])))
            {
                lowered.Append('\u03C2');
            }
            else
            {
                Append(lowered, Rune.ToLowerInvariant(rune));
            }
        }

        return lowered.ToString();
    }

    /// <summary>BERT's punctuation: any ASCII character that is neither letter, digit nor space, and every Unicode
    /// punctuation category.</summary>
    internal static bool IsPunctuation(Rune rune)
    {
        var value = rune.Value;
        if (value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
        {
            return true;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static StringBuilder Append(StringBuilder builder, Rune rune)
    {
        Span<char> units = stackalloc char[2];
        return builder.Append(units[..rune.EncodeToUtf16(units)]);
    }

    private static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(rune) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune rune)
    {
        if (rune.Value is '\t' or '\n' or '\r')
        {
            return false;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;
    }

    // The CJK Unified Ideographs blocks BERT spaces apart (not Hangul or kana, which are written with spaces).
    private static bool IsCjk(int value) =>
        value is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    private void Flush(StringBuilder word, List<int> ids, int limit)
    {
        if (word.Length == 0)
        {
            return;
        }

        var text = word.ToString();
        word.Clear();
        AppendPieces(text, ids, limit);
    }

    /// <summary>Greedy longest-match-first: the longest prefix in the vocabulary, then the longest "##"-continuation of the
    /// rest, and so on; a word any part of which cannot be matched (or longer than <see cref="MaxCharsPerWord"/>
    /// characters) is one [UNK].</summary>
    private void AppendPieces(string word, List<int> ids, int limit)
    {
        if (RuneCount(word) > MaxCharsPerWord)
        {
            ids.Add(Unknown);
            return;
        }

        var start = ids.Count;
        Span<char> buffer = stackalloc char[ContinuationPrefix.Length + (MaxCharsPerWord * 2)];
        ContinuationPrefix.AsSpan().CopyTo(buffer);
        var position = 0;
        while (position < word.Length)
        {
            var end = word.Length;
            var found = -1;
            while (end > position)
            {
                var piece = word.AsSpan(position, end - position);
                scoped ReadOnlySpan<char> key = piece;
                if (position > 0)
                {
                    piece.CopyTo(buffer[ContinuationPrefix.Length..]);
                    key = buffer[..(ContinuationPrefix.Length + piece.Length)];
                }

                if (_lookup.TryGetValue(key, out var id))
                {
                    found = id;
                    break;
                }

                // Never split a surrogate pair.
                end -= end - 1 > position && char.IsLowSurrogate(word[end - 1]) ? 2 : 1;
            }

            if (found < 0)
            {
                ids.RemoveRange(start, ids.Count - start);
                ids.Add(Unknown);
                return;
            }

            ids.Add(found);
            position = end;
        }

        if (ids.Count > limit)
        {
            ids.RemoveRange(limit, ids.Count - limit);
        }
    }

    private static int RuneCount(string word)
    {
        var count = 0;
        foreach (var unused in word.EnumerateRunes())
        {
            count++;
        }

        return count;
    }

    private int Id(string token) =>
        _vocab.TryGetValue(token, out var id)
            ? id
            : throw new EmbeddingException(EmbeddingFailure.Configuration, $"the vocabulary has no {token} token");
}
