using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Rest;
using static Quiver.Server.Tests.Data.Columns;
using ProtoType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>One test per bug the wire fuzzer found: each answered code 65535 (internal error) before its fix.</summary>
public sealed class WireFuzzRegressionTests
{
    /// <summary>A JSON value whose member name is not UTF-8: <c>{"\xff\xfe":1}</c>.</summary>
    private static readonly byte[] _notUtf8 = [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d];

    private static async Task<TestServer> StartWithJsonCollectionAsync()
    {
        var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Json("meta", nullable: true), FieldSchema.Vector("vec", 2, MetricType.L2)],
            EnableDynamicField = true,
        });
        return server;
    }

    private static async Task<JsonObject> PostAsync(TestServer server, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Inserts one row whose JSON column (<paramref name="field"/>, or the dynamic field) holds
    /// <see cref="_notUtf8"/>.</summary>
    private static async Task<Protocol.Common.Status> InsertNotUtf8Async(string field, bool dynamic)
    {
        await using var server = await StartWithJsonCollectionAsync();
        var json = new FieldData
        {
            FieldName = field,
            Type = ProtoType.Json,
            IsDynamic = dynamic,
            Scalars = new ScalarField { JsonData = new JSONArray { Data = { ByteString.CopyFrom(_notUtf8) } } },
        };
        var inserted = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "docs",
            NumRows = 1,
            FieldsData = { Long("id", 1), Vectors("vec", 2, [1, 2]), json },
        });
        return inserted.Status;
    }

    [Theory]
    [InlineData("$meta", true)]
    [InlineData("meta", false)]
    public async Task Insert_JsonThatIsNotUtf8_Answers1100(string field, bool dynamic)
    {
        var status = await InsertNotUtf8Async(field, dynamic);
        Assert.Equal(1100, status.Code);
        Assert.Contains("UTF-8", status.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task Delete_FilterTemplateThatIsNotFinite_Answers1100(double value)
    {
        await using var server = await StartWithJsonCollectionAsync();
        var deleted = await server.Milvus.DeleteAsync(new DeleteRequest
        {
            CollectionName = "docs",
            Expr = "id > {x}",
            ExprTemplateValues = { ["x"] = new TemplateValue { FloatVal = value } },
        });
        Assert.Equal(1100, deleted.Status.Code);
        Assert.Contains("'x'", deleted.Status.Reason, StringComparison.Ordinal);
    }

    /// <summary>Creates collection <c>c</c> of an Int64 key <c>id</c> and <paramref name="fields"/> over gRPC.</summary>
    private static async Task<Protocol.Common.Status> CreateAsync(TestServer server, params Protocol.Schema.FieldSchema[] fields) =>
        await server.Milvus.CreateCollectionAsync(new CreateCollectionRequest
        {
            CollectionName = "c",
            Schema = new Protocol.Schema.CollectionSchema
            {
                Name = "c",
                Fields = { new Protocol.Schema.FieldSchema { Name = "id", DataType = ProtoType.Int64, IsPrimaryKey = true }, fields },
            }.ToByteString(),
        });

    [Theory]
    [InlineData(ProtoType.Float)]
    [InlineData(ProtoType.Double)]
    public async Task CreateCollection_DefaultValueThatIsNotFinite_Answers1100(ProtoType type)
    {
        await using var server = await TestServer.StartAsync();
        var field = new Protocol.Schema.FieldSchema
        {
            Name = "score",
            DataType = type,
            DefaultValue = type == ProtoType.Float ? new ValueField { FloatData = float.PositiveInfinity } : new ValueField { DoubleData = double.NaN },
        };
        var vector = new Protocol.Schema.FieldSchema { Name = "vec", DataType = ProtoType.FloatVector, TypeParams = { Kv("dim", "2") } };
        var created = await CreateAsync(server, field, vector);
        Assert.Equal(1100, created.Code);
        Assert.Contains("score", created.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestCreateCollection_FloatDefaultBeyondFloatRange_Answers1100()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await PostAsync(server, "/collections/create",
            "{\"collectionName\":\"c\",\"schema\":{\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true}," +
            "{\"fieldName\":\"score\",\"dataType\":\"Float\",\"defaultValue\":1e308},{\"fieldName\":\"vec\",\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":2}}]}}");
        Assert.Equal(1100, answer["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task RestCreateCollection_Int32DefaultBeyondInt32_Answers1801()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await PostAsync(server, "/collections/create",
            "{\"collectionName\":\"c\",\"schema\":{\"fields\":[{\"fieldName\":\"id\",\"dataType\":\"Int64\",\"isPrimary\":true}," +
            "{\"fieldName\":\"n\",\"dataType\":\"Int32\",\"defaultValue\":9999999999},{\"fieldName\":\"vec\",\"dataType\":\"FloatVector\",\"elementTypeParams\":{\"dim\":2}}]}}");
        Assert.Equal(1801, answer["code"]!.GetValue<int>());
        Assert.Contains("defaultValue", answer["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dim")]
    [InlineData("max_length")]
    public async Task CreateCollection_TypeParamGivenTwice_Answers1100(string key)
    {
        await using var server = await TestServer.StartAsync();
        var vector = new Protocol.Schema.FieldSchema { Name = "vec", DataType = ProtoType.FloatVector, TypeParams = { Kv("dim", "2") } };
        var text = new Protocol.Schema.FieldSchema { Name = "text", DataType = ProtoType.VarChar, TypeParams = { Kv("max_length", "8") } };
        (key == "dim" ? vector : text).TypeParams.Add(Kv(key, "4"));
        var created = await CreateAsync(server, text, vector);
        Assert.Equal(1100, created.Code);
        Assert.Contains(key, created.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insert_ArrayElementThatIsNotFinite_Answers1100()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Array("nums", Quiver.DataType.Int64, 4), FieldSchema.Vector("vec", 2, MetricType.L2)],
        });
        var arrays = new ArrayArray { ElementType = ProtoType.Float };
        arrays.Data.Add(new ScalarField { FloatData = new FloatArray { Data = { float.NaN } } });
        var inserted = await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "docs",
            NumRows = 1,
            FieldsData = { Long("id", 1), Vectors("vec", 2, [1, 2]), new FieldData { FieldName = "nums", Type = ProtoType.Array, Scalars = new ScalarField { ArrayData = arrays } } },
        });
        Assert.Equal(1100, inserted.Status.Code);
        Assert.Contains("nums", inserted.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_JsonTemplateThatIsNotJson_Answers1100()
    {
        await using var server = await StartWithJsonCollectionAsync();
        var template = new TemplateValue
        {
            ArrayVal = new TemplateArrayValue { JsonData = new JSONArray { Data = { ByteString.CopyFromUtf8("{") } } },
        };
        var queried = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest
        {
            CollectionName = "docs",
            Expr = "meta in {x}",
            ExprTemplateValues = { ["x"] = template },
            QueryParams = { Kv("limit", "10") },
        });
        Assert.Equal(1100, queried.Status.Code);
        Assert.Contains("'x'", queried.Status.Reason, StringComparison.Ordinal);
    }

    /// <summary>Search by primary keys with one key twice (two queries of the same vector), and with an empty
    /// <c>ids</c> message.</summary>
    [Fact]
    public async Task Search_ByKeysRepeatedOrEmpty_AnswersASpecificCode()
    {
        await using var server = await StartWithJsonCollectionAsync();
        var inserted = await server.Milvus.InsertAsync(new InsertRequest { CollectionName = "docs", NumRows = 1, FieldsData = { Long("id", 7), Vectors("vec", 2, [1, 2]) } });
        Assert.Equal(0, inserted.Status.Code);
        Protocol.Milvus.SearchRequest Search(IDs ids) => new()
        {
            CollectionName = "docs",
            Ids = ids,
            SearchParams = { Kv("anns_field", "vec"), Kv("topk", "1") },
        };

        var repeated = await server.Milvus.SearchAsync(Search(new IDs { IntId = new LongArray { Data = { 7, 7 } } }));
        Assert.Equal(0, repeated.Status.Code);
        Assert.Equal([1L, 1L], repeated.Results.Topks);

        var empty = await server.Milvus.SearchAsync(Search(new IDs()));
        Assert.Equal(1100, empty.Status.Code);
    }

    /// <summary>JSON allows an escaped lone surrogate (<c>"\uD83D"</c>), which is no valid string: a parameter holding
    /// one is 1801, a row value holding one is 1804, each naming where.</summary>
    [Fact]
    public async Task Rest_StringWithUnpairedSurrogate_AnswersFormatErrors()
    {
        await using var server = await StartWithJsonCollectionAsync();
        var described = await PostAsync(server, "/collections/describe", "{\"collectionName\":\"docs\\uD83D\"}");
        Assert.Equal(1801, described["code"]!.GetValue<int>());
        Assert.Contains("$.collectionName", described["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var inserted = await PostAsync(server, "/entities/insert", "{\"collectionName\":\"docs\",\"data\":[{\"id\":1,\"vec\":[1,2],\"meta\":{},\"note\":\"\\uDE00\"}]}");
        Assert.NotEqual(65535, inserted["code"]!.GetValue<int>());
        Assert.NotEqual(0, inserted["code"]!.GetValue<int>());

        var dropped = await PostAsync(server, "/collections/drop_properties", "{\"collectionName\":\"docs\",\"propertyKeys\":[\"\\uD83Dx\"]}");
        Assert.Equal(1801, dropped["code"]!.GetValue<int>());
    }
}
