using System.Globalization;
using System.Text;

namespace Quiver.Server.Milvus.Data;

/// <summary>
/// Recognizes the delete filters SDKs build from a key list — <c>pk in [1, 2, 3]</c>, <c>pk in ["a", "b"]</c>,
/// <c>pk == 7</c> — so that Delete can take the engine's delete-by-keys path. Anything else (other fields, operators,
/// escapes, templates) is left to the filter language: <see cref="TryParse"/> answers null and the caller deletes by
/// filter, which gives the same rows, only slower.
/// </summary>
internal static class KeyListParser
{
    /// <summary>The keys of a simple key filter on <paramref name="primaryKey"/>, or null when the filter is not one.</summary>
    public static List<object>? TryParse(string filter, FieldSchema primaryKey)
    {
        var s = filter.AsSpan().Trim();
        if (!s.StartsWith(primaryKey.Name, StringComparison.Ordinal))
        {
            return null;
        }

        s = s[primaryKey.Name.Length..];
        if (s.Length == 0 || IsNameChar(s[0]))
        {
            return null;
        }

        s = s.TrimStart();
        var isInt = primaryKey.DataType == DataType.Int64;
        var keys = new List<object>();
        if (s.StartsWith("==", StringComparison.Ordinal))
        {
            var rest = s[2..].Trim();
            return TryLiteral(rest, isInt, out var key, out var used) && used == rest.Length ? [key] : null;
        }

        if (!s.StartsWith("in", StringComparison.OrdinalIgnoreCase) || s.Length < 3 || IsNameChar(s[2]))
        {
            return null;
        }

        s = s[2..].Trim();
        if (s.Length < 2 || s[0] != '[' || s[^1] != ']')
        {
            return null;
        }

        s = s[1..^1].Trim();
        while (s.Length > 0)
        {
            if (!TryLiteral(s, isInt, out var key, out var used))
            {
                return null;
            }

            keys.Add(key);
            s = s[used..].TrimStart();
            if (s.Length == 0)
            {
                break;
            }

            if (s[0] != ',')
            {
                return null;
            }

            s = s[1..].TrimStart();
        }

        return keys;
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    /// <summary>An Int64 literal or a quoted string without escapes at the start of <paramref name="s"/>.</summary>
    private static bool TryLiteral(ReadOnlySpan<char> s, bool isInt, out object key, out int used)
    {
        key = "";
        used = 0;
        if (isInt)
        {
            var end = 0;
            if (end < s.Length && (s[end] == '-' || s[end] == '+'))
            {
                end++;
            }

            while (end < s.Length && char.IsAsciiDigit(s[end]))
            {
                end++;
            }

            if (!long.TryParse(s[..end], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                return false;
            }

            key = l;
            used = end;
            return true;
        }

        if (s.Length < 2 || (s[0] != '"' && s[0] != '\''))
        {
            return false;
        }

        var quote = s[0];
        var close = s[1..].IndexOfAny(quote, '\\');
        if (close < 0 || s[1 + close] != quote)
        {
            return false; // escapes are the filter language's business
        }

        key = new StringBuilder().Append(s.Slice(1, close)).ToString();
        used = close + 2;
        return true;
    }
}
