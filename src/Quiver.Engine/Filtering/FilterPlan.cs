using System.Text.Json;

namespace Quiver.Filtering;

/// <summary>The engine's one entry to the filter language: parse and bind, or null when every row matches.</summary>
internal static class FilterPlan
{
    public static BoundFilter? Compile(string? text, CollectionSchema schema, IReadOnlyDictionary<string, object?>? parameters)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return FromBound(FilterExpression.Parse(text).Bind(schema, parameters));
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
}
