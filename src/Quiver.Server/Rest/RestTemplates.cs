using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;

namespace Quiver.Server.Rest;

/// <summary>REST v2's <c>exprParams</c> (the values of a filter template such as <c>age &gt; {age}</c>), read into the
/// engine's filter parameters exactly as gRPC's <c>expr_template_values</c> are (<see cref="Milvus.Data.RequestValues.Templates"/>):
/// a bool, an integer (long), a number (double), a string, or an array of them (a list; arrays of arrays nested, an array
/// of mixed kinds or of objects as JSON values). Anything else answers 1801 naming the parameter.</summary>
internal static class RestTemplates
{
    /// <summary>The body's <c>exprParams</c> at <paramref name="path"/> as the engine's filter parameters; null when
    /// absent, null or empty.</summary>
    public static Dictionary<string, object?>? Values(JsonNode? exprParams, string path)
    {
        var values = RestRequest.ObjectOf(exprParams, path);
        if (values is null || values.Count == 0)
        {
            return null;
        }
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, node) in values)
        {
            result[name] = ValueOf(node, $"{path}.{name}");
        }
        return result;
    }

    /// <summary>Adds the body's <c>exprParams</c> at <paramref name="path"/> (absent or null: none) to
    /// <paramref name="into"/> as the wire's template values, for a request still sent as a Milvus message (query,
    /// delete, a cluster node's own gRPC search): <see cref="Values"/> written back, so that both read alike.</summary>
    public static void Add(JsonNode? exprParams, string path, MapField<string, TemplateValue> into)
    {
        foreach (var (name, value) in Values(exprParams, path) ?? [])
        {
            into[name] = value switch
            {
                bool b => new TemplateValue { BoolVal = b },
                long l => new TemplateValue { Int64Val = l },
                double d => new TemplateValue { FloatVal = d },
                string text => new TemplateValue { StringVal = text },
                _ => new TemplateValue { ArrayVal = WireArray((List<object?>)value!) },
            };
        }
    }

    private static object ValueOf(JsonNode? node, string path) => node switch
    {
        JsonArray array => ArrayOf(array, path),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False => value.GetValue<bool>(),
            JsonValueKind.String => RestRequest.TextOf(value, path),
            JsonValueKind.Number when value.TryGetValue<long>(out var integer) => integer,
            JsonValueKind.Number => Finite(value, path),
            _ => throw Unsupported(node, path),
        },
        _ => throw Unsupported(node, path),
    };

    /// <summary>An array of one kind as a list of that kind's values (integers mixed with numbers as numbers), any other
    /// array (mixed kinds, objects, empty) as a list of JSON values.</summary>
    private static List<object?> ArrayOf(JsonArray array, string path)
    {
        var kinds = array.Select(KindOf).Distinct().ToList();
        var kind = kinds switch
        {
            [var only] => only,
            [_, ..] when kinds.All(k => k is Kind.Integer or Kind.Number) => Kind.Number,
            _ => Kind.Json,
        };
        var result = new List<object?>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i];
            result.Add(kind switch
            {
                Kind.Bool => item!.GetValue<bool>(),
                Kind.Integer => item!.GetValue<long>(),
                Kind.Number => Finite(item!.AsValue(), $"{path}[{i}]"),
                Kind.String => RestRequest.TextOf(item!, $"{path}[{i}]"),
                Kind.Array => ArrayOf(item!.AsArray(), $"{path}[{i}]"),
                _ => Json(item ?? throw RestRequest.Format($"{path}[{i}]", "must not be null: a template value is a bool, number, string or array")),
            });
        }
        return result;
    }

    /// <summary>A JSON value of a template array, as the wire's <c>json_data</c> carries it (its compact text) and
    /// <see cref="Milvus.Data.RequestValues.Templates"/> reads it back.</summary>
    private static JsonElement Json(JsonNode item)
    {
        using var document = JsonDocument.Parse(item.ToJsonString());
        return document.RootElement.Clone();
    }

    /// <summary>A list <see cref="ArrayOf"/> read, as the wire's array value of its kind.</summary>
    private static TemplateArrayValue WireArray(List<object?> items) => items switch
    {
        [bool, ..] => new TemplateArrayValue { BoolData = new BoolArray { Data = { items.Cast<bool>() } } },
        [long, ..] => new TemplateArrayValue { LongData = new LongArray { Data = { items.Cast<long>() } } },
        [double, ..] => new TemplateArrayValue { DoubleData = new DoubleArray { Data = { items.Cast<double>() } } },
        [string, ..] => new TemplateArrayValue { StringData = new StringArray { Data = { items.Cast<string>() } } },
        [List<object?>, ..] => new TemplateArrayValue { ArrayData = new TemplateArrayValueArray { Data = { items.Select(i => WireArray((List<object?>)i!)) } } },
        _ => new TemplateArrayValue
        {
            JsonData = new JSONArray { Data = { items.Select(i => ByteString.CopyFrom(Encoding.UTF8.GetBytes(((JsonElement)i!).GetRawText()))) } },
        },
    };

    private enum Kind { Bool, Integer, Number, String, Array, Json }

    private static Kind KindOf(JsonNode? node) => node switch
    {
        JsonArray => Kind.Array,
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False => Kind.Bool,
            JsonValueKind.String => Kind.String,
            JsonValueKind.Number => v.TryGetValue<long>(out _) ? Kind.Integer : Kind.Number,
            _ => Kind.Json,
        },
        _ => Kind.Json,
    };

    private static double Finite(JsonValue value, string path)
    {
        var number = value.GetValue<double>();
        return double.IsFinite(number) ? number : throw RestRequest.Format(path, $"must be a finite number, got {value.ToJsonString()}");
    }

    private static MilvusException Unsupported(JsonNode? node, string path) =>
        RestRequest.Format(path, $"must be a bool, number, string or array (a filter template value), got {RestRequest.KindOf(node)}");
}
