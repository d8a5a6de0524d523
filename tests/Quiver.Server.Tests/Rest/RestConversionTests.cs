using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using Quiver.Wire;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using WireField = Quiver.Protocol.Schema.FieldSchema;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;
using WireType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Rest;

public sealed class RestConversionTests
{
    private static WireSchema Schema(bool autoId = false, bool dynamic = true)
    {
        var vector = new WireField { FieldID = 101, Name = "vector", DataType = WireType.FloatVector };
        vector.TypeParams.Add(new KeyValuePair { Key = "dim", Value = "2" });
        return new WireSchema
        {
            Name = "c",
            EnableDynamicField = dynamic,
            Fields =
            {
                new WireField { FieldID = 100, Name = "id", DataType = WireType.Int64, IsPrimaryKey = true, AutoID = autoId },
                vector,
                new WireField { FieldID = 102, Name = "age", DataType = WireType.Int32, Nullable = true },
                new WireField { FieldID = 103, Name = "tags", DataType = WireType.Array, ElementType = WireType.VarChar },
            },
        };
    }

    /// <summary>The engine's form of <see cref="Schema"/>.</summary>
    private static CollectionSchema EngineSchema(bool autoId = false, bool dynamic = true) => new()
    {
        Fields =
        [
            Quiver.FieldSchema.Int64Key("id", autoId),
            Quiver.FieldSchema.Vector("vector", 2),
            Quiver.FieldSchema.Scalar("age", Quiver.DataType.Int32, nullable: true),
            Quiver.FieldSchema.Array("tags", Quiver.DataType.VarChar, 8, maxLength: 16),
        ],
        EnableDynamicField = dynamic,
    };

    private static ColumnBatch Read(string json, CollectionSchema schema, bool insert) =>
        MilvusRestV2.ReadRows(schema, JsonDocument.Parse(json).RootElement, insert);

    private static string Write(IReadOnlyList<Quiver.FieldSchema> fields, ColumnBatch batch, IReadOnlyList<string> outputFields,
        FieldColumn? ids, float[]? scores, bool allowInt64)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            RestJsonWriter.WriteRows(writer, fields, batch, outputFields, ids, scores, allowInt64);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Read_RowsWithNullsAndDynamicKeys_BuildsColumns()
    {
        var batch = Read("""
            [{"id": 9007199254740993, "vector": [1, 2.5], "age": 30, "tags": ["a"], "color": "red"},
             {"id": "7", "vector": [0, 0], "age": null, "tags": []}]
            """, EngineSchema(), insert: true);

        Assert.Equal([9007199254740993L, 7L], batch.Find("id")!.Longs!);
        Assert.Equal([1f, 2.5f, 0f, 0f], batch.Find("vector")!.Vectors!);
        var age = batch.Find("age")!;
        Assert.Equal([false, true], age.Nulls!);
        Assert.Equal(30L, age.Longs![0]);
        Assert.Equal("""["a"]""", batch.Find("tags")!.Json![0].GetRawText());
        Assert.Equal("""{"color":"red"}""", batch.Dynamic![0].GetRawText());
        Assert.Equal("{}", batch.Dynamic[1].GetRawText());
    }

    [Fact]
    public void Read_AutoIdInsert_LeavesPrimaryKeyOut()
    {
        var batch = Read("""[{"vector": [1, 2], "tags": []}]""", EngineSchema(autoId: true), insert: true);
        Assert.Null(batch.Find("id"));
    }

