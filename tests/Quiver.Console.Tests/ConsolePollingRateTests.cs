using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>
/// The reads the console repeats while something runs (a tool's progress, the index panel's build progress, the health
/// charts' metrics, the import jobs' list marked as a poll) are not counted against <c>Security:RequestsPerSecondPerUser</c>, as Milvus limits only DDL, DML,
/// search and query requests and never a progress read; those requests still are. A rate of one call per 100 s with a
/// burst of one makes "counted" visible at the second call whatever the machine's speed.
/// </summary>
public sealed class ConsolePollingRateTests
{
    private const string RootPassword = "Polling-Root-1";

    [Fact]
    public async Task ConsolePolls_AreNotCountedAgainstThePerUserRate_WhileQueriesStillAre()
    {
        using var folder = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = folder.Sub("data"),
            Port = 0,
            Security = { AuthEnabled = true, RootPassword = RootPassword, RequestsPerSecondPerUser = 0.01 },
        });
        // Made through the engine: no call of the user's is spent on it.
        await server.Engine.CreateCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("vector", 4, MetricType.L2)],
        });
        await server.Engine.CreateIndexAsync("docs", new IndexDefinition { FieldName = "vector", IndexType = "FLAT" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "root:" + RootPassword);

        for (var look = 0; look < 10; look++)
        {
            foreach (var path in new[] { "/console/api/progress?run=some-run", "/console/api/indexes?collection=docs", "/console/api/metrics" })
            {
                var answer = await GetAsync(http, path);
                Assert.True(answer["code"]!.GetValue<int>() == 0, $"look {look} at {path}: {answer.ToJsonString()}");
            }
        }

        // The import page's list of jobs, marked as its poll, neither.
        for (var look = 0; look < 10; look++)
        {
            var answer = await PostAsync(http, "/v2/vectordb/jobs/import/list", new JsonObject(), poll: true);
            Assert.True(answer["code"]!.GetValue<int>() == 0, $"look {look} at the import jobs: {answer.ToJsonString()}");
        }

        // The calls Milvus's limiter counts still are, marked as a poll or not: the first query passes, the second finds the
        // bucket empty (code 8, retriable). Reads of metadata are not counted (docs/server-security.md), so the session
        // and a describe pass with the bucket empty, and so does the import list when not marked.
        var first = await PostAsync(http, "/v2/vectordb/entities/query", new JsonObject { ["collectionName"] = "docs", ["filter"] = "id > 0" });
        Assert.True(first["code"]!.GetValue<int>() != 8, first.ToJsonString());
        var limited = await PostAsync(http, "/v2/vectordb/entities/query", new JsonObject { ["collectionName"] = "docs", ["filter"] = "id > 0" }, poll: true);
        Assert.Equal(8, limited["code"]!.GetValue<int>());
        Assert.StartsWith("rate limit exceeded", limited["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, (await GetAsync(http, "/console/api/session"))["code"]!.GetValue<int>());
        Assert.Equal(0, (await PostAsync(http, "/v2/vectordb/collections/describe", new JsonObject { ["collectionName"] = "docs" }))["code"]!.GetValue<int>());
        Assert.Equal(0, (await PostAsync(http, "/v2/vectordb/jobs/import/list", new JsonObject()))["code"]!.GetValue<int>());
        // And the polls still pass with the bucket empty.
        Assert.Equal(0, (await GetAsync(http, "/console/api/indexes?collection=docs"))["code"]!.GetValue<int>());
        Assert.Equal(0, (await PostAsync(http, "/v2/vectordb/jobs/import/list", new JsonObject(), poll: true))["code"]!.GetValue<int>());
    }

    private static async Task<JsonObject> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>A REST call; <paramref name="poll"/> marks it as the console marks its progress reads.</summary>
    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body, bool poll = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (poll)
        {
            request.Headers.Add("X-Quiver-Console-Poll", "1");
        }
        using var response = await http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
