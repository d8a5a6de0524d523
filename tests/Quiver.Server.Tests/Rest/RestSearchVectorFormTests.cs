using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Rest;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// REST v2 search vectors of the byte types in Milvus's two forms: FLOAT16, BFLOAT16 and BINARY queries given all as
/// base64 of their bytes answer exactly what the same queries answer as number arrays, several in one request; a
/// request that mixes the forms (Milvus's REST reads every query's form from the first) is refused 1801 naming the
/// mix, whichever form comes first.
/// </summary>
public sealed class RestSearchVectorFormTests
{
    private static async Task<JsonObject> PostAsync(TestServer server, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static async Task CreateAsync(TestServer server)
    {
        foreach (var (path, body) in new[]
        {
            ("/collections/create", """
                {"collectionName": "forms", "schema": {"fields": [
                  {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
                  {"fieldName": "h", "dataType": "Float16Vector", "elementTypeParams": {"dim": 4}},
                  {"fieldName": "bh", "dataType": "BFloat16Vector", "elementTypeParams": {"dim": 4}},
                  {"fieldName": "b", "dataType": "BinaryVector", "elementTypeParams": {"dim": 16}}]},
                 "indexParams": [
                  {"fieldName": "h", "indexName": "h", "metricType": "L2", "indexType": "FLAT"},
                  {"fieldName": "bh", "indexName": "bh", "metricType": "IP", "indexType": "FLAT"},
                  {"fieldName": "b", "indexName": "b", "metricType": "HAMMING", "indexType": "BIN_FLAT"}]}
                """),
            ("/entities/insert", """
                {"collectionName": "forms", "data": [
                  {"id": 1, "h": [1, 0.5, -2, 0.125], "bh": [1, 0.5, -2, 0.125], "b": [1, 2]},
                  {"id": 2, "h": [0, 1, 0, 1], "bh": [0, 1, 0, 1], "b": [255, 0]},
                  {"id": 3, "h": [-1, -1, 2, 0.25], "bh": [-1, -1, 2, 0.25], "b": [15, 240]}]}
                """),
        })
        {
            var answer = await PostAsync(server, path, body);
            Assert.True(answer["code"]!.GetValue<int>() == 0, $"{path}: {answer.ToJsonString()}");
        }
    }

    private static string Half(float[] v, bool bfloat)
    {
        var bytes = new byte[v.Length * 2];
        for (var i = 0; i < v.Length; i++)
        {
            var bits = bfloat ? (ushort)(BitConverter.SingleToUInt32Bits(v[i]) >> 16) : BitConverter.HalfToUInt16Bits((Half)v[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), bits);
        }
        return Convert.ToBase64String(bytes);
    }

    private static string Search(string field, string data) =>
        $$"""{"collectionName": "forms", "annsField": "{{field}}", "data": {{data}}, "limit": 3, "outputFields": ["id"]}""";

    [Fact]
    public async Task Base64Queries_AnswerAsNumberArrays_AndAMixIsRefusedNamingIt()
    {
        await using var server = await TestServer.StartAsync();
        await CreateAsync(server);
        // Values every type holds exactly, so both forms carry the same bits.
        float[][] queries = [[1, 0.5f, -2, 0.125f], [0.25f, -1, 1, 2]];
        byte[][] bits = [[3, 2], [240, 15]];
        var numbers = new Dictionary<string, string>
        {
            ["h"] = new JsonArray([.. queries.Select(q => new JsonArray([.. q.Select(x => JsonValue.Create(x))]))]).ToJsonString(),
            ["bh"] = new JsonArray([.. queries.Select(q => new JsonArray([.. q.Select(x => JsonValue.Create(x))]))]).ToJsonString(),
            ["b"] = new JsonArray([.. bits.Select(q => new JsonArray([.. q.Select(x => JsonValue.Create((int)x))]))]).ToJsonString(),
        };
        var base64 = new Dictionary<string, string[]>
        {
            ["h"] = [.. queries.Select(q => Half(q, bfloat: false))],
            ["bh"] = [.. queries.Select(q => Half(q, bfloat: true))],
            ["b"] = [.. bits.Select(Convert.ToBase64String)],
        };
        foreach (var field in new[] { "h", "bh", "b" })
        {
            var asNumbers = await PostAsync(server, "/entities/search", Search(field, numbers[field]));
            var asBase64 = await PostAsync(server, "/entities/search", Search(field, new JsonArray([.. base64[field].Select(s => JsonValue.Create(s))]).ToJsonString()));
            Assert.True(asNumbers["code"]!.GetValue<int>() == 0, asNumbers.ToJsonString());
            Assert.True(asBase64["code"]!.GetValue<int>() == 0, asBase64.ToJsonString());
            Assert.Equal("[3,3]", asBase64["topks"]!.ToJsonString());
            Assert.Equal(asNumbers["data"]!.ToJsonString(), asBase64["data"]!.ToJsonString());

            var firstString = await PostAsync(server, "/entities/search", Search(field, $"[\"{base64[field][0]}\", {JsonNode.Parse(numbers[field])![1]!.ToJsonString()}]"));
            Assert.Equal(1801, firstString["code"]!.GetValue<int>());
            Assert.Contains("$.data[1] is an array but $.data[0] is a string: the query vectors of one request take one form", firstString["message"]!.GetValue<string>(), StringComparison.Ordinal);
            var firstArray = await PostAsync(server, "/entities/search", Search(field, $"[{JsonNode.Parse(numbers[field])![0]!.ToJsonString()}, \"{base64[field][1]}\"]"));
            Assert.Equal(1801, firstArray["code"]!.GetValue<int>());
            Assert.Contains("$.data[1] is a string but $.data[0] is an array: the query vectors of one request take one form", firstArray["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }
}
