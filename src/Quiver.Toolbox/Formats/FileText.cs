using System.Globalization;
using System.Text.RegularExpressions;

namespace Quiver.Toolbox.Formats;

/// <summary>
/// How import messages speak of what a file holds: they do not quote it. A message names the file, the line or row,
/// the field and what is wrong; the server puts these messages in a failed bulk-import job's reason, which a caller
/// who may not read the file sees, so a value, a column name that is not a field, or a library's quote of the input
/// would leak the file's content.
/// </summary>
internal static partial class FileText
{
    /// <summary>A column of a file's header or schema: by name when it is a field of the collection (the name is then
    /// the schema's, so naming it tells nothing of the file), else by its 1-based position.</summary>
    public static string Column(int index, string name, FieldSchema? field) => field is not null
        ? $"column '{name}'"
        : string.Create(CultureInfo.InvariantCulture, $"column {index + 1}");

    /// <summary>A library's message (System.Text.Json, Parquet.Net) with every quoted part withheld: these libraries
    /// quote the input they stumbled on ("'x' is an invalid start of a value").</summary>
    public static string WithoutQuotes(string message) => Quoted().Replace(message, "'…'");

    [GeneratedRegex("'[^']*'")]
    private static partial Regex Quoted();
}
