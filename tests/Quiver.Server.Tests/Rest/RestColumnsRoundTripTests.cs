using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Testing;
using Quiver.Wire;

namespace Quiver.Server.Tests.Rest;

/// <summary>REST JSON rows -> engine columns -> REST JSON rows, every field type, as the REST endpoints convert them
/// (<see cref="RestJsonReader"/> in, <see cref="RestJsonWriter"/> out): every value comes back equal, nulls as nulls,
/// dynamic keys spread into the row; straight, and through the engine (insert, then get by key and query).</summary>
public sealed class RestColumnsRoundTripTests
{
    private static readonly CollectionSchema Schema = AllTypes.Schema();

    /// <summary>Rows as a request body carries them (through text), with every value the engine would fill in.</summary>
    private static JsonArray Input(int seed, int count) =>
        JsonNode.Parse(new JsonArray([.. AllTypes.Rows(seed, count).Select(r => (JsonNode?)ToJson(AllTypes.Expected(Schema, r)))])
            .ToJsonString())!.AsArray();

    private static JsonArray Output(ColumnBatch batch)
    {
        var fields = batch.Columns.Select(c => Schema.Find(c.Name)).OfType<FieldSchema>().ToList();
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RestJsonWriter.WriteRows(writer, fields, batch, ["*"], null, null, allowInt64: true);
        }
        return JsonNode.Parse(buffer.WrittenSpan)!.AsArray();
    }

    [Fact]
    public void RestRows_ToColumnsAndBack_AreTheSameRows_EveryType()
    {
        var input = Input(seed: 8, count: 30);
        var batch = RestJsonReader.Read(Schema, JsonDocument.Parse(input.ToJsonString()).RootElement, insert: false);
        AssertSameRows(input, Output(batch));
    }

    [Fact]
    public async Task RestRows_ThroughTheEngine_ComeBackEqual_EveryType()
    {
        using var dir = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { BackgroundMaintenance = false });
        await engine.CreateCollectionAsync("c", Schema);
        var input = Input(seed: 21, count: 40);
        await engine.InsertAsync("c", RestJsonReader.Read(Schema, JsonDocument.Parse(input.ToJsonString()).RootElement, insert: true));

        var keys = input.Select(r => (object)r!["id"]!.GetValue<long>()).ToList();
        AssertSameRows(input, Output(await engine.GetColumnsAsync("c", keys, ["*"])));
        await engine.FlushAsync("c");
        AssertSameRows(input, Output(await engine.GetColumnsAsync("c", keys, ["*"])));

        // Fields with a default left out, or sent as null, take the default; nullable fields left out are null.
        var sparse = input[0]!.AsObject().DeepClone().AsObject();
        sparse["id"] = 1_000_000;
        sparse.Remove("label");
        sparse["rating"] = null;
        sparse.Remove("title");
        await engine.InsertAsync("c", RestJsonReader.Read(Schema, JsonDocument.Parse(new JsonArray(sparse).ToJsonString()).RootElement, insert: true));
        var back = Output(await engine.GetColumnsAsync("c", [1_000_000L], ["*"]))[0]!;
        Assert.Equal("none", back["label"]!.GetValue<string>());
        Assert.Equal(3, back["rating"]!.GetValue<int>());
        Assert.Null(back["title"]);
    }

    private static void AssertSameRows(JsonArray input, JsonArray output)
    {
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
