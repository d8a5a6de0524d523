using System.Text;
using Quiver.Cli.Ops.Prep;
using Quiver.Toolbox.Prep;

namespace Quiver.Cli.Tests.Ops.Prep;

public sealed class TextCleanerTests
{
    private static readonly TextCleanOptions Html = new(StripHtml: true);

    [Theory]
    [InlineData("<p>Hello <b>world</b></p><p>Bye&amp;see you</p>", "Hello world\n\nBye&see you")]
    [InlineData("<script>var x = '<p>';</script>Text<style>p { color: red }</style> here", "Text here")]
    [InlineData("<html><head><title>T</title></head><body><div>Body</div></body></html>", "Body")]
    [InlineData("a < b and c > d", "a < b and c > d")]
    [InlineData("x<y", "x<y")]
    [InlineData("&lt;b&gt; is a tag, &#233; and &#xE9; are e-acute, &nbsp;nbsp", "<b> is a tag, é and é are e-acute, nbsp")]
    [InlineData("Line<br>break<BR/>again", "Line break again")]
    [InlineData("keep<!-- a comment <p> -->this", "keepthis")]
    [InlineData("<a href=\"x\" title=\"a>b\">link</a> text", "link text")]
    [InlineData("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo")]
    public void StripHtml_Cases(string html, string expected)
    {
        var text = TextCleaner.Clean(html, Html, out var changes);
        Assert.Equal(expected, text);
        Assert.Equal(!string.Equals(html, expected, StringComparison.Ordinal) && html.AsSpan().IndexOfAny('<', '&') >= 0,
            changes.HasFlag(TextChanges.HtmlStripped));
    }

    [Fact]
    public void Clean_WithoutStripHtml_LeavesTags()
    {
        Assert.Equal("<b>bold</b>", TextCleaner.Clean("<b>bold</b>", new TextCleanOptions(), out var changes));
        Assert.Equal(TextChanges.None, changes);
    }

    [Fact]
    public void Normalize_ComposedAndDecomposedEAcute_MeetInEachForm()
    {
        const string composed = "caf\u00E9";
        const string decomposed = "cafe\u0301";
        Assert.NotEqual(composed, decomposed);
        Assert.Equal(composed, TextCleaner.Clean(decomposed, new TextCleanOptions(), out var changes));
        Assert.Equal(TextChanges.Normalized, changes);
        Assert.Equal(composed, TextCleaner.Clean(composed, new TextCleanOptions(), out changes));
        Assert.Equal(TextChanges.None, changes);
        Assert.Equal(decomposed, TextCleaner.Clean(composed, new TextCleanOptions(Normalization: TextNormalization.Nfd), out _));
        Assert.Equal(decomposed, TextCleaner.Clean(decomposed, new TextCleanOptions(Normalization: TextNormalization.None), out changes));
        Assert.Equal(TextChanges.None, changes);
    }

    [Theory]
    [InlineData("\uFB01ne", "NFKC", "fine")] // ligature
    [InlineData("\uFB01ne", "NFC", "\uFB01ne")] // compatibility only
    [InlineData("\u2460x\u00BD", "NFKC", "1x1\u20442")] // circled one, one half
    [InlineData("\u1100\u1161\u11A8", "NFC", "\uAC01")] // Hangul jamo compose by arithmetic
    [InlineData("\uAC01", "NFD", "\u1100\u1161\u11A8")]
    [InlineData("a\u0301\u0327", "NFD", "a\u0327\u0301")] // cedilla (class 202) sorts before acute (230)
    [InlineData("a\u0301\u0327", "NFC", "\u00E1\u0327")] // acute not blocked by the lower class
    [InlineData("\u0958", "NFC", "\u0915\u093C")] // composition exclusion stays decomposed
    [InlineData("\u212B", "NFC", "\u00C5")] // singleton: Angstrom sign
    [InlineData("\U0001D15E", "NFD", "\U0001D157\U0001D165")] // outside the BMP
    public void Normalize_UnicodeCases(string input, string form, string expected)
    {
        Assert.Equal(expected, UnicodeNormalizer.Normalize(input, PrepCommand.ParseNormalization(form)));
    }

    [Fact]
    public void Normalize_StringNormalizeIsANoOpHere_WhichIsWhyTheManagedTablesExist()
    {
        // The build sets InvariantGlobalization=true: the runtime returns non-ASCII text unchanged. If this starts
        // failing the runtime normalizes again and UnicodeNormalizer could defer to it.
        Assert.Equal("cafe\u0301", "cafe\u0301".Normalize(NormalizationForm.FormC));
    }

    [Fact]
    public void Clean_ControlCharacters_RemovedExceptTabAndNewline()
    {
        var text = TextCleaner.Clean("a\u0000b\u0007c\td\u001Be\u0085f\r\ng", new TextCleanOptions(), out var changes);
        Assert.Equal("abc def g", text);
        Assert.True(changes.HasFlag(TextChanges.ControlCharsRemoved));
        Assert.True(changes.HasFlag(TextChanges.WhitespaceCollapsed));
        Assert.False(changes.HasFlag(TextChanges.ZeroWidthRemoved));
    }

    [Fact]
    public void Clean_ZeroWidthAndBom_RemovedBeforeNormalization()
    {
        Assert.Equal("zerowidth", TextCleaner.Clean("\uFEFFzero\u200Bwidth\u2060", new TextCleanOptions(), out var changes));
        Assert.Equal(TextChanges.ZeroWidthRemoved, changes);

        // A zero-width space between a letter and its accent would keep them from composing.
        Assert.Equal("\u00E9", TextCleaner.Clean("e\u200B\u0301", new TextCleanOptions(), out changes));
        Assert.Equal(TextChanges.ZeroWidthRemoved | TextChanges.Normalized, changes);

        // Joiners stay: they spell Persian words and emoji sequences.
        Assert.Equal("\U0001F468\u200D\U0001F469", TextCleaner.Clean("\U0001F468\u200D\U0001F469", new TextCleanOptions(), out _));
    }

    [Fact]
    public void Clean_Whitespace_CollapsedAndParagraphsKept()
    {
        var text = TextCleaner.Clean("  a  \t b \n c \u00A0 d\n\n\n e \r\n\r\n f  ", new TextCleanOptions(), out var changes);
        Assert.Equal("a b c d\n\ne\n\nf", text);
        Assert.Equal(TextChanges.WhitespaceCollapsed, changes);
    }
}
