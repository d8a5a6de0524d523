using System.Text.RegularExpressions;

namespace Quiver.Docs.Tests;

/// <summary>
/// Extracts the fenced blocks of a Markdown page and classifies each by its info string: the first word is the language,
/// then words (<c>output</c>, <c>fragment</c>) and <c>key=value</c> pairs (<c>file=NAME</c>, <c>timeout=SECONDS</c>).
/// A block the runner cannot classify is a <see cref="DocsException"/>, so a page cannot slip past the runner.
/// </summary>
public static partial class MarkdownBlocks
{
    /// <summary>Seconds a run block may take unless its info string says <c>timeout=</c>.</summary>
    public const int DefaultTimeoutSeconds = 180;

    private static readonly HashSet<string> CSharpNames = ["csharp", "cs", "c#"];
    private static readonly HashSet<string> ShellNames = ["bash", "sh"];
    private static readonly HashSet<string> NodeNames = ["js", "javascript"];

    /// <summary>Languages that are never run: shown, written as a file (<c>file=</c>) or compared (<c>output</c>).</summary>
    private static readonly HashSet<string> TextNames = ["text", "ebnf", "json", "yaml"];

    private static readonly HashSet<string> Words = ["output", "fragment"];

    /// <summary>The page's blocks in order.</summary>
    /// <param name="page">The page's name as failures show it.</param>
    /// <param name="markdown">The page's text.</param>
    public static IReadOnlyList<DocBlock> Parse(string page, string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<DocBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = OpeningFence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }
            var fence = open.Groups["fence"].Value;
            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !IsClosing(lines[i], fence); i++)
            {
                body.Add(lines[i]);
            }
            if (i == lines.Length)
            {
                throw new DocsException($"{page}:{start + 1}: the block is never closed");
            }
            blocks.Add(Classify(page, start + 1, open.Groups["info"].Value.Trim(), string.Concat(body.Select(l => l + "\n"))));
        }
        return blocks;
    }

    private static bool IsClosing(string line, string fence)
    {
        var t = line.Trim();
        return t.Length >= fence.Length && t.All(c => c == '`');
    }

    private static DocBlock Classify(string page, int line, string info, string text)
    {
        var where = $"{page}:{line}";
        var parts = info.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            throw new DocsException($"{where}: the block has no language; say what it is (```csharp, ```bash, ```js, or ```text, "
                + "```text output, ```json file=NAME, ```csharp fragment; docs/testing.md, \"Docs that run\")");
        }
        var language = parts[0].ToLowerInvariant();
        var words = new HashSet<string>();
        string? file = null;
        var timeout = DefaultTimeoutSeconds;
        foreach (var part in parts.Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                if (!Words.Contains(part))
                {
                    throw new DocsException($"{where}: unknown word '{part}' in the info string '{info}' (known: {string.Join(", ", Words)}, file=NAME, timeout=SECONDS)");
                }
                words.Add(part);
                continue;
            }
            var (key, value) = (part[..eq], part[(eq + 1)..]);
            switch (key)
            {
                case "file" when value.Length > 0 && !Path.IsPathRooted(value) && !value.Split('/').Contains(".."):
                    file = value;
                    break;
                case "timeout" when int.TryParse(value, out var seconds) && seconds > 0:
                    timeout = seconds;
                    break;
                default:
                    throw new DocsException($"{where}: bad '{part}' in the info string '{info}' (file=NAME relative to the page's folder, timeout=SECONDS)");
            }
        }

        var runKind = CSharpNames.Contains(language) ? BlockKind.CSharp
            : ShellNames.Contains(language) ? BlockKind.Shell
            : NodeNames.Contains(language) ? BlockKind.Node
            : TextNames.Contains(language) ? BlockKind.Shown
            : throw new DocsException($"{where}: the runner does not know the language '{parts[0]}' (run: csharp, bash, sh, js; "
                + $"not run: {string.Join(", ", TextNames)}; docs/testing.md, \"Docs that run\")");
        var kind = words.Contains("output") ? BlockKind.Output
            : file is not null ? BlockKind.File
            : words.Contains("fragment") ? BlockKind.Shown
            : runKind;
        return new DocBlock(page, line, info, kind, text, file, timeout);
    }

    [GeneratedRegex(@"^ {0,3}(?<fence>`{3,})(?<info>[^`]*)$")]
    private static partial Regex OpeningFence();
}

/// <summary>A page that does not run as written, naming the page and line.</summary>
public sealed class DocsException(string message) : Exception(message);
