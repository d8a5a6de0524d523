using System.Text.Json.Nodes;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using WireFunction = Quiver.Protocol.Schema.FunctionSchema;
using WireFunctionType = Quiver.Protocol.Schema.FunctionType;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Server.Rest;

/// <summary>The <c>schema.functions</c> of a REST v2 create: <c>{"name", "type": "TextEmbedding", "inputFieldNames":
/// [...], "outputFieldNames": [...], "params": {...}}</c>, as Milvus's REST API takes them (snake_case names too).
/// Output fields are marked <c>is_function_output</c>, as the SDKs mark them.</summary>
internal static class RestFunctions
{
    /// <summary>Adds the functions of <paramref name="schema"/>, if any, to <paramref name="result"/>.</summary>
    public static void AddTo(WireSchema result, JsonObject schema)
    {
        if (schema["functions"] is null)
        {
            return;
        }

        var functions = schema["functions"] as JsonArray ?? throw RestRequest.Format("$.schema.functions", "must be an array");
        for (var i = 0; i < functions.Count; i++)
        {
            var path = $"$.schema.functions[{i}]";
            var f = RestRequest.ObjectOf(functions[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
            var typeName = RestRequest.StringOf(f["type"], path + ".type") ?? throw RestRequest.Missing($"schema.functions[{i}].type", "string");
            var wire = new WireFunction
            {
                Name = RestRequest.StringOf(f["name"], path + ".name") ?? throw RestRequest.Missing($"schema.functions[{i}].name", "string"),
                Description = RestRequest.StringOf(f["description"], path + ".description") ?? "",
                Type = Enum.TryParse<WireFunctionType>(typeName, ignoreCase: true, out var type) && Enum.IsDefined(type)
                    ? type
                    : throw RestRequest.Format(path + ".type", $"unknown function type '{typeName}' (TextEmbedding, BM25)"),
            };
            wire.InputFieldNames.AddRange(Names(f["inputFieldNames"] ?? f["input_field_names"], path + ".inputFieldNames"));
            wire.OutputFieldNames.AddRange(Names(f["outputFieldNames"] ?? f["output_field_names"], path + ".outputFieldNames"));
            if (RestRequest.ObjectOf(f["params"], path + ".params") is { } parameters)
            {
                foreach (var (key, value) in parameters)
                {
                    wire.Params.Add(new KeyValuePair { Key = key, Value = RestRequest.ParamText(value) });
                }
            }

            result.Functions.Add(wire);
            foreach (var field in result.Fields)
            {
                field.IsFunctionOutput |= wire.OutputFieldNames.Contains(field.Name);
            }
        }
    }

    private static IEnumerable<string> Names(JsonNode? node, string path) =>
        node is JsonArray array
            ? array.Select((n, j) => RestRequest.StringOf(n, $"{path}[{j}]") ?? throw RestRequest.Format($"{path}[{j}]", "must be a field name"))
            : throw RestRequest.Format(path, "must be an array of field names");
}
