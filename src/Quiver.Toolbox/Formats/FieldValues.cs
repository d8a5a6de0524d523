using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Toolbox.Formats;

/// <summary>Reads the values of rows as <see cref="Quiver.Client.IQuiverClient.QueryAsync"/> returns them (sbyte/short/int/long,
/// float/double, bool, string, <see cref="JsonElement"/> for JSON and arrays, float[] for vectors; other numeric CLR
/// types and JSON numbers are accepted too) into the plain types a file writer needs. Errors name the field.</summary>
internal static class FieldValues
{
    /// <summary>An integer value.</summary>
    public static long ToInt64(string field, object value) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte b => b,
        byte b => b,
        ushort u => u,
        uint u => u,
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt64(out var l) => l,
        _ => throw Wrong(field, value, "an integer"),
    };

    /// <summary>A floating-point value.</summary>
    public static double ToDouble(string field, object value) => value switch
    {
        double d => d,
        float f => f,
        long l => l,
        int i => i,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        _ => throw Wrong(field, value, "a number"),
    };

    /// <summary>A boolean value.</summary>
    public static bool ToBoolean(string field, object value) => value switch
    {
        bool b => b,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        _ => throw Wrong(field, value, "true or false"),
    };

    /// <summary>A string value.</summary>
    public static string ToText(string field, object value) => value switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => throw Wrong(field, value, "a string"),
    };

    /// <summary>A JSON value as JSON text.</summary>
    public static string ToJsonText(object value) => value switch
    {
        JsonElement e => e.GetRawText(),
        JsonNode n => n.ToJsonString(),
        _ => JsonSerializer.Serialize(value),
    };

    /// <summary>A vector's components.</summary>
    public static float[] ToVector(string field, object value)
    {
        switch (value)
        {
            case float[] f:
                return f;
            case ReadOnlyMemory<float> m:
                return m.ToArray();
            case double[] d:
                return Array.ConvertAll(d, x => (float)x);
            case JsonElement { ValueKind: JsonValueKind.Array } e:
                {
                    var v = new float[e.GetArrayLength()];
                    var i = 0;
                    foreach (var x in e.EnumerateArray())
                    {
                        v[i++] = x.ValueKind == JsonValueKind.Number ? x.GetSingle() : throw Wrong(field, value, "a vector of numbers");
                    }

                    return v;
                }

            case IEnumerable list and not string:
                {
                    var v = new List<float>();
                    foreach (var x in list)
                    {
                        v.Add(x is null ? throw Wrong(field, value, "a vector of numbers") : (float)ToDouble(field, x));
                    }

                    return [.. v];
                }

            default:
                throw Wrong(field, value, "a vector");
        }
    }

    /// <summary>The elements of an array value (a JSON array or a CLR sequence).</summary>
    public static IReadOnlyList<object?> ToElements(string field, object value)
    {
        var items = new List<object?>();
        switch (value)
        {
            case JsonElement { ValueKind: JsonValueKind.Array } e:
                foreach (var x in e.EnumerateArray())
                {
                    items.Add(x.ValueKind == JsonValueKind.Null ? null : x);
                }

                return items;
            case IEnumerable list and not string:
                foreach (var x in list)
                {
                    items.Add(x);
                }

                return items;
            default:
                throw Wrong(field, value, "an array");
        }
    }

    private static ToolboxException Wrong(string field, object value, string expected) =>
        new(string.Create(CultureInfo.InvariantCulture, $"field '{field}': expected {expected}, got {Describe(value)}"));

    private static string Describe(object value) => value switch
    {
        JsonElement e => $"JSON {e.ValueKind}",
        _ => value.GetType().Name,
    };
}
