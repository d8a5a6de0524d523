using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests;

/// <summary>The refusals of the web console's own endpoints (docs/errors.md): advise and tune (<c>Plain</c> runs without
/// the toolbox; <c>Small</c> has it, as <c>quiver serve</c> does; a server with mutual TLS started for its case), their
/// progress, and the per-segment index detail.</summary>
public sealed partial class ErrorTableTests
{
    /// <summary>A console endpoint's answer: <paramref name="body"/> null is a GET.</summary>
    private static Task<Answer> ConsoleAsync(TestServer server, string path, string? body) => ConsoleAsync(server.Http, path, body);

    /// <summary>A console endpoint's answer through <paramref name="http"/>.</summary>
    private static async Task<Answer> ConsoleAsync(HttpClient http, string path, string? body)
    {
        using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, new Uri("/console/api" + path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        return new Answer(json["code"]!.GetValue<int>().ToString(CultureInfo.InvariantCulture), (int)response.StatusCode,
            json["message"]?.GetValue<string>() ?? "");
    }

    /// <summary><paramref name="cases"/> with the console cases added.</summary>
    private static Dictionary<string, Func<Servers, Task<Answer>>> WithConsoleCases(Dictionary<string, Func<Servers, Task<Answer>>> cases)
    {
        foreach (var (name, run) in ConsoleCases)
        {
            cases.Add(name, run);
        }

        return cases;
    }

    private static (string Case, Func<Servers, Task<Answer>> Run)[] ConsoleCases =>
    [
        ("console-tools-unavailable", s => ConsoleAsync(s.Plain, "/advise", "{\"collection\": \"docs\"}")),
        ("console-tool-collection-missing", s => ConsoleAsync(s.Plain, "/tune", "{}")),
        ("console-tool-body-invalid", s => ConsoleAsync(s.Plain, "/advise", "collection=docs")),
        ("console-tool-parameter-invalid", s => ConsoleAsync(s.Plain, "/tune", "{\"collection\": \"docs\", \"targetRecall\": 2}")),
        ("console-tool-body-too-large", s => ConsoleAsync(s.Plain, "/advise", "{\"collection\": \"docs\", \"pad\": \"" + new string('x', 20_000) + "\"}")),
        ("console-tool-refused", s => ConsoleAsync(s.Small, "/advise", "{\"collection\": \"docs\", \"field\": \"price\"}")),
        ("console-indexes-collection-missing", s => ConsoleAsync(s.Plain, "/indexes", null)),
        ("console-tool-not-loaded", s => ConsoleAsync(s.Plain, "/advise", "{\"collection\": \"cold\"}")),
        ("console-tool-run-id-invalid", s => ConsoleAsync(s.Plain, "/tune", "{\"collection\": \"docs\", \"runId\": \"a b\"}")),
        ("console-progress-run-missing", s => ConsoleAsync(s.Plain, "/progress", null)),
        ("console-tool-client-certificate-missing", _ => AdviseOnAMutualTlsServerAsync()),
    ];

    /// <summary>Advise on a server that requires client certificates and has none for its tools to present (started
    /// here, with a CA of its own; the caller presents a certificate from it).</summary>
    private static async Task<Answer> AdviseOnAMutualTlsServerAsync()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, ca) = pki.WriteServer(folder.Path);
        await using var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = folder.Sub("data"),
            Port = 0,
            Engine = new QuiverOptions { BackgroundMaintenance = false },
            Security = { TlsCertificatePath = cert, TlsKeyPath = key, ClientCaPath = ca, RequireClientCertificate = true },
            Console = { Toolbox = new Quiver.Cli.Serve.ConsoleToolbox() },
        });
        using var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(pki.Server.RawData),
        };
        handler.ClientCertificates.Add(pki.Client());
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{server.Port}") };
        return await ConsoleAsync(http, "/advise", "{\"collection\": \"docs\"}");
    }
}
