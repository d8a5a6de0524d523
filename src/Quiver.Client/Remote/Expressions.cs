using System.Globalization;
using System.Text;
using System.Text.Json;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Client.Remote;

/// <summary>Filter text and template values the remote client sends on the caller's behalf: a primary-key <c>in</c>
/// list for get and delete by key, and <c>expr_template_values</c> for filter parameters.</summary>
internal static class Expressions
{
    /// <summary><c>key in [1, 2]</c> or <c>key in ["a", "b"]</c> with the keys as literals (strings quoted and escaped).
    /// Keys must be integers for an Int64 key and strings for a VarChar key.</summary>
    public static string KeyIn(FieldSchema primaryKey, IReadOnlyList<object> keys)
    {
        var sb = new StringBuilder(primaryKey.Name).Append(" in [");
        for (var i = 0; i < keys.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            var key = keys[i];
            if (primaryKey.DataType == DataType.Int64)
            {
                var v = ValueConverter.ConvertScalar(primaryKey, key ?? throw KeyError(i, "null"), out var error);
                if (error is not null)
                {
                    throw KeyError(i, error);
                }

                sb.Append(((long)v!).ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                if (key is not string s)
                {
                    throw KeyError(i, $"expected a string key, got {ValueConverter.Describe(key)}");
                }

                if (Utf16Text.Problem(s) is { } problem)
                {
                    // Sent as U+FFFD it would name another row.
                    throw KeyError(i, $"the key {problem}");
                }

                AppendQuoted(sb, s);
            }
        }

        return sb.Append(']').ToString();
    }

    /// <summary>Appends a double-quoted string literal with backslash escapes for quote, backslash and control characters.</summary>
    public static void AppendQuoted(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default: sb.Append(c); break;
            }
        }

        sb.Append('"');
    }

    /// <summary>The filter text, refused with <see cref="QuiverErrorCode.BadFilter"/> when it holds an unpaired surrogate
    /// (as the engine's lexer refuses it): sent over gRPC it would arrive with U+FFFD in its place and match other rows.</summary>
    public static string Filter(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return Utf16Text.Problem(filter) is { } problem
            ? throw new QuiverException(QuiverErrorCode.BadFilter, $"filter: the text {problem}")
            : filter;
    }

    /// <summary>Fills <c>expr_template_values</c> from filter parameters: bool, integers, floating point, strings, lists of
    /// those (and JSON values of those kinds).</summary>
    public static void AddTemplateValues(
        Google.Protobuf.Collections.MapField<string, Proto.TemplateValue> target, IReadOnlyDictionary<string, object?>? parameters)
    {
        if (parameters is null)
        {
            return;
        }

        foreach (var (name, value) in parameters)
        {
            target[name] = Template(name, AsJson(name, value));
        }
    }

    /// <summary>A parameter's value as JSON, refused (<see cref="QuiverErrorCode.BadFilter"/>, as the engine's binder
    /// refuses it) when a string in it holds an unpaired surrogate: the default writer would put U+FFFD in its place.</summary>
    private static JsonElement AsJson(string name, object? value)
    {
        if (value is JsonElement given)
        {
            return JsonLimits.Problem(given) is { } problem ? throw TemplateError(name, problem) : given;
        }

        try
        {
            return JsonSerializer.SerializeToElement(value, JsonLimits.Serializer);
        }
        catch (InvalidStringException e)
        {
            throw TemplateError(name, e.Message);
        }
    }

    private static QuiverException TemplateError(string name, string problem) =>
        new(QuiverErrorCode.BadFilter, $"filter parameter '{name}': {problem}");

    private static Proto.TemplateValue Template(string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => new Proto.TemplateValue { BoolVal = value.GetBoolean() },
        JsonValueKind.Number when value.TryGetInt64(out var l) => new Proto.TemplateValue { Int64Val = l },
        JsonValueKind.Number => new Proto.TemplateValue { FloatVal = value.GetDouble() },
        JsonValueKind.String => new Proto.TemplateValue { StringVal = value.GetString() },
        JsonValueKind.Array => new Proto.TemplateValue { ArrayVal = TemplateArray(name, value) },
        _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"filter parameter '{name}': {value.ValueKind} values cannot be sent; use a bool, number, string or list"),
    };

    private static Proto.TemplateArrayValue TemplateArray(string name, JsonElement array)
    {
        var items = array.EnumerateArray().ToList();
        var result = new Proto.TemplateArrayValue();
        if (items.All(i => i.ValueKind is JsonValueKind.True or JsonValueKind.False))
        {
            result.BoolData = new Proto.BoolArray();
            result.BoolData.Data.AddRange(items.Select(i => i.GetBoolean()));
        }
        else if (items.All(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out _)))
        {
            result.LongData = new Proto.LongArray();
            result.LongData.Data.AddRange(items.Select(i => i.GetInt64()));
        }
        else if (items.All(i => i.ValueKind == JsonValueKind.Number))
        {
            result.DoubleData = new Proto.DoubleArray();
            result.DoubleData.Data.AddRange(items.Select(i => i.GetDouble()));
        }
        else if (items.All(i => i.ValueKind == JsonValueKind.String))
        {
            result.StringData = new Proto.StringArray();
            result.StringData.Data.AddRange(items.Select(i => i.GetString()!));
        }
        else
        {
            result.JsonData = new Proto.JSONArray();
            result.JsonData.Data.AddRange(items.Select(i => Google.Protobuf.ByteString.CopyFromUtf8(i.GetRawText())));
        }

        return result;
    }

    private static QuiverException KeyError(int index, string problem) =>
        new(QuiverErrorCode.InvalidArgument, $"key {index}: {problem}");
}
