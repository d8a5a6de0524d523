using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;

namespace Quiver.Server.Rest;

/// <summary>REST v2's <c>exprParams</c> (the values of a filter template such as <c>age &gt; {age}</c>) as the wire's
/// template values, so that REST query, search and delete bind templates exactly as gRPC's
/// <c>expr_template_values</c> do: a bool, an integer, a number, a string, or an array of them (arrays of arrays and of
/// objects too). Anything else answers 1801 naming the parameter.</summary>
internal static class RestTemplates
{
    /// <summary>Adds the body's <c>exprParams</c> at <paramref name="path"/> (absent or null: none) to
    /// <paramref name="into"/>.</summary>
    public static void Add(JsonNode? exprParams, string path, MapField<string, TemplateValue> into)
    {
        var values = RestRequest.ObjectOf(exprParams, path);
        if (values is null)
        {
            return;
        }
        foreach (var (name, node) in values)
        {
            into[name] = ValueOf(node, $"{path}.{name}");
        }
    }

    private static TemplateValue ValueOf(JsonNode? node, string path) => node switch
    {
        JsonArray array => new TemplateValue { ArrayVal = ArrayOf(array, path) },
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False => new TemplateValue { BoolVal = value.GetValue<bool>() },
            JsonValueKind.String => new TemplateValue { StringVal = RestRequest.TextOf(value, path) },
            JsonValueKind.Number when value.TryGetValue<long>(out var integer) => new TemplateValue { Int64Val = integer },
            JsonValueKind.Number => new TemplateValue { FloatVal = Finite(value, path) },
            _ => throw Unsupported(node, path),
        },
        _ => throw Unsupported(node, path),
    };

    private static TemplateArrayValue ArrayOf(JsonArray array, string path)
    {
        var kinds = array.Select(KindOf).Distinct().ToList();
        var kind = kinds switch
        {
            [var only] => only,
            [_, ..] when kinds.All(k => k is Kind.Integer or Kind.Number) => Kind.Number,
            _ => Kind.Json,
        };
        var result = new TemplateArrayValue();
        switch (kind)
        {
            case Kind.Bool:
                result.BoolData = new BoolArray { Data = { array.Select(n => n!.GetValue<bool>()) } };
                break;
            case Kind.Integer:
                result.LongData = new LongArray { Data = { array.Select(n => n!.GetValue<long>()) } };
                break;
            case Kind.Number:
                result.DoubleData = new DoubleArray { Data = { array.Select((n, i) => Finite(n!.AsValue(), $"{path}[{i}]")) } };
                break;
            case Kind.String:
                result.StringData = new StringArray { Data = { array.Select((n, i) => RestRequest.TextOf(n!, $"{path}[{i}]")) } };
                break;
            case Kind.Array:
                result.ArrayData = new TemplateArrayValueArray { Data = { array.Select((n, i) => ArrayOf(n!.AsArray(), $"{path}[{i}]")) } };
                break;
            default:
                var json = new JSONArray();
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is null)
                    {
                        throw RestRequest.Format($"{path}[{i}]", "must not be null: a template value is a bool, number, string or array");
                    }
                    json.Data.Add(ByteString.CopyFrom(Encoding.UTF8.GetBytes(array[i]!.ToJsonString())));
                }
                result.JsonData = json;
                break;
        }
        return result;
    }

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
