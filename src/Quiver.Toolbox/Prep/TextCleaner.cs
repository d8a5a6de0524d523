using System.Globalization;
using System.Net;
using System.Text;

namespace Quiver.Toolbox.Prep;

/// <summary>What cleaning changed in one text (flags, so a report can count documents per kind).</summary>
[Flags]
internal enum TextChanges
{
    /// <summary>Nothing changed.</summary>
    None = 0,

    /// <summary>HTML tags or entities were found and removed or decoded.</summary>
    HtmlStripped = 1,

    /// <summary>Control characters (other than tab and line breaks) were removed.</summary>
    ControlCharsRemoved = 2,

    /// <summary>Zero-width characters or byte order marks were removed.</summary>
    ZeroWidthRemoved = 4,

    /// <summary>Unicode normalization changed the text.</summary>
    Normalized = 8,

    /// <summary>Whitespace runs were collapsed or the ends trimmed.</summary>
    WhitespaceCollapsed = 16,
}

/// <summary>How <see cref="TextCleaner"/> cleans.</summary>
/// <param name="StripHtml">Remove HTML (tags, scripts and styles with their content, entities decoded, block tags as
/// paragraph breaks).</param>
/// <param name="Normalization">Unicode normalization form (default NFC).</param>
public sealed record TextCleanOptions(bool StripHtml = false, TextNormalization Normalization = TextNormalization.Nfc);

/// <summary>Cleans text for embedding, in this order: HTML (optional), control and zero-width characters, Unicode
/// normalization, whitespace. Zero-width characters go before normalization because one between a letter and its
/// accent would keep them from composing. Whitespace: a run holding two or more line breaks becomes one paragraph
/// break (<c>"\n\n"</c>), any other run (spaces, tabs, a single line break, no-break and other Unicode spaces) one space;
/// each paragraph is trimmed. Stateless and thread-safe.</summary>
internal static class TextCleaner
{
    /// <summary>Elements dropped with everything inside them.</summary>
    private static readonly string[] DroppedElements = ["script", "style", "noscript", "template", "head"];

