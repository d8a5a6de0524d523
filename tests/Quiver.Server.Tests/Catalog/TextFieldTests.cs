using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using Quiver.TextAnalysis;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Schema = Quiver.Protocol.Schema;

namespace Quiver.Server.Tests.Catalog;

/// <summary>Analyzed VarChar fields over the wire: enable_analyzer, analyzer_params and enable_match round-trip through
/// create and describe (gRPC and REST), are refused where Milvus refuses them, and RunAnalyzer answers with the
/// engine's analyzer (field or params), UTF-8 offsets and Milvus's token hash.</summary>
public sealed class TextFieldTests
{
    private const string EnglishParams = """{"type":"english","stop_words":["_english_","fox"]}""";

    private static Schema.FieldSchema Field(string name, Schema.DataType type, params (string Key, string Value)[] typeParams)
    {
        var f = new Schema.FieldSchema { Name = name, DataType = type };
        foreach (var (k, v) in typeParams)
            f.TypeParams.Add(new KeyValuePair { Key = k, Value = v });
        return f;
    }

    private static CreateCollectionRequest Create(string name, params Schema.FieldSchema[] extra)
    {
        var schema = new Schema.CollectionSchema { Name = name };
        schema.Fields.Add(new Schema.FieldSchema { Name = "id", DataType = Schema.DataType.Int64, IsPrimaryKey = true });
        schema.Fields.Add(Field("vec", Schema.DataType.FloatVector, ("dim", "2")));
        schema.Fields.Add(extra);
        return new CreateCollectionRequest { CollectionName = name, Schema = schema.ToByteString() };
    }

    private static Schema.FieldSchema TextField() => Field("text", Schema.DataType.VarChar,
        ("max_length", "256"), ("enable_analyzer", "True"), ("analyzer_params", EnglishParams), ("enable_match", "true"));

