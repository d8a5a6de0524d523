using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Testing;
using Quiver.Wire;

namespace Quiver.Server.Tests.Rest;

/// <summary>REST JSON rows -> engine columns -> REST JSON rows, every field type, as the REST endpoints convert them
/// (Milvus's REST conventions in <see cref="RestRows"/>, the engine columns through <see cref="FieldDataReader"/> and
/// <see cref="FieldDataWriter"/>): every value comes back equal, nulls as nulls, dynamic keys spread into the row.</summary>
public sealed class RestColumnsRoundTripTests
{
    [Fact]
    public void RestRows_ToColumnsAndBack_AreTheSameRows_EveryType()
    {
        var schema = AllTypes.Schema();
        var wire = SchemaConversion.ToProto("c", schema, "default");
        // Through text, as a request body arrives.
        var input = JsonNode.Parse(new JsonArray([.. AllTypes.Rows(seed: 8, count: 30).Select(r => (JsonNode?)ToJson(AllTypes.Expected(schema, r)))])
            .ToJsonString())!.AsArray();

        var batch = FieldDataReader.ReadRequest(schema, RestRows.ToColumns(input, wire, insert: false), (uint)input.Count, "upsert");
        var output = RestRows.ToRows(FieldDataWriter.Write(schema, batch, NullForm.Dense), ["*"], null, null, allowInt64: true);

        Assert.Equal(input.Count, output.Count);
        for (var i = 0; i < input.Count; i++)
        {
            var expected = input[i]!.AsObject();
            var actual = output[i]!.AsObject();
            Assert.Equal(expected.Select(kv => kv.Key).Order(StringComparer.Ordinal), actual.Select(kv => kv.Key).Order(StringComparer.Ordinal));
            foreach (var (key, value) in expected)
            {
                // Milvus's REST API answers a JSON field's value as its JSON text.
                var back = key is "meta" or "doc" && actual[key] is JsonValue text ? JsonNode.Parse(text.GetValue<string>()) : actual[key];
                Assert.True(JsonNode.DeepEquals(value, back), $"row {i}, field {key}: sent {value?.ToJsonString()}, got {back?.ToJsonString()}");
            }
        }
    }

    private static JsonObject ToJson(Row row)
    {
        var json = new JsonObject();
        foreach (var (key, value) in row)
        {
            json[key] = value switch
            {
                null => null,
                JsonElement e => JsonNode.Parse(e.GetRawText()),
                float[] v => new JsonArray([.. v.Select(x => (JsonNode?)JsonValue.Create(x))]),
                _ => JsonSerializer.SerializeToNode(value),
            };
        }

        return json;
    }
}
