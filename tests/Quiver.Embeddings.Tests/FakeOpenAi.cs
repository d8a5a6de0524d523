using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Quiver.Embeddings.Tests;

/// <summary>A small OpenAI-compatible embeddings endpoint on loopback for the tests: it records every request and answers
/// each input text with a vector derived from the text (so tests know what to expect), or with what
/// <see cref="Respond"/> says. Stopped on dispose.</summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeOpenAi(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    /// <summary>Requests received: path, Authorization header, JSON body.</summary>
    public ConcurrentQueue<(string Path, string? Authorization, JsonObject Body)> Requests { get; } = new();

    /// <summary>When set, answers instead of the default: (status, body).</summary>
    public Func<JsonObject, (int Status, string Body)>? Respond { get; set; }

    /// <summary>Delay before answering.</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<FakeOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        FakeOpenAi? fake = null;
        app.MapPost("/v1/embeddings", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            fake!.Requests.Enqueue((http.Request.Path, http.Request.Headers.Authorization.FirstOrDefault(), body));
            if (fake.Delay > TimeSpan.Zero)
            {
                await Task.Delay(fake.Delay, http.RequestAborted);
            }

            var (status, text) = fake.Respond?.Invoke(body) ?? (200, DefaultAnswer(body));
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(text);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake = new FakeOpenAi(app, new Uri(address + "/"));
        return fake;
    }

    /// <summary>The vector the fake gives a text: <paramref name="dim"/> floats from the text's characters.</summary>
    public static float[] VectorOf(string text, int dim)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = text.Length == 0 ? 1 : (text[i % text.Length] % 17) + i;
        }

        return v;
    }

    /// <summary>Data items listed in reverse order with their index, as a service may.</summary>
    private static string DefaultAnswer(JsonObject body)
    {
        var input = body["input"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        var dim = body["dimensions"]?.GetValue<int>() ?? 8;
        var data = new JsonArray();
        for (var i = input.Length - 1; i >= 0; i--)
        {
            data.Add(new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = new JsonArray(VectorOf(input[i], dim).Select(x => (JsonNode?)x).ToArray()),
            });
        }

        return new JsonObject { ["object"] = "list", ["data"] = data, ["model"] = body["model"]?.GetValue<string>() }.ToJsonString();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
