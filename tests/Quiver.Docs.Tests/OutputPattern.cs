using System.Text;
using System.Text.RegularExpressions;

namespace Quiver.Docs.Tests;

/// <summary>
/// Compares what a block printed with the output block shown after it. Lines are compared after trimming trailing
/// spaces, and trailing empty lines are ignored. Variable parts are marked: a line that is only <c>...</c> stands for
/// any number of lines (none included), and <c>…</c> (U+2026) inside a line for any run of characters on that line.
/// </summary>
public static class OutputPattern
{
    /// <summary>Null when <paramref name="actual"/> matches <paramref name="expected"/>, else a message showing both.</summary>
    public static string? Mismatch(string expected, string actual)
    {
        var pattern = new StringBuilder("^");
        foreach (var line in Lines(expected))
        {
            if (line == "...")
            {
                pattern.Append(@"(?:[^\n]*\n)*?");
                continue;
            }
            var parts = line.Split('…');
            pattern.Append(string.Join(@"[^\n]*", parts.Select(Regex.Escape))).Append(@"\n");
        }
        pattern.Append('$');
        var text = string.Concat(Lines(actual).Select(l => l + "\n"));
        var regex = new Regex(pattern.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10));
        return regex.IsMatch(text) ? null : $"--- expected (the page's output block) ---\n{expected.TrimEnd()}\n--- printed ---\n{text.TrimEnd()}\n---";
    }

    private static List<string> Lines(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines;
    }
}
