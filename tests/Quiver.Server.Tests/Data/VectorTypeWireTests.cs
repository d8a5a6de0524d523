using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Data.Columns;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Data;

/// <summary>FLOAT16, BFLOAT16, INT8 and BINARY vectors over gRPC and REST v2: a collection created over each wire, rows
/// inserted as Milvus's bytes (gRPC) or as numbers and base64 (REST) come back as the same bytes over both, searches name
/// <c>anns_field</c> and score as a brute-force oracle over the decoded values, and wrong input answers a Milvus code.</summary>
public sealed class VectorTypeWireTests
{
    private static readonly (string Name, ProtoType Type, int Dim)[] Fields =
        [("h", ProtoType.Float16Vector, 4), ("bh", ProtoType.Bfloat16Vector, 4), ("i", ProtoType.Int8Vector, 4), ("b", ProtoType.BinaryVector, 16)];

    private static readonly byte[][] H = [Half(1, 0.5, -2, 0), Half(0.25, 0.25, 0.25, 0.25), Half(-1, -1, 3, 1)];
    private static readonly byte[][] Bh = [Bf(1, 2, 3, 4), Bf(-1, 0.5, 0, 0), Bf(0, 0, 0, 8)];
    private static readonly byte[][] I = [[1, 2, 3, 4], [0xFF, 0x80, 0x7F, 0], [10, 20, 30, 40]];
    private static readonly byte[][] B = [[0x00, 0x00], [0xFF, 0x0F], [0xAA, 0x55]];

