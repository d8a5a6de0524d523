using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Rest;

namespace Quiver.Server.Tests.Rest;

/// <summary>REST calls on a collection of <c>id</c> (Int64 key), <c>tag</c> (Int64, id mod <see cref="Tags"/>) and a FLAT
/// L2 float vector <c>v</c>, for the REST search tests: created, filled with given vectors and loaded, searched with
/// plain float queries, hits checked against brute force.</summary>
internal static class RestFloatCollection
{
    /// <summary>Distinct <c>tag</c> values: row i has tag i mod 37.</summary>
    public const int Tags = 37;

    /// <summary>Creates <paramref name="name"/> with <paramref name="vectors"/> as rows 0..n-1 (all of one dimension),
    /// indexed FLAT L2 and loaded.</summary>
    public static async Task CreateAsync(TestServer server, string name, float[][] vectors)
    {
        var dim = vectors[0].Length.ToString(CultureInfo.InvariantCulture);
        await PostOkAsync(server, "/collections/create", $$$"""
            {"collectionName": "{{{name}}}", "schema": {"fields": [
              {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
              {"fieldName": "tag", "dataType": "Int64"},
              {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": {{{dim}}}}}]},
             "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2", "indexType": "FLAT"}]}
            """);
        var rows = new JsonArray(Enumerable.Range(0, vectors.Length).Select(i => (JsonNode?)new JsonObject
        {
            ["id"] = i,
            ["tag"] = i % Tags,
            ["v"] = Vector(vectors[i]),
        }).ToArray());
        await PostOkAsync(server, "/entities/insert", new JsonObject { ["collectionName"] = name, ["data"] = rows }.ToJsonString());
    }

    /// <summary>A vector as a JSON array of numbers.</summary>
    public static JsonArray Vector(float[] vector) => new(vector.Select(x => (JsonNode?)x).ToArray());

    /// <summary>A search body: <paramref name="queries"/> as <c>data</c>, top-<paramref name="limit"/>, Strong.</summary>
    public static JsonObject SearchBody(string name, IEnumerable<float[]> queries, int limit) => new()
    {
        ["collectionName"] = name,
        ["data"] = new JsonArray(queries.Select(q => (JsonNode?)Vector(q)).ToArray()),
        ["limit"] = limit,
        ["consistencyLevel"] = "Strong",
    };

    /// <summary>The row ids of <paramref name="hits"/> (REST rows with an <c>id</c>, as strings or numbers).</summary>
    public static long[] Ids(JsonArray hits) => [.. hits.Select(h => long.Parse(h!["id"]!.ToString(), CultureInfo.InvariantCulture))];

    /// <summary>Squared L2 distance, as the engine's L2 metric scores.</summary>
    public static float L2(float[] a, float[] b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    /// <summary>The distances of the exact top-<paramref name="k"/> of <paramref name="query"/> over <paramref name="vectors"/>.</summary>
    public static float[] ExactDistances(float[][] vectors, float[] query, int k) =>
        [.. vectors.Select(v => L2(v, query)).Order().Take(k)];

    /// <summary>Posts <paramref name="body"/> to the REST endpoint <paramref name="path"/> (under the v2 prefix).</summary>
    public static async Task<JsonObject> PostAsync(TestServer server, string path, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>As <see cref="PostAsync"/>, asserting code 0.</summary>
    public static async Task<JsonObject> PostOkAsync(TestServer server, string path, string body)
    {
        var answer = await PostAsync(server, path, body);
        Assert.True(answer["code"]!.GetValue<int>() == 0, $"{path}: {answer.ToJsonString()}");
        return answer;
    }
}
