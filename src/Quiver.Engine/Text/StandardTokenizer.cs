using System.Globalization;
using System.Text;

namespace Quiver.TextAnalysis;

/// <summary>Splits text into the (start, end) UTF-16 ranges of its tokens. Implementations are stateless and
/// thread-safe.</summary>
internal interface ITokenizer
{
    /// <summary>Appends the ranges of the tokens of <paramref name="text"/> to <paramref name="ranges"/>, in order.</summary>
    void Tokenize(string text, List<(int Start, int End)> ranges);
}

/// <summary>Word segmentation after Unicode's word-boundary rules (UAX #29) for letters and digits: a word is a run of
/// letters and digits with their combining marks; an apostrophe or period between two letters (don't, e.g) and a
/// period, comma or semicolon between two digits (3.14, 1,000) stay inside a word; an underscore joins; every Han
/// ideograph and Hiragana character is a word of its own; Katakana runs are words. Punctuation, symbols and spaces
/// separate words and are never tokens.</summary>
internal sealed class StandardTokenizer : ITokenizer
{
    /// <summary>The one instance (the tokenizer has no settings).</summary>
    public static readonly StandardTokenizer Instance = new();

    private enum Kind : byte
    {
        Other,
        Letter,
        Digit,
        Katakana,
        Ideograph,
        Joiner,     // ExtendNumLet: the underscore and other connector punctuation
        MidLetter,  // between letters only
        MidNum,     // between digits only
        MidNumLet,  // between letters or between digits
        Extend,     // combining marks, format characters, ZWJ: part of whatever precedes them
    }

    /// <inheritdoc/>
    public void Tokenize(string text, List<(int Start, int End)> ranges)
    {
        var i = 0;
        while (i < text.Length)
        {
            var kind = Classify(text, i, out var length);
            if (kind == Kind.Ideograph)
            {
                var start = i;
                i = SkipExtend(text, i + length);
                ranges.Add((start, i));
                continue;
            }
            if (kind is not (Kind.Letter or Kind.Digit or Kind.Katakana or Kind.Joiner))
            {
                i += length;
                continue;
            }
            var first = i;
            var hasWordChar = kind != Kind.Joiner;
            var last = kind;
            i = SkipExtend(text, i + length);
            while (i < text.Length)
            {
                var next = Classify(text, i, out length);
                if (Joins(last, next))
                {
                    hasWordChar |= next != Kind.Joiner;
                    last = next;
                    i = SkipExtend(text, i + length);
                    continue;
                }
                if (next is Kind.MidLetter or Kind.MidNum or Kind.MidNumLet && last is Kind.Letter or Kind.Digit)
                {
                    var after = SkipExtend(text, i + length);
                    if (after < text.Length)
                    {
                        var beyond = Classify(text, after, out _);
                        var lettersBridged = last == Kind.Letter && beyond == Kind.Letter && next != Kind.MidNum;
                        var digitsBridged = last == Kind.Digit && beyond == Kind.Digit && next != Kind.MidLetter;
                        if (lettersBridged || digitsBridged)
                        {
                            i = after;
                            continue;
                        }
                    }
                }
                break;
            }
            if (hasWordChar)
                ranges.Add((first, i));
        }
    }

    private static bool Joins(Kind last, Kind next) => (last, next) switch
    {
        (Kind.Letter or Kind.Digit or Kind.Joiner, Kind.Letter or Kind.Digit or Kind.Joiner) => true,
        (Kind.Katakana or Kind.Joiner, Kind.Katakana or Kind.Joiner) => true,
        _ => false,
    };

    private static int SkipExtend(string text, int i)
    {
        while (i < text.Length && Classify(text, i, out var length) == Kind.Extend)
            i += length;
        return i;
    }

    private static Kind Classify(string text, int index, out int length)
    {
        if (Rune.DecodeFromUtf16(text.AsSpan(index), out var rune, out length) != System.Buffers.OperationStatus.Done)
        {
            length = 1; // a lone surrogate separates words
            return Kind.Other;
        }
        var c = rune.Value;
        switch (c)
        {
            case '\'' or '.' or '\u2018' or '\u2019' or '\u2024' or '\uFE52' or '\uFF07' or '\uFF0E':
                return Kind.MidNumLet;
            case '\u00B7' or '\u0387' or '\u05F4' or '\u2027' or '\uFE13' or '\uFE55':
                return Kind.MidLetter;
            case ',' or ';' or '\u037E' or '\u0589' or '\u060C' or '\u060D' or '\u066C' or '\u07F8' or '\u2044' or '\uFE10'
                or '\uFE14' or '\uFE50' or '\uFE54' or '\uFF0C' or '\uFF1B':
                return Kind.MidNum;
            case '\u200D':
                return Kind.Extend;
        }
        if (c is >= 0x3040 and <= 0x309F || IsHan(c))
            return Kind.Ideograph;
        if (c is >= 0x30A0 and <= 0x30FF or >= 0x31F0 and <= 0x31FF or >= 0xFF66 and <= 0xFF9F)
            return Kind.Katakana;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber => Kind.Digit,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.Format => Kind.Extend,
            UnicodeCategory.ConnectorPunctuation => Kind.Joiner,
            _ => Kind.Other,
        };
    }

    private static bool IsHan(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x3FFFF
            or 0x3005 or 0x3007 or >= 0x3021 and <= 0x3029;
}

/// <summary>Splits text at white space only: every maximal run of non-space characters is a token, punctuation
/// included.</summary>
internal sealed class WhitespaceTokenizer : ITokenizer
{
    /// <summary>The one instance (the tokenizer has no settings).</summary>
    public static readonly WhitespaceTokenizer Instance = new();

    /// <inheritdoc/>
    public void Tokenize(string text, List<(int Start, int End)> ranges)
    {
        var start = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                if (start >= 0)
                    ranges.Add((start, i));
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        if (start >= 0)
            ranges.Add((start, text.Length));
    }
}
