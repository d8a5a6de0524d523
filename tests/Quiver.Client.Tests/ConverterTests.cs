using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Quiver.Client.Remote;
using Quiver.Protocol.Milvus;
using Quiver.Wire;
using Proto = Quiver.Protocol.Schema;
using WireCommon = Quiver.Protocol.Common;

namespace Quiver.Client.Tests;

/// <summary>The remote client's conversions to and from Milvus messages, without a server.</summary>
public sealed class ConverterTests
{
    private static CollectionSchema AllTypes() => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id", autoId: true),
            FieldSchema.Scalar("flag", DataType.Bool),
            FieldSchema.Scalar("tiny", DataType.Int8),
            FieldSchema.Scalar("small", DataType.Int16),
            FieldSchema.Scalar("count", DataType.Int32, nullable: true),
            FieldSchema.Scalar("big", DataType.Int64),
            FieldSchema.Scalar("price", DataType.Float),
            FieldSchema.Scalar("weight", DataType.Double, nullable: true),
            FieldSchema.VarChar("title", 64, nullable: true),
            new FieldSchema { Name = "rating", DataType = DataType.Int32, DefaultValue = JsonDocument.Parse("3").RootElement },
            new FieldSchema { Name = "label", DataType = DataType.VarChar, MaxLength = 8, DefaultValue = JsonDocument.Parse("\"none\"").RootElement },
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 8, maxLength: 16),
            FieldSchema.Array("scores", DataType.Double, maxCapacity: 4, nullable: true),
            FieldSchema.Vector("embedding", 3, MetricType.IP),
        ],
        EnableDynamicField = true,
        Description = "all",
    };

    [Fact]
    public void Schema_RoundTripsThroughMilvusBytes()
    {
        var schema = AllTypes();
        var bytes = SchemaConverter.ToMilvus("c", schema).ToByteArray();
        var message = Proto.CollectionSchema.Parser.ParseFrom(bytes);
        Assert.Equal("c", message.Name);
        var vector = message.Fields.Single(f => f.Name == "embedding");
        Assert.Equal(Proto.DataType.FloatVector, vector.DataType);
        Assert.Contains(vector.TypeParams, p => p.Key == "dim" && p.Value == "3");
        Assert.Contains(vector.IndexParams, p => p.Key == "metric_type" && p.Value == "IP");
        Assert.Contains(message.Fields.Single(f => f.Name == "title").TypeParams, p => p.Key == "max_length" && p.Value == "64");
        Assert.Equal(3, message.Fields.Single(f => f.Name == "rating").DefaultValue.IntData);

        var back = SchemaConverter.FromMilvus(message);
        Assert.Equal(schema.EnableDynamicField, back.EnableDynamicField);
        Assert.Equal(schema.Description, back.Description);
        Assert.Equal(schema.Fields.Length, back.Fields.Length);
        for (var i = 0; i < schema.Fields.Length; i++)
        {
            var (a, b) = (schema.Fields[i], back.Fields[i]);
            Assert.Equal(a with { DefaultValue = null }, b with { DefaultValue = null });
            Assert.Equal(a.DefaultValue?.GetRawText(), b.DefaultValue?.GetRawText());
        }
    }

    [Fact]
    public void Schema_TextSettings_RoundTripAsMilvusTypeParams()
    {
        var schema = AllTypes() with
        {
            Fields = [.. AllTypes().Fields.Select(f => f.Name == "title"
                ? f with { EnableAnalyzer = true, EnableMatch = true, AnalyzerParams = """{"type":"english"}""" }
                : f)],
        };
        var message = SchemaConverter.ToMilvus("c", schema);
        var title = message.Fields.Single(f => f.Name == "title").TypeParams.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("true", title["enable_analyzer"]);
        Assert.Equal("true", title["enable_match"]);
        Assert.Equal("""{"type":"english"}""", title["analyzer_params"]);
        Assert.Equal(schema.Find("title"), SchemaConverter.FromMilvus(message).Find("title"));
    }

    [Fact]
    public void Schema_FromMilvus_TakesTheMetricFromTheIndexWhenTheFieldStatesNone()
    {
        var message = SchemaConverter.ToMilvus("c", AllTypes());
        var vector = message.Fields.Single(f => f.Name == "embedding");
        vector.IndexParams.Clear();
        message.Fields.Add(new Proto.FieldSchema { Name = "$meta", DataType = Proto.DataType.Json, IsDynamic = true });
        Assert.Equal(MetricType.Cosine, SchemaConverter.FromMilvus(message).Find("embedding")!.Metric);
        var fromIndex = SchemaConverter.FromMilvus(message, new Dictionary<string, MetricType> { ["embedding"] = MetricType.L2 });
        Assert.Equal(MetricType.L2, fromIndex.Find("embedding")!.Metric);
        Assert.Null(fromIndex.Find("$meta"));
    }

    [Fact]
    public void Schema_FromMilvus_UnsupportedType_IsInvalidArgumentNamingTheField()
    {
        var message = SchemaConverter.ToMilvus("c", AllTypes());
        message.Fields.Add(new Proto.FieldSchema { Name = "bits", DataType = (Proto.DataType)999 });
        var e = Assert.Throws<QuiverException>(() => SchemaConverter.FromMilvus(message));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains("'bits'", e.Message, StringComparison.Ordinal);
    }

    private static List<IReadOnlyDictionary<string, object?>> AllTypeRows() =>
    [
        new Row
        {
            ["flag"] = true, ["tiny"] = -8, ["small"] = (short)1000, ["count"] = 5L, ["big"] = long.MinValue, ["price"] = 0.5,
            ["weight"] = 1e300, ["title"] = "héllo", ["rating"] = 4, ["label"] = "x", ["meta"] = """{"k":[1,2]}""",
            ["tags"] = new List<string> { "a" }, ["scores"] = new[] { 1.5, -2.0 }, ["embedding"] = new float[] { 1, 2, 3 },
            ["extra"] = 42, ["$meta"] = JsonDocument.Parse("""{"packed":"yes"}""").RootElement,
        },
        new Row
        {
            ["flag"] = false, ["tiny"] = 127, ["small"] = -1, ["count"] = null, ["big"] = 0, ["price"] = -1f,
            ["tags"] = Array.Empty<string>(), ["embedding"] = new double[] { 0, 0, 1 },
        },
    ];

    /// <summary>What the remote client sends for rows: the engine's checks, then the shared wire writer.</summary>
    private static List<Proto.FieldData> ToColumns(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, bool upsert) =>
        FieldDataWriter.Write(schema, ColumnBatch.FromRows(schema, rows, upsert), NullForm.Compact);

    [Fact]
    public void FieldData_RoundTripsEveryType_WithNullsDefaultsAndDynamicKeys()
    {
        var columns = ToColumns(AllTypes(), AllTypeRows(), upsert: false);
        Assert.DoesNotContain(columns, c => c.FieldName == "id"); // auto_id: the server makes the keys

        // Through the wire, as a QueryResults.
        var message = new QueryResults();
        message.FieldsData.Add(columns);
        var parsed = QueryResults.Parser.ParseFrom(message.ToByteArray());

        var count = parsed.FieldsData.Single(c => c.FieldName == "count");
        Assert.Equal([true, false], count.ValidData);
        Assert.Equal([5], count.Scalars.IntData.Data); // compact: only valid rows carry data
        var meta = parsed.FieldsData.Single(c => c.FieldName == "$meta");
        Assert.True(meta.IsDynamic);
        Assert.Equal(Proto.DataType.Json, meta.Type);
        Assert.Equal(6, parsed.FieldsData.Single(c => c.FieldName == "embedding").Vectors.FloatVector.Data.Count);

        var rows = SearchResultCodec.ReadRows(parsed.FieldsData);
        var (a, b) = (rows[0], rows[1]);
        Assert.Equal(true, a["flag"]);
        Assert.Equal((sbyte)-8, a["tiny"]);
        Assert.Equal((short)1000, a["small"]);
        Assert.Equal(5, a["count"]);
        Assert.Equal(long.MinValue, a["big"]);
        Assert.Equal(0.5f, a["price"]);
        Assert.Equal(1e300, a["weight"]);
        Assert.Equal("héllo", a["title"]);
        Assert.Equal(4, a["rating"]);
        Assert.Equal("x", a["label"]);
        Assert.Equal([1, 2], ((JsonElement)a["meta"]!).GetProperty("k").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["a"], ((JsonElement)a["tags"]!).EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([1.5, -2.0], ((JsonElement)a["scores"]!).EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([1f, 2f, 3f], (float[])a["embedding"]!);
        Assert.Equal(42, ((JsonElement)a["extra"]!).GetInt32());
        Assert.Equal("yes", ((JsonElement)a["packed"]!).GetString());

        Assert.Equal((sbyte)127, b["tiny"]);
        Assert.Null(b["count"]);
        Assert.Null(b["weight"]);
        Assert.Null(b["title"]);
        Assert.Null(b["meta"]);
        Assert.Null(b["scores"]);
        Assert.Equal(3, b["rating"]);   // defaults are filled by the client
        Assert.Equal("none", b["label"]);
        Assert.Equal(-1f, b["price"]);
        Assert.Equal([0f, 0f, 1f], (float[])b["embedding"]!);
        Assert.False(b.ContainsKey("extra"));
    }

    [Fact]
    public void FieldData_FromColumns_ReadsTheDenseNullableForm()
    {
        var column = new Proto.FieldData
        {
            FieldName = "n",
            Type = Proto.DataType.Int16,
            Scalars = new Proto.ScalarField { IntData = new Proto.IntArray { Data = { 1, 0, 3 } } },
            ValidData = { true, false, true },
        };
        var rows = SearchResultCodec.ReadRows([column]);
        Assert.Equal([(object?)(short)1, null, (short)3], rows.Select(r => r["n"]));
    }

    [Fact]
    public void FieldData_Upsert_SendsTheAutoIdKey()
    {
        var rows = AllTypeRows();
        ((Row)rows[0])["id"] = 10L;
        ((Row)rows[1])["id"] = 11;
        var columns = ToColumns(AllTypes(), rows, upsert: true);
        Assert.Equal([10L, 11L], columns.Single(c => c.FieldName == "id").Scalars.LongData.Data);
    }

    [Theory]
    [InlineData("embedding", "dimension")]
    [InlineData("tiny", "Int8")]
    [InlineData("big", "missing required field")]
    public void FieldData_BadValue_IsInvalidArgumentNamingRowAndField(string field, string problem)
    {
        var rows = AllTypeRows();
        object? bad = field switch
        {
            "embedding" => new float[] { 1, 2 },
            "tiny" => 1000,
            _ => null,
        };
        ((Row)rows[1])[field] = bad;
        var e = Assert.Throws<QuiverException>(() => ToColumns(AllTypes(), rows, upsert: false));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
        Assert.Contains($"row 1, field '{field}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void FieldData_UnknownFieldWithoutDynamic_AndSuppliedAutoId_AreRefused()
    {
        var schema = AllTypes() with { EnableDynamicField = false };
        var e = Assert.Throws<QuiverException>(() => ToColumns(schema, AllTypeRows(), upsert: false));
        Assert.Contains("field 'extra'", e.Message, StringComparison.Ordinal);
        var rows = AllTypeRows();
        ((Row)rows[0])["id"] = 1L;
        e = Assert.Throws<QuiverException>(() => ToColumns(AllTypes(), rows, upsert: false));
        Assert.Contains("auto_id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Placeholder_IsFloatVectorLittleEndian_WithTagDollarZero()
    {
        var bytes = Placeholders.Encode([[1.0f, -2.0f]]);
        byte[] inner = [0x0A, 0x02, (byte)'$', (byte)'0', 0x10, 0x65, 0x1A, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0];
        Assert.Equal([0x0A, (byte)inner.Length, .. inner], bytes);

        var (tag, type, vectors) = PlaceholderDecoding.Decode(Placeholders.Encode([[0.25f, 3f, -7.5f], [1f, 2f, 3f]]));
        Assert.Equal("$0", tag);
        Assert.Equal(101, type);
        Assert.Equal([0.25f, 3f, -7.5f], vectors[0]);
        Assert.Equal([1f, 2f, 3f], vectors[1]);
    }

    [Theory]
    [InlineData(100, "collection not found[collection=x]", QuiverErrorCode.NotFound)]
    [InlineData(200, "partition not found", QuiverErrorCode.NotFound)]
    [InlineData(700, "index not found", QuiverErrorCode.NotFound)]
    [InlineData(800, "database not found[database=x]", QuiverErrorCode.NotFound)]
    [InlineData(1100, "invalid parameter: dim", QuiverErrorCode.InvalidArgument)]
    [InlineData(1100, "failed to create query plan: unexpected token '>' at position 6", QuiverErrorCode.BadFilter)]
    [InlineData(1100, "collection 'c' already exists", QuiverErrorCode.AlreadyExists)]
    [InlineData(65535, "duplicate primary key 3: already exists", QuiverErrorCode.AlreadyExists)]
    [InlineData(1102, "topk 20000 is too large", QuiverErrorCode.Capacity)]
    [InlineData(1400, "not authenticated", QuiverErrorCode.Unauthenticated)]
    [InlineData(1800, "user hasn't authenticated", QuiverErrorCode.Unauthenticated)]
    [InlineData(1401, "PrivilegeInsert: permission deny", QuiverErrorCode.PermissionDenied)]
    [InlineData(10, "Unimplemented: GetReplicas", QuiverErrorCode.Unavailable)]
    [InlineData(65535, "internal error", QuiverErrorCode.Unavailable)]
    public void Status_MapsToQuiverErrorCode_KeepingTheReason(int code, string reason, QuiverErrorCode expected)
    {
        var e = Assert.Throws<QuiverServerException>(() => ServerErrors.ThrowIfError(new WireCommon.Status { Code = code, Reason = reason }, "Rpc"));
        Assert.Equal(expected, e.Code);
        Assert.Equal(code, e.ServerCode);
        Assert.Equal(reason, e.Message);
    }

    [Fact]
    public void Status_Success_DoesNotThrow_AndLegacyOnlyCodesAreRead()
    {
        ServerErrors.ThrowIfError(new WireCommon.Status(), "Rpc");
#pragma warning disable CS0612
        var legacy = new WireCommon.Status { ErrorCode = WireCommon.ErrorCode.CollectionNotExists, Reason = "can't find collection" };
#pragma warning restore CS0612
        var e = Assert.Throws<QuiverServerException>(() => ServerErrors.ThrowIfError(legacy, "Rpc"));
        Assert.Equal(QuiverErrorCode.NotFound, e.Code);
        Assert.Equal(100, e.ServerCode);
    }

    [Fact]
    public void Headers_CarryDatabaseAndBase64Credentials_AsMilvusSdksSendThem()
    {
        static string? Get(Grpc.Core.Metadata m, string key) => m.FirstOrDefault(e => e.Key == key)?.Value;
        var userPassword = RemoteQuiverClient.CreateHeaders(new QuiverClientOptions { User = "root", Password = "s3cret", Database = "shop" });
        Assert.Equal("shop", Get(userPassword, "dbname"));
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("root:s3cret")), Get(userPassword, "authorization"));
        var token = RemoteQuiverClient.CreateHeaders(new QuiverClientOptions { Token = "api-key", User = "root", Password = "x" });
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("api-key")), Get(token, "authorization"));
        var none = RemoteQuiverClient.CreateHeaders(new QuiverClientOptions { User = "root" });
        Assert.Null(Get(none, "authorization"));
        Assert.Equal("default", Get(none, "dbname"));
    }

    [Fact]
    public void KeyIn_WritesLiterals_EscapingStrings()
    {
        Assert.Equal("id in [1, -2, 3]", Expressions.KeyIn(FieldSchema.Int64Key("id"), [1L, -2, (short)3]));
        Assert.Equal("""pk in ["a", "say \"hi\"", "back\\slash"]""", Expressions.KeyIn(FieldSchema.VarCharKey("pk", 32), ["a", "say \"hi\"", "back\\slash"]));
        var e = Assert.Throws<QuiverException>(() => Expressions.KeyIn(FieldSchema.VarCharKey("pk", 32), [1L]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
    }

    [Fact]
    public void Search_ToMilvus_FormsTheRequestAsMilvusSdksDo()
    {
        var schema = new RemoteSchema(AllTypes(), new HashSet<string> { "embedding" });
        var request = RemoteQuiverClient.ToMilvus("c", new SearchRequest
        {
            Vectors = [[1, 2, 3]],
            Limit = 5,
            Offset = 2,
            Filter = "big > {min}",
            FilterParams = new Dictionary<string, object?> { ["min"] = 10, ["names"] = new[] { "a", "b" } },
            OutputFields = ["title"],
            Partitions = ["p"],
            Radius = 0.5,
            GroupByField = "title",
            GroupSize = 2,
            SearchParams = new Dictionary<string, string> { ["ef"] = "64" },
        }, schema, "shop");
        var p = request.SearchParams.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("embedding", p["anns_field"]);
        Assert.Equal("5", p["topk"]);
        Assert.Equal("2", p["offset"]);
        Assert.Equal("IP", p["metric_type"]);
        Assert.Equal("title", p["group_by_field"]);
        Assert.Equal("2", p["group_size"]);
        using var json = JsonDocument.Parse(p["params"]);
        Assert.Equal(64, json.RootElement.GetProperty("ef").GetInt32());
        Assert.Equal(0.5, json.RootElement.GetProperty("radius").GetDouble());
        Assert.Equal("shop", request.DbName);
        Assert.Equal(1, request.Nq);
        Assert.Equal("big > {min}", request.Dsl);
        Assert.Equal(10, request.ExprTemplateValues["min"].Int64Val);
        Assert.Equal(["a", "b"], request.ExprTemplateValues["names"].ArrayVal.StringData.Data);
        Assert.Equal([1f, 2f, 3f], PlaceholderDecoding.Decode(request.PlaceholderGroup.Span).Vectors[0]);

        var unstated = RemoteQuiverClient.ToMilvus("c", new SearchRequest { Vectors = [[1, 2, 3]] }, schema with { StatedMetrics = new HashSet<string>() }, null);
        Assert.Equal("", unstated.SearchParams.Single(kv => kv.Key == "metric_type").Value);
        Assert.Equal("", unstated.DbName);
    }

    [Fact]
    public void SearchResults_FromMilvus_SplitsHitsByTopks()
    {
        var data = new Proto.SearchResultData
        {
            NumQueries = 2,
            TopK = 2,
            Topks = { 2, 1 },
            Ids = new Proto.IDs { IntId = new Proto.LongArray { Data = { 7, 3, 9 } } },
            Scores = { 0.9f, 0.5f, 0.8f },
        };
        data.FieldsData.Add(new Proto.FieldData
        {
            FieldName = "title",
            Type = Proto.DataType.VarChar,
            Scalars = new Proto.ScalarField { StringData = new Proto.StringArray { Data = { "g", "c", "i" } } },
        });
        var result = SearchResultCodec.Read(Proto.SearchResultData.Parser.ParseFrom(data.ToByteArray()), 2);
        Assert.Equal([7L, 3L], result.Hits[0].Select(h => h.Id));
        Assert.Equal([9L], result.Hits[1].Select(h => h.Id));
        Assert.Equal(0.5f, result.Hits[0][1].Score);
        Assert.Equal("i", result.Hits[1][0].Fields["title"]);
    }

    [Fact]
    public void Index_ToAndFromMilvus()
    {
        var schema = new RemoteSchema(AllTypes(), new HashSet<string> { "embedding" });
        var request = RemoteQuiverClient.ToMilvus("c", new IndexDefinition
        {
            FieldName = "embedding",
            IndexType = "HNSW",
            Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "200" },
        }, schema, null);
        var extra = request.ExtraParams.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("HNSW", extra["index_type"]);
        Assert.Equal("IP", extra["metric_type"]);
        Assert.Equal("""{"M":16,"efConstruction":200}""", extra["params"]);

        var description = new IndexDescription
        {
            IndexName = "embedding",
            FieldName = "embedding",
            TotalRows = 100,
            IndexedRows = 40,
            State = WireCommon.IndexState.InProgress,
            Params = { request.ExtraParams },
        };
        var info = RemoteQuiverClient.FromMilvus(description);
        Assert.Equal("HNSW", info.IndexType);
        Assert.Equal(MetricType.IP, info.Metric);
        Assert.Equal("16", info.Params["M"]);
        Assert.Equal(0.4, info.Progress, 6);
        Assert.Equal(IndexState.InProgress, info.State);
    }
}