    /// <summary>Elements that end a paragraph: their tags become a paragraph break.</summary>
    private static readonly HashSet<string> BlockElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "td", "th",
        "thead", "tbody", "tfoot", "caption", "blockquote", "pre", "section", "article", "header", "footer", "nav",
        "aside", "main", "figure", "figcaption", "hr", "title", "address", "details", "summary", "form", "fieldset",
        "body", "html",
    };

    /// <summary>Cleans <paramref name="text"/>; <paramref name="changes"/> says which steps changed it.</summary>
    public static string Clean(string text, TextCleanOptions options, out TextChanges changes)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(options);
        changes = TextChanges.None;
        if (options.StripHtml)
        {
            var stripped = StripHtml(text);
            if (!string.Equals(stripped, text, StringComparison.Ordinal))
            {
                changes |= TextChanges.HtmlStripped;
                text = stripped;
            }
        }

        text = RemoveInvisible(text, ref changes);
        var normalized = UnicodeNormalizer.Normalize(text, options.Normalization);
        if (!ReferenceEquals(normalized, text))
        {
            changes |= TextChanges.Normalized;
            text = normalized;
        }

        var collapsed = CollapseWhitespace(text);
        if (!string.Equals(collapsed, text, StringComparison.Ordinal))
        {
            changes |= TextChanges.WhitespaceCollapsed;
            text = collapsed;
        }

        return text;
    }

    /// <summary>True for the zero-width characters removed: zero-width space U+200B, word joiner U+2060, byte order mark
    /// / zero-width no-break space U+FEFF, Mongolian vowel separator U+180E. Zero-width (non-)joiners U+200C/U+200D are
    /// kept: they change spelling in Persian and Indic scripts and join emoji sequences.</summary>
    public static bool IsZeroWidth(char c) => c is '\u200B' or '\u2060' or '\uFEFF' or '\u180E';

    /// <summary>True for the control characters removed: Unicode category Cc except tab, line feed and carriage return
    /// (the last is a line break to the whitespace step).</summary>
    public static bool IsRemovedControl(char c) => char.IsControl(c) && c is not ('\t' or '\n' or '\r');

    /// <summary>Removes HTML markup: comments, <c>script</c>/<c>style</c>/<c>noscript</c>/<c>template</c>/<c>head</c>
    /// elements with their content, every other tag (a block tag or <c>&lt;br&gt;</c> leaves a break, an inline tag
    /// nothing), and decodes entities (named, decimal, hexadecimal) once tags are gone, so <c>&amp;lt;b&amp;gt;</c>
    /// stays the text <c>&lt;b&gt;</c>. A <c>&lt;</c> that does not open a tag (<c>a &lt; b</c>) is kept.</summary>
    public static string StripHtml(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        if (html.IndexOf('<', StringComparison.Ordinal) < 0 && html.IndexOf('&', StringComparison.Ordinal) < 0)
        {
            return html;
        }

        var text = new StringBuilder(html.Length);
        var i = 0;
        while (i < html.Length)
        {
            var c = html[i];
            if (c != '<')
            {
                var next = html.IndexOf('<', i);
                text.Append(html, i, (next < 0 ? html.Length : next) - i);
                i = next < 0 ? html.Length : next;
                continue;
            }

            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                var end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }

            if (!TryReadTag(html, i, out var name, out var closing, out var tagEnd))
            {
                text.Append(c);
                i++;
                continue;
            }

            if (!closing && Array.Exists(DroppedElements, d => string.Equals(d, name, StringComparison.OrdinalIgnoreCase)))
            {
                var close = html.IndexOf("</" + name, tagEnd, StringComparison.OrdinalIgnoreCase);
                if (close < 0)
                {
                    i = html.Length;
                    continue;
                }

                // Nothing of a script or style shows, not even a break (as in a browser).
                i = TryReadTag(html, close, out _, out _, out tagEnd) ? tagEnd : html.Length;
                continue;
            }

            if (string.Equals(name, "br", StringComparison.OrdinalIgnoreCase))
            {
                text.Append('\n');
            }
            else if (BlockElements.Contains(name))
            {
                text.Append('\n', 2);
            }

            i = tagEnd;
        }

        return WebUtility.HtmlDecode(text.ToString());
    }

    /// <summary>Reads a tag at <paramref name="start"/> (<c>&lt;name ...&gt;</c>, <c>&lt;/name&gt;</c>,
    /// <c>&lt;!DOCTYPE ...&gt;</c>, <c>&lt;?xml ...?&gt;</c>), honouring quoted attribute values that hold
    /// <c>&gt;</c>. False when the <c>&lt;</c> does not start a tag or the tag never closes.</summary>
    private static bool TryReadTag(string html, int start, out string name, out bool closing, out int end)
    {
        name = string.Empty;
        closing = false;
        end = start;
        var i = start + 1;
        if (i < html.Length && html[i] == '/')
        {
            closing = true;
            i++;
        }

        if (i >= html.Length || !(char.IsAsciiLetter(html[i]) || (!closing && html[i] is '!' or '?')))
        {
            return false;
        }

        var nameStart = i;
        while (i < html.Length && (char.IsAsciiLetterOrDigit(html[i]) || html[i] is '!' or '?' or '-' or ':'))
        {
            i++;
        }

        name = html[nameStart..i];
        char quote = '\0';
        for (; i < html.Length; i++)
        {
            var c = html[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                end = i + 1;
                return true;
            }
        }

        // No closing '>': a lone '<' in text ("x<y"), kept as text rather than dropping the rest.
        return false;
    }

    private static string RemoveInvisible(string text, ref TextChanges changes)
    {
        StringBuilder? kept = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var control = IsRemovedControl(c);
            var zeroWidth = IsZeroWidth(c);
            if (control || zeroWidth)
            {
                kept ??= new StringBuilder(text.Length).Append(text, 0, i);
                changes |= control ? TextChanges.ControlCharsRemoved : TextChanges.ZeroWidthRemoved;
            }
            else
            {
                kept?.Append(c);
            }
        }

        return kept?.ToString() ?? text;
    }

    /// <summary>Collapses whitespace as the class summary says.</summary>
    public static string CollapseWhitespace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsWhiteSpace(text[i]))
            {
                result.Append(text[i++]);
                continue;
            }

            var breaks = 0;
            for (; i < text.Length && char.IsWhiteSpace(text[i]); i++)
            {
                if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n'))
                    || CharUnicodeInfo.GetUnicodeCategory(text[i]) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                {
                    breaks++;
                }
            }

            if (result.Length > 0 && i < text.Length)
            {
                result.Append(breaks >= 2 ? "\n\n" : " ");
            }
        }

        return result.ToString();
    }
}
