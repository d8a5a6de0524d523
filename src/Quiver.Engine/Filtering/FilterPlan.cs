using System.Text.Json;

namespace Quiver.Filtering;

/// <summary>The engine's one entry to the filter language: parse and bind, or null when every row matches.</summary>
internal static class FilterPlan
{
    public static BoundFilter? Compile(string? text, CollectionSchema schema, IReadOnlyDictionary<string, object?>? parameters, TimeZoneInfo? zone = null)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return FromBound(FilterExpression.Parse(text, zone).Bind(schema, parameters));
    }

    /// <summary>A bound filter as a plan: null when every row matches.</summary>
    public static BoundFilter? FromBound(BoundFilter bound) => bound.IsAlwaysTrue ? null : bound;
}

/// <summary>Template parameters as logged in the WAL: a JSON object, read back as <see cref="JsonElement"/> values so
/// that a delete-by-filter binds the same way live and on replay.</summary>
internal static class FilterParameters
{
    public static IReadOnlyDictionary<string, object?>? FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            result[p.Name] = p.Value.Clone();
        }

        return result.Count == 0 ? null : result;
    }

    /// <summary>The key under which a delete's logged parameters carry the time zone its filter was read in; a template
    /// parameter is an identifier and cannot start with <c>$</c>.</summary>
    internal const string ZoneKey = "$timezone";

    /// <summary><paramref name="parameters"/> with the zone added under <see cref="ZoneKey"/> (unchanged for UTC).</summary>
    public static IReadOnlyDictionary<string, object?>? WithZone(IReadOnlyDictionary<string, object?>? parameters, TimeZoneInfo? zone)
    {
        if (zone is null)
        {
            return parameters;
        }

        var result = parameters is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : new Dictionary<string, object?>(parameters, StringComparer.Ordinal);
        result[ZoneKey] = zone.Id;
        return result;
    }

    /// <summary>A logged delete's parameters and zone (records written before zones were logged read as UTC).</summary>
    public static (IReadOnlyDictionary<string, object?>? Parameters, TimeZoneInfo? Zone) FromLogged(string json)
    {
        var all = FromJson(json);
        if (all is null || !all.TryGetValue(ZoneKey, out var name) || name is not JsonElement { ValueKind: JsonValueKind.String } text)
        {
            return (all, null);
        }

        var rest = new Dictionary<string, object?>(all, StringComparer.Ordinal);
        rest.Remove(ZoneKey);
        return (rest.Count == 0 ? null : rest, Timestamptz.RequireZone(text.GetString()!));
    }
}
