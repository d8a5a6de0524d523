using System.Globalization;
using System.Text;

namespace Quiver.Toolbox.Prep;

/// <summary>A piece of a text: <see cref="Start"/> and <see cref="End"/> (exclusive) are UTF-16 offsets.</summary>
/// <param name="Start">First character.</param>
/// <param name="End">One past the last character.</param>
internal readonly record struct TextSpan(int Start, int End)
{
    /// <summary>Characters in the span.</summary>
    public int Length => End - Start;

    /// <summary>The span's text in <paramref name="text"/>.</summary>
    public string Of(string text) => text[Start..End];
}

/// <summary>Splits text into tokens and sentences, as spans of the text itself (so a chunk is always an exact
/// substring). Stateless and thread-safe.</summary>
internal static class TextSegmenter
{
    /// <summary>Words that end with a period without ending the sentence (compared lower-case, without the final
    /// period): titles, Latin abbreviations, reference words and months. Words that often end a sentence
    /// ("etc.", "Inc.") are left out on purpose.</summary>
    private static readonly HashSet<string> Abbreviations = new(StringComparer.Ordinal)
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt", "capt", "cmdr", "rev",
        "hon", "gov", "sen", "rep", "pres", "e.g", "i.e", "cf", "vs", "viz", "al", "approx", "ca", "fig", "figs", "no",
        "nos", "vol", "vols", "pp", "ch", "sec", "eq", "dept", "univ", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
        "sep", "sept", "oct", "nov", "dec", "a.m", "p.m", "u.s", "u.k", "ph.d", "b.a", "m.a", "b.sc", "m.sc",
    };

    /// <summary>Tokens: a word is a run of letters, combining marks and digits (Unicode categories L, M, N, plus the
    /// connector punctuation '_'); every other non-space character (punctuation, symbols, an emoji) is a token of
    /// its own; whitespace separates tokens and belongs to none.</summary>
    public static List<TextSpan> Tokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<TextSpan>();
        var i = 0;
        while (i < text.Length)
        {
            var width = RuneWidth(text, i, out var rune);
            if (Rune.IsWhiteSpace(rune))
            {
                i += width;
                continue;
            }

            var start = i;
            i += width;
            if (IsWordRune(rune))
            {
                while (i < text.Length)
                {
                    var w = RuneWidth(text, i, out var next);
                    if (!IsWordRune(next))
                    {
                        break;
                    }

                    i += w;
                }
            }

            tokens.Add(new TextSpan(start, i));
        }

        return tokens;
    }

    /// <summary>Sentences, each trimmed of surrounding whitespace. A sentence ends at '.', '!', '?' (and any closing
    /// quotes or brackets after them) followed by whitespace and then something that is not a lower-case letter; at
    /// '。', '！', '？' directly; and at every paragraph break (two line breaks). A period does not end a sentence when
    /// it belongs to a decimal (3.14: no space follows), an ellipsis ("..." or '…'), a known abbreviation
    /// (Dr., e.g.) or an initial (J. R. R. Tolkien: a single letter before the period).</summary>
    public static List<TextSpan> Sentences(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<TextSpan>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            int end;
            if (c is '。' or '！' or '？')
            {
                end = SkipClosers(text, i + 1);
            }
            else if (c == '\n' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                end = i;
            }
            else if (c is '.' or '!' or '?' && EndsSentence(text, i, out end))
            {
                // end set by EndsSentence.
            }
            else
            {
                continue;
            }

            Add(sentences, text, start, end);
            start = end;
            i = Math.Max(i, end - 1);
        }

        Add(sentences, text, start, text.Length);
        return sentences;
    }

    private static bool EndsSentence(string text, int at, out int end)
    {
        end = at + 1;

        // Runs of terminators ("?!", "...") end where the run does; an ellipsis never ends a sentence.
        var runEnd = at;
        while (runEnd + 1 < text.Length && text[runEnd + 1] is '.' or '!' or '?')
        {
            runEnd++;
        }

        if (text[at] == '.' && (runEnd > at || (at > 0 && text[at - 1] == '.')))
        {
            if (text.AsSpan(at, runEnd - at + 1).IndexOfAny('!', '?') < 0)
            {
                return false;
            }
        }

        end = SkipClosers(text, runEnd + 1);
        if (end >= text.Length)
        {
            return true;
        }

        if (!char.IsWhiteSpace(text[end]))
        {
            return false;
        }

        var next = end;
        while (next < text.Length && char.IsWhiteSpace(text[next]))
        {
            next++;
        }

        if (next < text.Length && char.IsLower(text[next]))
        {
            return false;
        }

        if (text[at] == '.' && runEnd == at)
        {
            var wordStart = at;
            while (wordStart > 0 && (char.IsLetter(text[wordStart - 1]) || text[wordStart - 1] == '.'))
            {
                wordStart--;
            }

            var word = text[wordStart..at];
            if (word.Length == 1 && char.IsUpper(word[0]))
            {
                return false;
            }

            if (Abbreviations.Contains(word.ToLowerInvariant()))
            {
                return false;
            }
        }

        return true;
    }

    private static int SkipClosers(string text, int i)
    {
        while (i < text.Length && (text[i] is '"' or '\'' or ')' or ']' or '}' or '»'
               || CharUnicodeInfo.GetUnicodeCategory(text[i]) is UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.ClosePunctuation))
        {
            i++;
        }

        return i;
    }

    private static void Add(List<TextSpan> sentences, string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        if (end > start)
        {
            sentences.Add(new TextSpan(start, end));
        }
    }

    private static int RuneWidth(string text, int i, out Rune rune)
    {
        if (Rune.TryGetRuneAt(text, i, out rune))
        {
            return rune.Utf16SequenceLength;
        }

        rune = Rune.ReplacementChar;
        return 1;
    }

    private static bool IsWordRune(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark
            or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber or UnicodeCategory.ConnectorPunctuation => true,
        _ => false,
    };
}
