using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
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

    [Fact]
    public void ToColumns_RowsWithNullsAndDynamicKeys_BuildsColumns()
    {
        var rows = JsonNode.Parse("""
            [{"id": 9007199254740993, "vector": [1, 2.5], "age": 30, "tags": ["a"], "color": "red"},
             {"id": "7", "vector": [0, 0], "age": null, "tags": []}]
            """)!.AsArray();
        var columns = RestRows.ToColumns(rows, Schema(), insert: true);

        var id = columns.Single(c => c.FieldName == "id");
        Assert.Equal([9007199254740993L, 7L], id.Scalars.LongData.Data);
        Assert.Equal([1f, 2.5f, 0f, 0f], columns.Single(c => c.FieldName == "vector").Vectors.FloatVector.Data);
        var age = columns.Single(c => c.FieldName == "age");
        Assert.Equal([true, false], age.ValidData);
        Assert.Equal([30], age.Scalars.IntData.Data);
        Assert.Equal("a", columns.Single(c => c.FieldName == "tags").Scalars.ArrayData.Data[0].StringData.Data[0]);
        var meta = columns.Single(c => c.IsDynamic);
        Assert.Equal("$meta", meta.FieldName);
        Assert.Equal("""{"color":"red"}""", meta.Scalars.JsonData.Data[0].ToStringUtf8());
        Assert.Equal("{}", meta.Scalars.JsonData.Data[1].ToStringUtf8());
    }

    [Fact]
    public void ToColumns_AutoIdInsert_LeavesPrimaryKeyOut()
    {
        var rows = JsonNode.Parse("""[{"vector": [1, 2], "tags": []}]""")!.AsArray();
        var columns = RestRows.ToColumns(rows, Schema(autoId: true), insert: true);
        Assert.DoesNotContain(columns, c => c.FieldName == "id");
    }

    [Theory]
    [InlineData("""[{"id": 1, "vector": [1, 2, 3], "tags": []}]""", "data[0].vector has 3 numbers")]
    [InlineData("""[{"id": 1, "tags": []}]""", "data[0].vector: missing value")]
    [InlineData("""[{"id": 1.5, "vector": [1, 2], "tags": []}]""", "data[0].id")]
    [InlineData("""[{"id": 1, "vector": [1, 2], "tags": [], "age": 3000000000}]""", "data[0].age: 3000000000 is out of range")]
    [InlineData("""[5]""", "data[0] must be a JSON object")]
    public void ToColumns_BadRow_Answers1804NamingTheValue(string json, string expected)
    {
        var e = Assert.Throws<MilvusException>(() => RestRows.ToColumns(JsonNode.Parse(json)!.AsArray(), Schema(), insert: false));
        Assert.Equal(MilvusCode.InvalidInsertData, e.Code);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToColumns_UnknownKeyWithoutDynamicField_IsRejected()
    {
        var rows = JsonNode.Parse("""[{"id": 1, "vector": [1, 2], "tags": [], "color": "red"}]""")!.AsArray();
        var e = Assert.Throws<MilvusException>(() => RestRows.ToColumns(rows, Schema(dynamic: false), insert: true));
        Assert.Contains("'color' is not in the collection's schema", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToRows_SearchResults_FlatRowsWithIdDistanceAndSpreadDynamicKeys()
    {
        var results = new SearchResultData
        {
            NumQueries = 1,
            TopK = 2,
            Ids = new IDs { IntId = new LongArray { Data = { 9007199254740993L, 2 } } },
            Scores = { 0.5f, 0.25f },
            OutputFields = { "age", "color" },
            Topks = { 2 },
            FieldsData =
            {
                new FieldData
                {
                    FieldName = "age", Type = WireType.Int64, ValidData = { false, true },
                    Scalars = new ScalarField { LongData = new LongArray { Data = { 40 } } },
                },
                new FieldData
                {
                    FieldName = "$meta", Type = WireType.Json, IsDynamic = true,
                    Scalars = new ScalarField { JsonData = new JSONArray { Data = { Google.Protobuf.ByteString.CopyFromUtf8("""{"color":"red","size":1}"""), Google.Protobuf.ByteString.CopyFromUtf8("{}") } } },
                },
            },
        };
        var rows = RestRows.ToRows(results.FieldsData, results.OutputFields, results.Ids, results.Scores, allowInt64: false);
        Assert.Equal(
            """[{"age":null,"color":"red","id":"9007199254740993","distance":0.5},{"age":"40","id":"2","distance":0.25}]""",
            rows.ToJsonString());

        var numbers = RestRows.ToRows(results.FieldsData, results.OutputFields, results.Ids, results.Scores, allowInt64: true);
        Assert.Equal(9007199254740993L, numbers[0]!["id"]!.GetValue<long>());
    }

    [Fact]
    public void ToRows_VectorsJsonAndArrays_MilvusShapes()
    {
        var columns = new List<FieldData>
        {
            new() { FieldName = "v", Type = WireType.FloatVector, Vectors = new VectorField { Dim = 2, FloatVector = new FloatArray { Data = { 1, 2, 3, 4 } } } },
            new() { FieldName = "j", Type = WireType.Json, Scalars = new ScalarField { JsonData = new JSONArray { Data = { Google.Protobuf.ByteString.CopyFromUtf8("""{"a":1}"""), Google.Protobuf.ByteString.CopyFromUtf8("[]") } } } },
            new()
            {
                FieldName = "t", Type = WireType.Array,
                Scalars = new ScalarField { ArrayData = new ArrayArray { Data = { new ScalarField { IntData = new IntArray { Data = { 1, 2 } } }, new ScalarField { IntData = new IntArray() } } } },
            },
        };
        var rows = RestRows.ToRows(columns, ["v", "j", "t"], null, null, allowInt64: false);
        Assert.Equal("""[{"v":[1,2],"j":"{\u0022a\u0022:1}","t":[1,2]},{"v":[3,4],"j":"[]","t":[]}]""", rows.ToJsonString());
    }

    [Fact]
    public void SparseOf_MapAndIndicesForms_EncodeSortedPairs()
    {
        var (bytes, dim) = RestRows.SparseOf(JsonNode.Parse("""{"7": 0.5, "2": 1}""")!, "$.v");
        var (same, _) = RestRows.SparseOf(JsonNode.Parse("""{"indices": [7, 2], "values": [0.5, 1]}""")!, "$.v");
        Assert.Equal(8, dim);
        Assert.Equal(16, bytes.Length);
        Assert.Equal(2u, BitConverter.ToUInt32(bytes.Span[..4]));
        Assert.Equal(bytes, same);
    }

    [Fact]
    public void ToPlaceholderGroup_FloatVectors_EncodesTagTypeAndValues()
    {
        var field = Schema().Fields[1];
        var group = RestRows.ToPlaceholderGroup(JsonNode.Parse("[[1, 2], [3, 4]]")!.AsArray(), field, textInput: false, "$.data");
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
            RestRows.ToPlaceholderGroup(JsonNode.Parse("[[1, 2, 3]]")!.AsArray(), field, textInput: false, "$.data"));
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
        Assert.Equal("id in [1,9007199254740993]", MilvusRestV2.IdFilter(Schema(), JsonNode.Parse("""[1, "9007199254740993"]""")!));
        var schema = new WireSchema { Fields = { new WireField { Name = "pk", DataType = WireType.VarChar, IsPrimaryKey = true } } };
        Assert.Equal("pk in [\"a\\\"b\"]", MilvusRestV2.IdFilter(schema, JsonNode.Parse("\"a\\\"b\"")!));
    }
}