    [Theory]
    [InlineData("""[{"id": 1, "vector": [1, 2, 3], "tags": []}]""", "data[0].vector has 3 numbers")]
    [InlineData("""[{"id": 1, "tags": []}]""", "data[0].vector: missing value")]
    [InlineData("""[{"id": 1.5, "vector": [1, 2], "tags": []}]""", "data[0].id")]
    [InlineData("""[{"id": 1, "vector": [1, 2], "tags": [], "age": 3000000000}]""", "data[0].age: 3000000000 is out of range")]
    [InlineData("""[5]""", "data[0] must be a JSON object")]
    [InlineData("""[{"id": 1, "vector": [1, "x"], "tags": []}]""", "data[0].vector[1] must be a number, got string \"x\"")]
    [InlineData("""[{"id": 1, "vector": [1, 2], "tags": [null]}]""", "data[0].tags[0]: arrays cannot hold null")]
    [InlineData("""[{"id": 1, "vector": [1, 2], "tags": "a"}]""", "data[0].tags must be an array of VarChar, got string")]
    [InlineData("""[{"id": 1, "vector": [1, 2], "tags": [], "c": "\uD800"}]""", "data[0]: a string holds an unpaired UTF-16 surrogate escape")]
    public void Read_BadRow_Answers1804NamingTheValue(string json, string expected)
    {
        var e = Assert.Throws<MilvusException>(() => Read(json, EngineSchema(), insert: false));
        Assert.Equal(MilvusCode.InvalidInsertData, e.Code);
        Assert.StartsWith("fail to deal with insert data, error: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownKeyWithoutDynamicField_IsRejected()
    {
        var e = Assert.Throws<MilvusException>(() =>
            Read("""[{"id": 1, "vector": [1, 2], "tags": [], "color": "red"}]""", EngineSchema(dynamic: false), insert: true));
        Assert.Contains("'color' is not in the collection's schema", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRows_SearchHits_FlatRowsWithIdDistanceAndSpreadDynamicKeys()
    {
        var age = Quiver.FieldSchema.Scalar("age", Quiver.DataType.Int64, nullable: true);
        var batch = new ColumnBatch(2)
        {
            Dynamic = [JsonDocument.Parse("""{"color":"red","size":1}""").RootElement, JsonDocument.Parse("{}").RootElement],
        };
        batch.Add(new FieldColumn { Name = "age", Longs = [0, 40], Nulls = [true, false] });
        var ids = new FieldColumn { Name = "id", Longs = [9007199254740993L, 2] };

        Assert.Equal(
            """[{"age":null,"color":"red","id":"9007199254740993","distance":0.5},{"age":"40","id":"2","distance":0.25}]""",
            Write([age], batch, ["age", "color"], ids, [0.5f, 0.25f], allowInt64: false));
        Assert.StartsWith("""[{"age":null,"color":"red","id":9007199254740993,""",
            Write([age], batch, ["age", "color"], ids, [0.5f, 0.25f], allowInt64: true), StringComparison.Ordinal);
        // A field named like the hit's keys holds the hit's value, where the field stands.
        var id = Quiver.FieldSchema.Int64Key("id");
        var keyed = new ColumnBatch(1).Add(new FieldColumn { Name = "id", Longs = [5] });
        Assert.Equal("""[{"id":"5","distance":1}]""", Write([id], keyed, ["id"], new FieldColumn { Name = "id", Longs = [5] }, [1f], allowInt64: false));
    }

    [Fact]
    public void WriteRows_VectorsJsonAndArrays_MilvusShapes()
    {
        Quiver.FieldSchema[] fields =
        [
            Quiver.FieldSchema.Vector("v", 2),
            Quiver.FieldSchema.Json("j"),
            Quiver.FieldSchema.Array("t", Quiver.DataType.Int32, 4),
        ];
        var batch = new ColumnBatch(2)
            .Add(new FieldColumn { Name = "v", Vectors = [1, 2, 3, 4] })
            .Add(new FieldColumn { Name = "j", Json = [JsonDocument.Parse("""{"a":1}""").RootElement, JsonDocument.Parse("[]").RootElement] })
            .Add(new FieldColumn { Name = "t", Json = [JsonDocument.Parse("[1,2]").RootElement, JsonDocument.Parse("[]").RootElement] });
        Assert.Equal("""[{"v":[1,2],"j":"{\u0022a\u0022:1}","t":[1,2]},{"v":[3,4],"j":"[]","t":[]}]""",
            Write(fields, batch, ["v", "j", "t"], null, null, allowInt64: false));
    }

    [Fact]
    public void SparseOf_MapAndIndicesForms_EncodeSortedPairs()
    {
        var (bytes, dim) = RestVectors.SparseOf(JsonNode.Parse("""{"7": 0.5, "2": 1}""")!, "$.v");
        var (same, _) = RestVectors.SparseOf(JsonNode.Parse("""{"indices": [7, 2], "values": [0.5, 1]}""")!, "$.v");
        Assert.Equal(8, dim);
        Assert.Equal(16, bytes.Length);
        Assert.Equal(2u, BitConverter.ToUInt32(bytes.AsSpan(0, 4)));
        Assert.Equal(bytes, same);
    }

    [Fact]
    public void ToPlaceholderGroup_FloatVectors_EncodesTagTypeAndValues()
    {
        var field = Schema().Fields[1];
        var group = RestVectors.ToPlaceholderGroup(JsonNode.Parse("[[1, 2], [3, 4]]")!.AsArray(), field, textInput: false, "$.data");
        // Decode by hand: group field 1 (placeholder) -> tag "$0", type 101, two 8-byte values.
        var input = new Google.Protobuf.CodedInputStream(group.ToByteArray());
        Assert.Equal(10u, input.ReadTag());
        var value = new Google.Protobuf.CodedInputStream(input.ReadBytes().ToByteArray());
        Assert.Equal(10u, value.ReadTag());
        Assert.Equal("$0", value.ReadString());
        Assert.Equal(16u, value.ReadTag());
        Assert.Equal(101, value.ReadEnum());
        Assert.Equal(26u, value.ReadTag());
        Assert.Equal(2f, BitConverter.ToSingle(value.ReadBytes().Span[4..8]));
        Assert.Equal(26u, value.ReadTag());
        Assert.Equal(3f, BitConverter.ToSingle(value.ReadBytes().Span[..4]));

        var e = Assert.Throws<MilvusException>(() =>
            RestVectors.ToPlaceholderGroup(JsonNode.Parse("[[1, 2, 3]]")!.AsArray(), field, textInput: false, "$.data"));
        Assert.Equal(MilvusCode.IncorrectParameterFormat, e.Code);
        Assert.Contains("$.data[0] has 3 numbers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeJson_PrintsMilvusFields()
    {
        var described = new DescribeCollectionResponse
        {
            CollectionName = "c",
            CollectionID = 5,
            ShardsNum = 1,
            ConsistencyLevel = Quiver.Protocol.Common.ConsistencyLevel.Bounded,
            Schema = Schema(autoId: true),
        };
        described.Schema.Fields.Add(new WireField { FieldID = 104, Name = "$meta", DataType = WireType.Json, IsDynamic = true });
        var json = MilvusRestV2.DescribeJson(described, "LoadStateLoaded", [], []);
        Assert.Equal("c", json["collectionName"]!.GetValue<string>());
        Assert.True(json["autoId"]!.GetValue<bool>());
        Assert.Equal("Bounded", json["consistencyLevel"]!.GetValue<string>());
        var fields = json["fields"]!.AsArray();
        Assert.Equal(4, fields.Count);
        Assert.Equal("FloatVector", fields[1]!["type"]!.GetValue<string>());
        Assert.Equal("""[{"key":"dim","value":"2"}]""", fields[1]!["params"]!.ToJsonString());
        Assert.Equal("VarChar", fields[3]!["elementType"]!.GetValue<string>());
        Assert.True(fields[2]!["nullable"]!.GetValue<bool>());
    }

    [Fact]
    public void IdFilter_Int64AndVarCharKeys()
    {
        Assert.Equal("id in [1,9007199254740993]", MilvusRestV2.IdFilter(EngineSchema(), JsonNode.Parse("""[1, "9007199254740993"]""")!));
        var schema = new CollectionSchema { Fields = [Quiver.FieldSchema.VarCharKey("pk", 16), Quiver.FieldSchema.Vector("v", 2)] };
        Assert.Equal("pk in [\"a\\\"b\"]", MilvusRestV2.IdFilter(schema, JsonNode.Parse("\"a\\\"b\"")!));
    }
}