    /// <summary>A vector column whose <c>dim</c> is 0 though its bytes fit the schema's dimension is refused, as Milvus's
    /// proxy refuses it (<c>CheckAligned</c>: the data's dim must equal the schema's), and nothing is written.</summary>
    [Theory]
    [InlineData("h")]
    [InlineData("bh")]
    [InlineData("i")]
    [InlineData("b")]
    public async Task Grpc_DimZeroWithRightLengthBytes_IsRefusedAsMilvusRefusesIt(string zeroed)
    {
        await using var server = await TestServer.StartAsync();
        await CreateOverGrpcAsync(server, "t");
        var columns = new[] { Column("h", H), Column("bh", Bh), Column("i", I), Column("b", B) };
        var target = columns.Single(c => c.FieldName == zeroed);
        var schemaDim = target.Vectors.Dim;
        target.Vectors.Dim = 0;
        var inserted = await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "t", NumRows = 3, FieldsData = { Long("id", 0, 1, 2), columns } });
        Assert.Equal(1100, inserted.Status.Code);
        Assert.Contains($"the dim (0) of field data ({zeroed}) is not equal to schema dim ({schemaDim})", inserted.Status.Reason, StringComparison.Ordinal);
        Assert.Equal(0, server.Server.Engine.CountRows("t"));
    }

    [Fact]
    public async Task Grpc_InsertBytes_QueryBackSameBytes_SearchEachFieldByAnnsField()
    {
        await using var server = await TestServer.StartAsync();
        await CreateOverGrpcAsync(server, "t");
        var inserted = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "t",
            NumRows = 3,
            FieldsData = { Long("id", 0, 1, 2), Column("h", H), Column("bh", Bh), Column("i", I), Column("b", B) },
        });
        Assert.Equal(0, inserted.Status.Code);
        await IndexAndLoadAsync(server, "t");

        var q = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "t", Expr = "id >= 0", OutputFields = { "h", "bh", "i", "b" } });
        Assert.Equal(0, q.Status.Code);
        var ids = q.FieldsData.Get("id").Scalars.LongData.Data.ToArray();
        Assert.Equal(Concat(ids, H), q.FieldsData.Get("h").Vectors.Float16Vector.ToByteArray());
        Assert.Equal(Concat(ids, Bh), q.FieldsData.Get("bh").Vectors.Bfloat16Vector.ToByteArray());
        Assert.Equal(Concat(ids, I), q.FieldsData.Get("i").Vectors.Int8Vector.ToByteArray());
        Assert.Equal(Concat(ids, B), q.FieldsData.Get("b").Vectors.BinaryVector.ToByteArray());
        Assert.Equal(16, q.FieldsData.Get("b").Vectors.Dim);

        // Each field searched by anns_field with a query of its own type; scores as the oracle computes them.
        var h = await SearchAsync(server, "h", Protocol.Common.PlaceholderType.Float16Vector, Half(1, 0.5, -2, 0.125), "L2");
        Assert.Equal(0L, h.Ids.IntId.Data[0]);
        Assert.Equal(0.015625f, h.Scores[0]);
        var i = await SearchAsync(server, "i", Protocol.Common.PlaceholderType.Int8Vector, [10, 20, 30, 41], "L2");
        Assert.Equal(2L, i.Ids.IntId.Data[0]);
        Assert.Equal(1f, i.Scores[0]);
        var b = await SearchAsync(server, "b", Protocol.Common.PlaceholderType.BinaryVector, [0xFF, 0x0E], "HAMMING");
        Assert.Equal([1L, 2L, 0L], b.Ids.IntId.Data);
        Assert.Equal([1f, 9f, 11f], b.Scores);

        // Search by primary key takes the row's own vector: BINARY and FLOAT16 rows each find themselves at distance 0.
        foreach (var (field, metric) in new[] { ("b", "HAMMING"), ("h", "L2") })
        {
            var byKey = Search(field, Protocol.Common.PlaceholderType.None, [], metric);
            byKey.Ids = new IDs { IntId = new LongArray { Data = { 1 } } };
            var found = await server.Milvus.SearchAsync(byKey);
            Assert.True(found.Status.Code == 0, found.Status.Reason);
            Assert.Equal((1L, 0f), (found.Results.Ids.IntId.Data[0], found.Results.Scores[0]));
        }

        // A placeholder of another type, or of the wrong byte length, is refused naming it.
        var wrongType = await SearchStatusAsync(server, "h", Protocol.Common.PlaceholderType.FloatVector, new byte[16], "L2");
        Assert.Equal(1100, wrongType.Code);
        Assert.Contains("does not match field 'h'", wrongType.Reason, StringComparison.Ordinal);
        var wrongLength = await SearchStatusAsync(server, "b", Protocol.Common.PlaceholderType.BinaryVector, [1, 2, 3], "HAMMING");
        Assert.Equal(1100, wrongLength.Code);
        Assert.Contains("has 3 bytes", wrongLength.Reason, StringComparison.Ordinal);
        var wrongMetric = await SearchStatusAsync(server, "b", Protocol.Common.PlaceholderType.BinaryVector, [1, 2], "L2");
        Assert.Equal(1100, wrongMetric.Code);

        var badInsert = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "t",
            NumRows = 1,
            FieldsData = { Long("id", 9), Column("h", [new byte[7]]), Column("bh", [Bh[0]]), Column("i", [I[0]]), Column("b", [B[0]]) },
        });
        Assert.Equal(1100, badInsert.Status.Code);
        Assert.Contains("carries 7 bytes for 1 rows", badInsert.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rest_InsertNumbersAndBase64_QueryBackSameBytes()
    {
        await using var server = await TestServer.StartAsync();
        var fields = new JsonArray(new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true });
        foreach (var (n, type, dim) in Fields)
        {
            fields.Add(new JsonObject { ["fieldName"] = n, ["dataType"] = RestSchema.DataTypeName(type), ["elementTypeParams"] = new JsonObject { ["dim"] = dim } });
        }

        var created = await PostAsync(server, "/collections/create", new JsonObject { ["collectionName"] = "r", ["schema"] = new JsonObject { ["fields"] = fields } });
        Assert.True(created["code"]!.GetValue<int>() == 0, created.ToJsonString());
        var data = new JsonArray();
        for (var r = 0; r < 3; r++)
        {
            // Row 0 as numbers (the SDK's number form), rows 1 and 2 as base64 of the wire bytes.
            data.Add(new JsonObject
            {
                ["id"] = r,
                ["h"] = r == 0 ? Numbers([1, 0.5, -2, 0]) : Convert.ToBase64String(H[r]),
                ["bh"] = r == 0 ? Numbers([1, 2, 3, 4]) : Convert.ToBase64String(Bh[r]),
                ["i"] = Numbers([.. I[r].Select(x => (double)(sbyte)x)]),
                ["b"] = r == 0 ? Numbers([0, 0]) : Convert.ToBase64String(B[r]),
            });
        }

        var inserted = await PostAsync(server, "/entities/insert", new JsonObject { ["collectionName"] = "r", ["data"] = data });
        Assert.Equal(0, inserted["code"]!.GetValue<int>());
        await IndexAndLoadAsync(server, "r");
        var queried = await PostAsync(server, "/entities/query", new JsonObject
        {
            ["collectionName"] = "r", ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("h", "bh", "i", "b"), ["limit"] = 10,
        });
        Assert.Equal(0, queried["code"]!.GetValue<int>());
        foreach (var row in queried["data"]!.AsArray())
        {
            var id = long.Parse(row!["id"]!.ToString(), CultureInfo.InvariantCulture);
            Assert.Equal(H[id], Convert.FromBase64String(row["h"]!.GetValue<string>()));
            Assert.Equal(Bh[id], Convert.FromBase64String(row["bh"]!.GetValue<string>()));
            Assert.Equal(B[id], Convert.FromBase64String(row["b"]!.GetValue<string>()));
            Assert.Equal(I[id].Select(x => (int)(sbyte)x), row["i"]!.AsArray().Select(x => x!.GetValue<int>()));
        }

        var searched = await PostAsync(server, "/entities/search", new JsonObject
        {
            ["collectionName"] = "r", ["annsField"] = "b", ["data"] = new JsonArray(Numbers([255, 14])), ["limit"] = 3,
        });
        Assert.Equal(0, searched["code"]!.GetValue<int>());
        Assert.Equal([1f, 9f, 11f], searched["data"]!.AsArray().Select(h => h!["distance"]!.GetValue<float>()));

        var bad = await PostAsync(server, "/entities/insert", new JsonObject
        {
            ["collectionName"] = "r",
            ["data"] = new JsonArray(new JsonObject { ["id"] = 7, ["h"] = Numbers([1, 2, 3, 4]), ["bh"] = Numbers([1, 2, 3, 4]), ["i"] = Numbers([1, 2, 300, 4]), ["b"] = Numbers([1, 2]) }),
        });
        Assert.NotEqual(0, bad["code"]!.GetValue<int>());
        Assert.Contains("-128..127", bad["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task CreateOverGrpcAsync(TestServer server, string name)
    {
        var schema = new Protocol.Schema.CollectionSchema { Name = name };
        schema.Fields.Add(new Protocol.Schema.FieldSchema { FieldID = 100, Name = "id", DataType = ProtoType.Int64, IsPrimaryKey = true });
        foreach (var (n, type, dim) in Fields)
        {
            var f = new Protocol.Schema.FieldSchema { Name = n, DataType = type };
            f.TypeParams.Add(new KeyValuePair { Key = "dim", Value = dim.ToString(CultureInfo.InvariantCulture) });
            schema.Fields.Add(f);
        }

        var created = await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = name, Schema = schema.ToByteString() });
        Assert.Equal(0, created.Code);
    }

    private static async Task IndexAndLoadAsync(TestServer server, string name)
    {
        foreach (var (field, type, metric) in new (string, string, string)[] { ("h", "HNSW", "L2"), ("bh", "IVF_FLAT", "IP"), ("i", "HNSW", "L2"), ("b", "BIN_FLAT", "") })
        {
            var request = new CreateIndexRequest { CollectionName = name, FieldName = field, ExtraParams = { new KeyValuePair { Key = "index_type", Value = type } } };
            if (metric.Length > 0)
            {
                request.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = metric });
            }

            var status = await server.Milvus.CreateIndexAsync(request);
            Assert.True(status.Code == 0, status.Reason);
        }

        Assert.Equal(0, (await server.Milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = name })).Code);
    }

    private static Protocol.Milvus.SearchRequest Search(string field, Protocol.Common.PlaceholderType type, byte[] query, string metric)
    {
        var placeholder = new Protocol.Common.PlaceholderValue { Tag = "$0", Type = type, Values = { ByteString.CopyFrom(query) } };
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = "t",
            Nq = 1,
            DslType = Protocol.Common.DslType.BoolExprV1,
            PlaceholderGroup = new Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString(),
            SearchParams = { Kv("anns_field", field), Kv("topk", "3"), Kv("params", "{}"), Kv("metric_type", metric) },
        };
        return request;
    }

    private static async Task<SearchResultData> SearchAsync(TestServer server, string field, Protocol.Common.PlaceholderType type, byte[] query, string metric)
    {
        var result = await server.Milvus.SearchAsync(Search(field, type, query, metric));
        Assert.True(result.Status.Code == 0, result.Status.Reason);
        return result.Results;
    }

    private static async Task<Protocol.Common.Status> SearchStatusAsync(TestServer server, string field, Protocol.Common.PlaceholderType type, byte[] query, string metric) =>
        (await server.Milvus.SearchAsync(Search(field, type, query, metric))).Status;

    private static KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };

    private static FieldData Column(string name, byte[][] rows)
    {
        var (_, type, dim) = Fields.Single(f => f.Name == name);
        var bytes = ByteString.CopyFrom([.. rows.SelectMany(r => r)]);
        var v = new VectorField { Dim = dim };
        switch (type)
        {
            case ProtoType.Float16Vector:
                v.Float16Vector = bytes;
                break;
            case ProtoType.Bfloat16Vector:
                v.Bfloat16Vector = bytes;
                break;
            case ProtoType.Int8Vector:
                v.Int8Vector = bytes;
                break;
            default:
                v.BinaryVector = bytes;
                break;
        }

        return new FieldData { FieldName = name, Type = type, Vectors = v };
    }

    private static byte[] Concat(long[] ids, byte[][] rows) => [.. ids.SelectMany(id => rows[id])];

    private static byte[] Half(params double[] values) =>
        [.. values.SelectMany(x => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((System.Half)x)))];

    private static byte[] Bf(params double[] values) =>
        [.. values.SelectMany(x => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits((float)x) >> 16)))];

    private static JsonArray Numbers(double[] values) => new([.. values.Select(x => (JsonNode?)JsonValue.Create(x))]);

    private static async Task<JsonObject> PostAsync(TestServer server, string path, JsonObject body)
    {
        using var response = await server.Http.PostAsJsonAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), body);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
