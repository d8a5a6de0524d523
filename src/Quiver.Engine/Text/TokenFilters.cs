using System.Globalization;
using System.Text;

namespace Quiver.TextAnalysis;

/// <summary>One step of an analyzer's filter chain: maps a token's text to its new text, or to null to drop the token.
/// Dropping leaves a gap in positions, as Milvus's analyzers do, so phrases do not match across a removed word.
/// Implementations are immutable and thread-safe.</summary>
internal abstract class TokenFilter
{
    /// <summary>The token's new text, or null when the token is removed.</summary>
    public abstract string? Apply(string text);
}

/// <summary>lowercase: Unicode lower-casing (culture-invariant).</summary>
internal sealed class LowercaseFilter : TokenFilter
{
    public static readonly LowercaseFilter Instance = new();

    /// <inheritdoc/>
    public override string Apply(string text) => text.ToLowerInvariant();
}

/// <summary>stop: removes tokens equal to one of the configured words (exact, case-sensitive: put lowercase first).</summary>
internal sealed class StopFilter(IReadOnlySet<string> words) : TokenFilter
{
    /// <summary>The words removed.</summary>
    public IReadOnlySet<string> Words { get; } = words;

    /// <inheritdoc/>
    public override string? Apply(string text) => Words.Contains(text) ? null : text;
}

/// <summary>stemmer with language english: the Porter2 stem of the token.</summary>
internal sealed class EnglishStemFilter : TokenFilter
{
    public static readonly EnglishStemFilter Instance = new();

    /// <inheritdoc/>
    public override string Apply(string text) => EnglishStemmer.Stem(text);
}

/// <summary>length: removes tokens longer than <paramref name="max"/> Unicode characters (scalar values).</summary>
internal sealed class LengthFilter(int max) : TokenFilter
{
    /// <summary>The longest token kept, in Unicode characters.</summary>
    public int Max { get; } = max;

    /// <inheritdoc/>
    public override string? Apply(string text)
    {
        if (text.Length <= Max)
            return text;
        var count = 0;
        foreach (var unused in text.EnumerateRunes())
        {
            if (++count > Max)
                return null;
        }
        return text;
    }
}

/// <summary>alphanumonly: keeps only tokens made entirely of ASCII letters and digits.</summary>
internal sealed class AlphanumOnlyFilter : TokenFilter
{
    public static readonly AlphanumOnlyFilter Instance = new();

    /// <inheritdoc/>
    public override string? Apply(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c))
                return null;
        }
        return text;
    }
}

/// <summary>removepunct: removes tokens made only of punctuation (useful after the whitespace tokenizer).</summary>
internal sealed class RemovePunctFilter : TokenFilter
{
    public static readonly RemovePunctFilter Instance = new();

    /// <inheritdoc/>
    public override string? Apply(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (!Rune.IsPunctuation(rune) && !Rune.IsSymbol(rune))
                return text;
        }
        return null;
    }
}

/// <summary>asciifolding: folds Latin letters with diacritics to their ASCII base (café to cafe, straße to strasse);
/// characters without an ASCII form stay as they are.</summary>
internal sealed class AsciiFoldingFilter : TokenFilter
{
    public static readonly AsciiFoldingFilter Instance = new();

    // Letters that decomposition does not reduce to ASCII.
    private static readonly Dictionary<char, string> Special = new()
    {
        ['ß'] = "ss", ['æ'] = "ae", ['Æ'] = "AE", ['œ'] = "oe", ['Œ'] = "OE", ['ø'] = "o", ['Ø'] = "O", ['đ'] = "d",
        ['Đ'] = "D", ['ł'] = "l", ['Ł'] = "L", ['þ'] = "th", ['Þ'] = "TH", ['ð'] = "d", ['Ð'] = "D", ['ı'] = "i",
    };

    // Latin letters whose canonical decomposition is an ASCII letter plus combining marks (U+00C0..U+024F), as pairs
    // of equal-length strings: Decomposable[i] folds to Folded[i]. Written out because string.Normalize does not
    // decompose under the invariant globalization mode the build uses.
    private const string Decomposable =
        "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵ"
        + "ĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻ"
        + "ȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳ";

    private const string Folded =
        "AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJj"
        + "KkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaGgKkOoOojGgNnAa"
        + "AaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYy";

    /// <inheritdoc/>
    public override string Apply(string text)
    {
        if (Ascii.IsValid(text))
            return text;
        var folded = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
                continue; // a combining accent written apart from its letter
            var index = Decomposable.IndexOf(c, StringComparison.Ordinal);
            if (index >= 0)
                folded.Append(Folded[index]);
            else if (Special.TryGetValue(c, out var replacement))
                folded.Append(replacement);
            else
                folded.Append(c);
        }
        return folded.ToString();
    }
}