    [Fact]
    public async Task CreateDescribe_RoundTripsTheTextSettings_OverGrpcAndRest()
    {
        await using var server = await TestServer.StartAsync();
        var status = await server.Milvus.CreateCollectionAsync(Create("docs", TextField(), Field("plain", Schema.DataType.VarChar, ("max_length", "8"))));
        Assert.True(status.Code == 0, status.Reason);

        var described = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "docs" });
        var text = described.Schema.Fields.Single(f => f.Name == "text");
        var pairs = text.TypeParams.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("true", pairs["enable_analyzer"]);
        Assert.Equal("true", pairs["enable_match"]);
        Assert.Equal(EnglishParams, pairs["analyzer_params"]);
        var plain = described.Schema.Fields.Single(f => f.Name == "plain");
        Assert.DoesNotContain(plain.TypeParams, p => p.Key is "enable_analyzer" or "enable_match" or "analyzer_params");

        // REST: elementTypeParams in, params out.
        var body = new JsonObject
        {
            ["collectionName"] = "rest",
            ["schema"] = new JsonObject
            {
                ["fields"] = new JsonArray(
                    new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
                    new JsonObject { ["fieldName"] = "vec", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = 2 } },
                    new JsonObject
                    {
                        ["fieldName"] = "text",
                        ["dataType"] = "VarChar",
                        ["elementTypeParams"] = new JsonObject
                        {
                            ["max_length"] = 100,
                            ["enable_analyzer"] = true,
                            ["enable_match"] = true,
                            ["analyzer_params"] = new JsonObject { ["tokenizer"] = "standard", ["filter"] = new JsonArray("lowercase") },
                        },
                    }),
            },
        };
        Assert.Equal(0, (await PostAsync(server, "/collections/create", body))["code"]!.GetValue<int>());
        var restDescribed = await PostAsync(server, "/collections/describe", new JsonObject { ["collectionName"] = "rest" });
        var restText = restDescribed["data"]!["fields"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == "text")!;
        var restPairs = restText["params"]!.AsArray().ToDictionary(p => p!["key"]!.GetValue<string>(), p => p!["value"]!.GetValue<string>());
        Assert.Equal("true", restPairs["enable_analyzer"]);
        Assert.Equal("true", restPairs["enable_match"]);
        Assert.Equal("""{"tokenizer":"standard","filter":["lowercase"]}""", restPairs["analyzer_params"]);
    }

    private static async Task<JsonNode> PostAsync(TestServer server, string path, JsonObject body)
    {
        using var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative),
            new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!;
    }

    [Theory]
    [InlineData("n", Schema.DataType.Int64, "enable_analyzer", "true", "field 'n': enable_analyzer is only allowed on VarChar fields")]
    [InlineData("s", Schema.DataType.VarChar, "enable_match", "true", "field 's': enable_match needs enable_analyzer set to true")]
    [InlineData("s", Schema.DataType.VarChar, "enable_analyzer", "yes", "field 's': type param enable_analyzer 'yes' is not a boolean")]
    public async Task Create_TextSettingsWhereNotAllowed_Are1100(string name, Schema.DataType type, string key, string value, string message)
    {
        await using var server = await TestServer.StartAsync();
        var field = type == Schema.DataType.VarChar ? Field(name, type, ("max_length", "8"), (key, value)) : Field(name, type, (key, value));
        var status = await server.Milvus.CreateCollectionAsync(Create("bad", field));
        Assert.Equal(1100, status.Code);
        Assert.Contains(message, status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_InvalidAnalyzerParams_Is1100NamingFieldAndProblem()
    {
        await using var server = await TestServer.StartAsync();
        var field = Field("s", Schema.DataType.VarChar, ("max_length", "8"), ("enable_analyzer", "true"), ("analyzer_params", """{"tokenizer":"icu"}"""));
        var status = await server.Milvus.CreateCollectionAsync(Create("bad", field));
        Assert.Equal(1100, status.Code);
        Assert.Contains("field 's': invalid analyzer_params: tokenizer \"icu\" is not supported", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAnalyzer_WithParams_GivesTokensOffsetsPositionsAndHashes()
    {
        await using var server = await TestServer.StartAsync();
        var request = new RunAnalyzerRequest { AnalyzerParams = """{"type":"english"}""", WithDetail = true, WithHash = true };
        request.Placeholder.Add(ByteString.CopyFromUtf8("Café runners are RUNNING"));
        request.Placeholder.Add(ByteString.CopyFromUtf8(""));
        var response = await server.Milvus.RunAnalyzerAsync(request);
        Assert.True(response.Status.Code == 0, response.Status.Reason);
        Assert.Equal(2, response.Results.Count);
        var tokens = response.Results[0].Tokens;
        Assert.Equal(["café", "runner", "run"], tokens.Select(t => t.Token));
        Assert.Equal([0L, 1, 3], tokens.Select(t => t.Position));
        // "Café" is 5 UTF-8 bytes: the next token starts at byte 6, not char 5.
        Assert.Equal([(0L, 5L), (6L, 13L), (18L, 25L)], tokens.Select(t => (t.StartOffset, t.EndOffset)));
        Assert.All(tokens, t => Assert.Equal(TermHash.Of(t.Token), t.Hash));
        Assert.Empty(response.Results[1].Tokens);

        // Without detail or hash, only the token text.
        var plain = await server.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { Placeholder = { ByteString.CopyFromUtf8("Hello World") } });
        Assert.Equal(["hello", "world"], plain.Results[0].Tokens.Select(t => t.Token));
        Assert.All(plain.Results[0].Tokens, t => Assert.Equal(0u, t.Hash));
    }

    [Fact]
    public async Task RunAnalyzer_OnAField_UsesTheFieldsAnalyzer_AndRefusesFieldsWithout()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Equal(0, (await server.Milvus.CreateCollectionAsync(Create("docs", TextField(), Field("plain", Schema.DataType.VarChar, ("max_length", "8"))))).Code);
        var onField = await server.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest
        {
            CollectionName = "docs",
            FieldName = "text",
            Placeholder = { ByteString.CopyFromUtf8("The quick fox jumped") },
        });
        Assert.True(onField.Status.Code == 0, onField.Status.Reason);
        Assert.Equal(["quick", "jump"], onField.Results[0].Tokens.Select(t => t.Token)); // "fox" is one of the field's stop words

        var without = await server.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { CollectionName = "docs", FieldName = "plain", Placeholder = { ByteString.CopyFromUtf8("x") } });
        Assert.Equal(1100, without.Status.Code);
        Assert.Contains("field 'plain' has no analyzer", without.Status.Reason, StringComparison.Ordinal);

        var missing = await server.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { CollectionName = "nope", FieldName = "text" });
        Assert.Equal(100, missing.Status.Code);

        var bad = await server.Milvus.RunAnalyzerAsync(new RunAnalyzerRequest { AnalyzerParams = """{"tokenizer":"jieba"}""" });
        Assert.Equal(1100, bad.Status.Code);
        Assert.Contains("tokenizer \"jieba\" is not supported", bad.Status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TextMatch_OverGrpcQuery_FiltersRows()
    {
        await using var server = await TestServer.StartAsync();
        var schema = new CollectionSchema
        {
            Fields =
            [
                FieldSchema.Int64Key("id"), FieldSchema.Vector("vec", 2),
                FieldSchema.VarChar("text", 100) with { EnableAnalyzer = true, EnableMatch = true },
            ],
        };
        await server.CreateLoadedCollectionAsync("docs", schema);
        await server.Server.Engine.InsertAsync("docs",
        [
            new Row { ["id"] = 1L, ["vec"] = new float[] { 1, 0 }, ["text"] = "Vector databases store embeddings" },
            new Row { ["id"] = 2L, ["vec"] = new float[] { 0, 1 }, ["text"] = "Databases of vectors" },
            new Row { ["id"] = 3L, ["vec"] = new float[] { 1, 1 }, ["text"] = "store vector" },
        ]);
        async Task<long[]> Ids(string expr)
        {
            var r = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = expr, OutputFields = { "id" } });
            Assert.True(r.Status.Code == 0, r.Status.Reason);
            return [.. r.FieldsData.Single(f => f.FieldName == "id").Scalars.LongData.Data.Order()];
        }
        Assert.Equal(new long[] { 1, 3 }, await Ids("TEXT_MATCH(text, 'vector')"));
        Assert.Equal(new long[] { 1, 2, 3 }, await Ids("TEXT_MATCH(text, 'vector vectors')"));
        Assert.Equal(new long[] { 1 }, await Ids("PHRASE_MATCH(text, 'vector databases')"));
        Assert.Equal(new long[] { 1, 3 }, await Ids("PHRASE_MATCH(text, 'store vector', 3)"));
        var refused = await server.Milvus.QueryAsync(new Protocol.Milvus.QueryRequest { CollectionName = "docs", Expr = "TEXT_MATCH(id, 'x')" });
        Assert.Equal(1100, refused.Status.Code);
    }
}
