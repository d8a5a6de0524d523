using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Tests.Rest;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests.Security;

/// <summary>Rows a hostile writer sent that the server took or paid too much for (session 37's leftovers), over gRPC and
/// REST: a JSON value as big as the request (Milvus holds at most 65,536 bytes), an array row far over its
/// <c>max_capacity</c> converted element by element before its count was looked at, an array row with no data read as an
/// empty array, and a sparse column with a negative <c>dim</c>. Each is refused with code 1100 and a message naming the
/// row, the field and the rule; the rows next to the edge are stored.</summary>
public sealed class HostileRowTests(HostileRowTests.Server fixture) : IClassFixture<HostileRowTests.Server>
{
    /// <summary>The tagged collection's <c>max_capacity</c>.</summary>
    private const int Capacity = 8;

    /// <summary>A server with <c>notes</c> (Int64 key, JSON <c>meta</c>, dynamic field, 2-d vector), <c>tagged</c>
    /// (Int64 key, Array of Int64 <c>tags</c> and of Float <c>scores</c> of capacity 8, 2-d vector) and <c>sparse</c>
    /// (Int64 key, sparse <c>s</c>).</summary>
    public sealed class Server : IAsyncLifetime
    {
        public TestServer Test { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Test = await TestServer.StartAsync();
            var engine = Test.Server.Engine;
            await engine.CreateCollectionAsync("notes", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.Json("meta"), FieldSchema.Vector("v", 2, MetricType.L2)],
                EnableDynamicField = true,
            });
            await engine.CreateCollectionAsync("tagged", new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id"), FieldSchema.Array("tags", DataType.Int64, Capacity), FieldSchema.Array("scores", DataType.Float, Capacity),
                    FieldSchema.Vector("v", 2, MetricType.L2),
                ],
            });
            await engine.CreateCollectionAsync("sparse", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), new FieldSchema { Name = "s", DataType = DataType.SparseFloatVector, Metric = MetricType.IP }],
            });
        }

        public async Task DisposeAsync() => await Test.DisposeAsync();
    }

    private TestServer Test => fixture.Test;

    /// <summary>A JSON object of exactly <paramref name="bytes"/> UTF-8 bytes: <c>{"a":"xxx..."}</c>.</summary>
    private static string JsonOfBytes(int bytes) => "{\"a\":\"" + new string('x', bytes - 8) + "\"}";

    private static FieldData Vector2(int rows) => Vectors("v", 2, [.. Enumerable.Range(0, rows).Select(i => new[] { (float)i, 1f })]);

    private async Task<Protocol.Common.Status> GrpcInsertAsync(string collection, params FieldData[] columns) =>
        (await Test.Milvus.InsertAsync(new InsertRequest { CollectionName = collection, NumRows = 1, FieldsData = { columns } })).Status;

    private Task<JsonObject> RestInsertAsync(string collection, JsonObject row) =>
        RestFloatCollection.PostAsync(Test, "/entities/insert", new JsonObject { ["collectionName"] = collection, ["data"] = new JsonArray(row) }.ToJsonString());

    private static void AssertRefused(int code, string message, string expected)
    {
        Assert.True(code == 1100, $"code {code}: {message}");
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    private static void AssertRefused(Protocol.Common.Status status, string expected) => AssertRefused(status.Code, status.Reason, expected);

    private static void AssertRefused(JsonObject answer, string expected) =>
        AssertRefused(answer["code"]!.GetValue<int>(), answer["message"]?.GetValue<string>() ?? "", expected);

    private const string TooLarge = "the JSON value is 65,537 bytes, over the limit of 65,536 bytes a JSON value may hold";

    [Fact]
    public async Task Grpc_AJsonValueOverMilvusLimit_IsRefused_AndOneAtTheLimitIsStored()
    {
        AssertRefused(await GrpcInsertAsync("notes", Long("id", 1), Json("meta", JsonOfBytes(65_537)), Vector2(1)), "row 0, field 'meta': " + TooLarge);
        AssertRefused(await GrpcInsertAsync("notes", Long("id", 2), Json("meta", "{}"), Dynamic(JsonOfBytes(65_537)), Vector2(1)), "row 0, field '$meta': " + TooLarge);
        var stored = await GrpcInsertAsync("notes", Long("id", 3), Json("meta", JsonOfBytes(65_536)), Vector2(1));
        Assert.True(stored.Code == 0, stored.Reason);
        var rows = await Test.Server.Engine.QueryAsync("notes", new QueryRequest { Filter = "id in [1, 2, 3]", OutputFields = ["id"] });
        Assert.Equal([3L], rows.Select(r => (long)r["id"]!));
    }

    [Fact]
    public async Task Rest_AJsonValueOverMilvusLimit_IsRefused_AndOneAtTheLimitIsStored()
    {
        AssertRefused(await RestInsertAsync("notes", new JsonObject { ["id"] = 11, ["meta"] = JsonNode.Parse(JsonOfBytes(65_537)), ["v"] = new JsonArray(1, 0) }),
            "row 0, field 'meta': " + TooLarge);
        // An undeclared key goes into the row's dynamic object, which is held to the same limit.
        var refused = await RestInsertAsync("notes", new JsonObject { ["id"] = 12, ["meta"] = new JsonObject(), ["extra"] = new string('x', 70_000), ["v"] = new JsonArray(1, 0) });
        AssertRefused(refused, "row 0, field '$meta': the JSON value is");
        var stored = await RestInsertAsync("notes", new JsonObject { ["id"] = 13, ["meta"] = JsonNode.Parse(JsonOfBytes(65_536)), ["v"] = new JsonArray(1, 0) });
        Assert.True(stored["code"]!.GetValue<int>() == 0, stored.ToJsonString());
        var rows = await Test.Server.Engine.QueryAsync("notes", new QueryRequest { Filter = "id in [11, 12, 13]", OutputFields = ["id"] });
        Assert.Equal([13L], rows.Select(r => (long)r["id"]!));
    }

    /// <summary>An array row over <c>max_capacity</c> whose element just past the capacity is itself bad: refused for its
    /// count, so its elements were never read (before: element by element, the bad element's refusal came first).</summary>
    [Fact]
    public async Task Grpc_AnArrayRowOverMaxCapacity_IsRefusedOnItsCount_BeforeItsElementsAreRead()
    {
        var scores = Enumerable.Repeat(1f, Capacity).Append(float.NaN).ToArray();
        var column = new FieldData
        {
            FieldName = "scores",
            Type = Protocol.Schema.DataType.Array,
            Scalars = new ScalarField { ArrayData = new ArrayArray { ElementType = Protocol.Schema.DataType.Float, Data = { new ScalarField { FloatData = new FloatArray { Data = { scores } } } } } },
        };
        AssertRefused(await GrpcInsertAsync("tagged", Long("id", 1), LongArrays("tags", [1]), column, Vector2(1)),
            $"row 0, field 'scores': array has {Capacity + 1} elements, exceeding max_capacity {Capacity}");
        var atCapacity = await GrpcInsertAsync("tagged", Long("id", 2), LongArrays("tags", [.. Enumerable.Range(0, Capacity).Select(i => (long)i)]),
            FloatArrays("scores", [.. Enumerable.Repeat(1f, Capacity)]), Vector2(1));
        Assert.True(atCapacity.Code == 0, atCapacity.Reason);
    }

    [Fact]
    public async Task Rest_AnArrayRowOverMaxCapacity_IsRefusedOnItsCount_BeforeItsElementsAreRead()
    {
        var tags = new JsonArray([.. Enumerable.Range(0, Capacity).Select(i => (JsonNode?)i), "not a number"]);
        AssertRefused(await RestInsertAsync("tagged", new JsonObject { ["id"] = 11, ["tags"] = tags, ["scores"] = new JsonArray(), ["v"] = new JsonArray(1, 0) }),
            $"row 0, field 'tags': array has {Capacity + 1} elements, exceeding max_capacity {Capacity}");
        var atCapacity = await RestInsertAsync("tagged", new JsonObject
        {
            ["id"] = 12, ["tags"] = new JsonArray([.. Enumerable.Range(0, Capacity).Select(i => (JsonNode?)i)]), ["scores"] = new JsonArray(0.5), ["v"] = new JsonArray(1, 0),
        });
        Assert.True(atCapacity["code"]!.GetValue<int>() == 0, atCapacity.ToJsonString());
    }

    /// <summary>A row of <c>array_data</c> with no element kind set (not even an empty list) was stored as an empty
    /// array; REST has no such form (its null element was refused already).</summary>
    [Fact]
    public async Task Grpc_AnArrayRowWithNoData_IsRefused_AnEmptyListIsStored()
    {
        var column = new FieldData
        {
            FieldName = "tags",
            Type = Protocol.Schema.DataType.Array,
            Scalars = new ScalarField { ArrayData = new ArrayArray { ElementType = Protocol.Schema.DataType.Int64, Data = { new ScalarField() } } },
        };
        AssertRefused(await GrpcInsertAsync("tagged", Long("id", 21), column, FloatArrays("scores", [[]]), Vector2(1)),
            "row 0, field 'tags': the array row holds no data (no element kind is set); an empty array is an empty Int64 list");
        var empty = await GrpcInsertAsync("tagged", Long("id", 22), LongArrays("tags", [[]]), FloatArrays("scores", [[]]), Vector2(1));
        Assert.True(empty.Code == 0, empty.Reason);
        var rows = await Test.Server.Engine.QueryAsync("tagged", new QueryRequest { Filter = "id in [21, 22]", OutputFields = ["id", "tags"] });
        Assert.Equal([22L], rows.Select(r => (long)r["id"]!));
    }

    /// <summary>A sparse column whose <c>dim</c> (the field's or the array's) is negative was stored; REST sends no dim.</summary>
    [Theory]
    [InlineData(-5, 6)]
    [InlineData(6, -5)]
    public async Task Grpc_ASparseColumnWithANegativeDim_IsRefused(long fieldDim, long arrayDim)
    {
        var row = ErrorTableTests.SparsePairs((5, 1f));
        var id = fieldDim < 0 ? 1L : 2L;
        var column = new FieldData
        {
            FieldName = "s",
            Type = Protocol.Schema.DataType.SparseFloatVector,
            Vectors = new VectorField { Dim = fieldDim, SparseFloatVector = new SparseFloatArray { Dim = arrayDim, Contents = { row } } },
        };
        AssertRefused(await GrpcInsertAsync("sparse", Long("id", id), column), "field 's': a sparse vector's dim of -5 is negative");
        column.Vectors.Dim = 6;
        column.Vectors.SparseFloatVector.Dim = 6;
        var stored = await GrpcInsertAsync("sparse", Long("id", id), column);
        Assert.True(stored.Code == 0, stored.Reason);
    }
}
