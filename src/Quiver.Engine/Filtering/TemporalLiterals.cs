using System.Globalization;
using System.Text.RegularExpressions;

namespace Quiver.Filtering;

/// <summary>Milvus's time literals in filters: <c>ISO '2025-01-03T00:00:00+08:00'</c> (a TIMESTAMPTZ instant, UTC
/// microseconds; text without an offset is read in the read's time zone: its <c>timezone</c>, else the collection's, else UTC) and <c>INTERVAL 'P1DT2H'</c> (an ISO 8601 duration in
/// microseconds, to add to or subtract from a TIMESTAMPTZ field). Both become integer literals, so comparisons, ranges
/// and arithmetic on TIMESTAMPTZ fields are the integer ones.</summary>
internal static partial class TemporalLiterals
{
    /// <summary>True when <paramref name="keyword"/> starts a time literal.</summary>
    public static bool IsKeyword(string keyword) =>
        keyword.Equals("ISO", StringComparison.OrdinalIgnoreCase) || keyword.Equals("INTERVAL", StringComparison.OrdinalIgnoreCase);

    /// <summary>The literal's value in microseconds; a <see cref="FilterException"/> at <paramref name="position"/> naming
    /// the problem otherwise.</summary>
    public static long Parse(string keyword, string text, int position, TimeZoneInfo? zone = null)
    {
        if (keyword.Equals("ISO", StringComparison.OrdinalIgnoreCase))
        {
            return Timestamptz.TryParse(text, zone, out var micros, out var error)
                ? micros
                : throw new FilterException($"bad ISO literal: {error}", position, keyword);
        }

        return Duration(text) ?? throw new FilterException(
            $"bad INTERVAL literal '{text}': expected an ISO 8601 duration of weeks, days, hours, minutes and seconds such as 'P1DT2H30M' (years and months have no fixed length)",
            position, keyword);
    }

    [GeneratedRegex(@"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,6}))?S)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    private static long? Duration(string text)
    {
        var m = DurationPattern().Match(text.Trim());
        // "P" and "PT" alone name no duration.
        if (!m.Success || text.Trim().TrimStart('+', '-') is "P" or "PT" || text.TrimEnd().EndsWith('T'))
        {
            return null;
        }

        long Part(int group) => m.Groups[group].Success ? long.Parse(m.Groups[group].ValueSpan, CultureInfo.InvariantCulture) : 0;
        try
        {
            var micros = checked(
                (Part(2) * 7 * 86_400_000_000L)
                + (Part(3) * 86_400_000_000L)
                + (Part(4) * 3_600_000_000L)
                + (Part(5) * 60_000_000L)
                + (Part(6) * 1_000_000L)
                + (m.Groups[7].Success ? long.Parse(m.Groups[7].Value.PadRight(6, '0'), CultureInfo.InvariantCulture) : 0));
            return m.Groups[1].Value == "-" ? -micros : micros;
        }
        catch (OverflowException)
        {
            return null;
        }
    }
}
