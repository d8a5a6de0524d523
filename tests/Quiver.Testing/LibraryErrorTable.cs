using System.Text.RegularExpressions;
namespace Quiver.Testing;

/// <summary>docs/errors.md's "Library refusals" table: one row per refusal of the .NET libraries (typed API, VectorData
/// provider, embedding generator, toolbox), read by the test projects that make each refusal happen.</summary>
public static partial class LibraryErrorTable
{
    /// <summary>The heading the table follows (it is the last section of the page).</summary>
    public const string Section = "## Library refusals";

    /// <summary>One row: the case name, the exception's type name, its kind (a <c>QuiverErrorCode</c> or
    /// <c>ToolboxErrorKind</c> name, or null for —) and the example message.</summary>
    public sealed record Row(string Case, string Exception, string? Kind, string Message);

    /// <summary>The rows whose case starts with one of <paramref name="prefixes"/>.</summary>
    public static IReadOnlyList<Row> Read(params string[] prefixes) =>
        [.. File.ReadLines(Path.Combine(RepositoryRoot.Path, "docs", "errors.md"))
            .SkipWhile(line => !line.StartsWith(Section, StringComparison.Ordinal))
            .Select(line => RowPattern().Match(line))
            .Where(m => m.Success)
            .Select(m => new Row(
                m.Groups["case"].Value,
                m.Groups["exception"].Value,
                m.Groups["kind"].Value is "—" ? null : m.Groups["kind"].Value.Trim('`'),
                m.Groups["message"].Value.Replace("\\|", "|", StringComparison.Ordinal)))
            .Where(r => prefixes.Any(p => r.Case.StartsWith(p, StringComparison.Ordinal)))];

    /// <summary>What is wrong with <paramref name="thrown"/> as the refusal of <paramref name="row"/> (null when it is
    /// that refusal): the exception's type name, its kind (<see cref="QuiverException.Code"/> or
    /// <c>ToolboxException.Kind</c>) and its message, where <c>…</c> in the example matches any text.</summary>
    public static string? Mismatch(Row row, Exception? thrown)
    {
        if (thrown is null)
        {
            return $"{row.Case}: nothing was thrown";
        }

        var kind = thrown switch
        {
            QuiverException q => q.Code.ToString(),
            // ToolboxException's Kind (read by name: this project does not reference the toolbox).
            _ => thrown.GetType().GetProperty("Kind")?.GetValue(thrown)?.ToString(),
        };
        var pattern = "^" + string.Join(".*", row.Message.Split('…').Select(Regex.Escape)) + "$";
        return thrown.GetType().Name != row.Exception || kind != row.Kind || !Regex.IsMatch(thrown.Message, pattern, RegexOptions.Singleline)
            ? $"{row.Case}: expected {row.Exception} ({row.Kind ?? "—"}) \"{row.Message}\", got {thrown.GetType().Name} ({kind ?? "—"}) \"{thrown.Message}\""
            : null;
    }

    [GeneratedRegex(@"^\|\s*`(?<case>[a-z0-9-]+)`\s*\|[^|]*\|\s*`(?<exception>\w+)`\s*\|\s*(?<kind>`\w+`|—)\s*\|.*\|\s*`(?<message>.*)`\s*\|$")]
    private static partial Regex RowPattern();
}
