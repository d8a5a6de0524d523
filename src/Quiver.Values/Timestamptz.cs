using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Quiver;

/// <summary>TIMESTAMPTZ values: ISO 8601 text in (with an offset, or without one and then read in a time zone, UTC
/// unless the collection names one), UTC microseconds since the Unix epoch stored, and RFC 3339 text out in a time zone
/// (<c>2025-01-01T16:00:00Z</c> in UTC, as Milvus writes it; fractional seconds only when there are some).</summary>
public static partial class Timestamptz
{
    /// <summary>The collection and database property naming the IANA time zone used for output and for literals
    /// without an offset (Milvus's <c>timezone</c>).</summary>
    public const string TimezoneProperty = "timezone";

    /// <summary>The zone Milvus records on a new collection whose database has none (its <c>common.DefaultTimezone</c>).</summary>
    internal const string DefaultZoneName = "UTC";

    /// <summary>Microseconds since the epoch of 0001-01-01T00:00:00Z, the earliest value.</summary>
    public static readonly long MinMicros = (DateTimeOffset.MinValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <summary>Microseconds since the epoch of 9999-12-31T23:59:59.999999Z, the latest value.</summary>
    public static readonly long MaxMicros = (DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Iso8601();

    /// <summary>Parses ISO 8601 text to UTC microseconds; text without an offset is read in <paramref name="zone"/>
    /// (UTC when null). False with <paramref name="error"/> naming the problem.</summary>
    public static bool TryParse(string text, TimeZoneInfo? zone, out long micros, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        micros = 0;
        var m = Iso8601().Match(text.Trim());
        if (!m.Success)
        {
            error = $"'{Clip(text)}' is not an ISO 8601 timestamp (expected e.g. 2025-05-01T23:59:59+08:00)";
            return false;
        }

        int Part(int group) => m.Groups[group].Success ? int.Parse(m.Groups[group].ValueSpan, CultureInfo.InvariantCulture) : 0;
        var fraction = m.Groups[7].Value;
        if (fraction.Length > 6 && fraction[6..].Any(c => c != '0'))
        {
            error = $"'{Clip(text)}' is more precise than the microseconds TIMESTAMPTZ keeps";
            return false;
        }

        var micro = fraction.Length == 0 ? 0 : int.Parse(fraction.PadRight(6, '0')[..6], CultureInfo.InvariantCulture);
        DateTime local;
        try
        {
            local = new DateTime(Part(1), Part(2), Part(3), Part(4), Part(5), Part(6), DateTimeKind.Unspecified).AddTicks(micro * 10L);
        }
        catch (ArgumentOutOfRangeException)
        {
            error = $"'{Clip(text)}' is not a valid date and time";
            return false;
        }

        TimeSpan offset;
        var zoneText = m.Groups[8].Value;
        if (zoneText.Length == 0)
        {
            offset = (zone ?? TimeZoneInfo.Utc).GetUtcOffset(local);
        }
        else if (zoneText is "Z" or "z")
        {
            offset = TimeSpan.Zero;
        }
        else
        {
            var digits = zoneText[1..].Replace(":", "", StringComparison.Ordinal);
            var hours = int.Parse(digits.AsSpan(0, 2), CultureInfo.InvariantCulture);
            var minutes = digits.Length > 2 ? int.Parse(digits.AsSpan(2), CultureInfo.InvariantCulture) : 0;
            if (hours > 14 || minutes > 59)
            {
                error = $"'{Clip(text)}' has an offset out of range (at most ±14:00)";
                return false;
            }

            offset = new TimeSpan(hours, minutes, 0) * (zoneText[0] == '-' ? -1 : 1);
        }

        var ticks = local.Ticks - offset.Ticks;
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
        {
            error = $"'{Clip(text)}' is outside the years 0001 to 9999 in UTC";
            return false;
        }

        micros = (ticks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        error = null;
        return true;
    }

    /// <summary>RFC 3339 text of <paramref name="micros"/> in <paramref name="zone"/> (UTC when null): <c>Z</c> for a zero
    /// offset, fractional seconds with trailing zeros left out.</summary>
    public static string Format(long micros, TimeZoneInfo? zone = null)
    {
        var utc = DateTimeOffset.UnixEpoch.AddTicks(checked(micros * 10));
        var offset = zone is null ? TimeSpan.Zero : zone.GetUtcOffset(utc);
        var t = utc.ToOffset(offset);
        var sb = new StringBuilder(32);
        sb.Append(t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        var micro = (int)(t.Ticks % TimeSpan.TicksPerSecond / 10);
        if (micro != 0)
        {
            sb.Append('.').Append(micro.ToString("D6", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        if (offset == TimeSpan.Zero)
        {
            sb.Append('Z');
        }
        else
        {
            sb.Append(offset < TimeSpan.Zero ? '-' : '+').Append(offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>The time zone an IANA name (or "UTC") names, or null with <paramref name="error"/>. A Windows zone name
    /// (which .NET would also find) is refused, as Milvus refuses every name its IANA database lacks.</summary>
    public static TimeZoneInfo? FindZone(string name, out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        error = null;
        if (name.Length == 0 || name.Length > 64 || name.Any(char.IsWhiteSpace))
        {
            error = $"'{Clip(name)}' is not a known IANA time zone";
            return null;
        }

        try
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(name);
            if (zone.HasIanaId || zone == TimeZoneInfo.Utc)
            {
                return zone;
            }
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
        }

        error = $"'{Clip(name)}' is not a known IANA time zone";
        return null;
    }

    /// <summary>Milvus's message for a <c>timezone</c> property or parameter that names no IANA zone.</summary>
    internal static string UnknownZoneMessage(string name) => $"unknown or invalid IANA Time Zone ID: {name}";

    /// <summary>The zone <paramref name="name"/> names; a <see cref="QuiverException"/> (InvalidArgument) with Milvus's
    /// message (<c>unknown or invalid IANA Time Zone ID: NAME</c>) otherwise.</summary>
    public static TimeZoneInfo RequireZone(string name) =>
        FindZone(name, out _) ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, UnknownZoneMessage(name));

    /// <summary>Checks the <c>timezone</c> entry of properties being set on a collection or database.</summary>
    internal static void ValidateProperty(IReadOnlyDictionary<string, string> properties)
    {
        if (properties.TryGetValue(TimezoneProperty, out var name))
        {
            _ = RequireZone(name);
        }
    }

    /// <summary>The zone a read or write of a collection works in, by Milvus's precedence: the request's own
    /// <c>timezone</c>, else the collection's property (which a database's was copied into when the collection was
    /// created), else null for UTC.</summary>
    internal static TimeZoneInfo? Resolve(string? requested, IReadOnlyDictionary<string, string> collectionProperties)
    {
        if (requested is not null)
        {
            return Utc(RequireZone(requested));
        }

        return collectionProperties.TryGetValue(TimezoneProperty, out var name) && FindZone(name, out _) is { } zone ? Utc(zone) : null;
    }

    /// <summary>The schema with each TIMESTAMPTZ default given as text turned into UTC microseconds, text without an
    /// offset read in <paramref name="zone"/>: as Milvus fixes a default when the collection is created, so that a later
    /// change of the collection's zone does not move it.</summary>
    internal static CollectionSchema FixDefaults(CollectionSchema schema, TimeZoneInfo? zone)
    {
        if (!schema.Fields.Any(f => f.DataType == DataType.Timestamptz && f.DefaultValue is { ValueKind: System.Text.Json.JsonValueKind.String }))
        {
            return schema;
        }

        return schema with
        {
            Fields = [.. schema.Fields.Select(f =>
                f.DataType == DataType.Timestamptz && f.DefaultValue is { ValueKind: System.Text.Json.JsonValueKind.String } dv
                    && TryParse(dv.GetString()!, zone, out var micros, out _)
                    ? f with { DefaultValue = System.Text.Json.JsonSerializer.SerializeToElement(micros) }
                    : f)],
        };
    }

    /// <summary>Null for UTC itself, so that the common case keeps every fast path and cache key it had.</summary>
    private static TimeZoneInfo? Utc(TimeZoneInfo zone) => zone == TimeZoneInfo.Utc || zone.Id is "UTC" or "Etc/UTC" ? null : zone;

    /// <summary>Converts a CLR or JSON value to UTC microseconds: ISO 8601 text, a <see cref="DateTimeOffset"/>, a UTC
    /// <see cref="DateTime"/>, or an integer count of microseconds.</summary>
    internal static bool TryConvert(object value, TimeZoneInfo? zone, out long micros, out string? error)
    {
        error = null;
        switch (value)
        {
            case string s:
                return TryParse(s, zone, out micros, out error);
            case System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } js:
                return TryParse(js.GetString()!, zone, out micros, out error);
            case System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Number } jn when jn.TryGetInt64(out micros):
                return InRange(micros, out error);
            case DateTimeOffset dto:
                micros = (dto.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
                return true;
            case DateTime { Kind: DateTimeKind.Utc } dt:
                micros = (dt.Ticks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
                return true;
            case long l:
                micros = l;
                return InRange(micros, out error);
            case int i:
                micros = i;
                return true;
            default:
                micros = 0;
                error = $"expected Timestamptz as ISO 8601 text, got {ValueConverter.Describe(value)}";
                return false;
        }
    }

    /// <summary>Null when <paramref name="micros"/> lies in the years 0001..9999, else the rule it breaks.</summary>
    internal static string? CheckRange(long micros) =>
        micros < MinMicros || micros > MaxMicros ? $"timestamp {micros} µs is outside the years 0001 to 9999" : null;

    private static bool InRange(long micros, out string? error)
    {
        error = CheckRange(micros);
        return error is null;
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
