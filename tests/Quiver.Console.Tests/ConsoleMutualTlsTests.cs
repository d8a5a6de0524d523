using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>
/// The console's advise and tune on a server that requires client certificates (mutual TLS): they connect back to the
/// server as clients, so they present the server's client certificate for its tools (<c>Console:ClientCertificatePath</c>);
/// without one the server refuses them up front with code 10 naming the settings; a certificate the server would not
/// accept stops the start. Over HTTPS with <see cref="HttpClient"/>: the calls, not the page, are what is tested here
/// (the page shows a tool's answer or refusal as every other test of it shows).
/// </summary>
public sealed class ConsoleMutualTlsTests
{
    private const int Rows = 300;

    [Fact]
    public async Task MutualTls_Advise_PresentsTheServersClientCertificate_WhenItConnectsBack()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var tools = TestPki.Write(pki.Client("CN=quiver-console-tools"), folder.Path, "tools");
        await using var server = await StartAsync(folder, pki, tools);
        using var http = Client(server, pki, pki.Client());
        await SeedAsync(http);

        var answer = await CallAsync(http, "/console/api/advise", new JsonObject { ["collection"] = "docs" });
        Assert.True(answer["code"]!.GetValue<int>() == 0, answer.ToJsonString());
        // 300 rows: below 10K rows the advice is FLAT.
        Assert.Equal("FLAT", answer["data"]!["result"]!["recommended"]!["indexType"]!.GetValue<string>());
    }

    [Fact]
    public async Task MutualTls_WithoutAClientCertificateForTheTools_AdviseAndTuneAreRefusedUpFront_NamingTheSettings()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        await using var server = await StartAsync(folder, pki, tools: null);
        using var http = Client(server, pki, pki.Client());
        await SeedAsync(http);

        foreach (var tool in new[] { "advise", "tune" })
        {
            var refused = await CallAsync(http, $"/console/api/{tool}", new JsonObject { ["collection"] = "docs" });
            Assert.Equal(10, refused["code"]!.GetValue<int>());
            Assert.Equal($"console {tool}: this server requires client certificates (Security:RequireClientCertificate) and has none for {tool} to " +
                "present when it connects back to the server; set Console:ClientCertificatePath and Console:ClientKeyPath to a client certificate " +
                "from the CA of Security:ClientCaPath", refused["message"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ClientCertificate_ThatTheServerWouldRefuse_OrHalfConfigured_StopsTheStart_NamingTheSetting()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        using var other = new TestPki("Another CA");
        var foreign = TestPki.Write(other.Client("CN=foreign-tools"), folder.Path, "foreign");
        var e = await Assert.ThrowsAsync<ServerConfigurationException>(() => StartAsync(folder, pki, foreign));
        Assert.StartsWith($"the console's client certificate '{foreign.Cert}' (CN=foreign-tools) is not a valid client certificate from the CA of Security:ClientCaPath",
            e.Message, StringComparison.Ordinal);

        var own = TestPki.Write(pki.Client(), folder.Path, "own");
        e = await Assert.ThrowsAsync<ServerConfigurationException>(() => StartAsync(folder, pki, (own.Cert, null)));
        Assert.StartsWith("Console:ClientCertificatePath and Console:ClientKeyPath go together", e.Message, StringComparison.Ordinal);

        // A server certificate cannot stand in for a client one (no client-authentication usage).
        var server = TestPki.Write(pki.Server, folder.Path, "server-as-client");
        e = await Assert.ThrowsAsync<ServerConfigurationException>(() => StartAsync(folder, pki, server));
        Assert.StartsWith($"the console's client certificate '{server.Cert}' (CN=127.0.0.1) is not a valid client certificate", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A server with TLS that requires client certificates from <paramref name="pki"/>'s CA, authentication off
    /// (loopback), the toolbox's advise and tune, and <paramref name="tools"/> as their client certificate.</summary>
    private static Task<QuiverServer> StartAsync(TempFolder folder, TestPki pki, (string Cert, string? Key)? tools)
    {
        var (cert, key, ca) = pki.WriteServer(folder.Path);
        return QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = folder.Sub("data"),
            Port = 0,
            Security = { TlsCertificatePath = cert, TlsKeyPath = key, ClientCaPath = ca, RequireClientCertificate = true },
            Console = { Toolbox = new Quiver.Cli.Serve.ConsoleToolbox(), ClientCertificatePath = tools?.Cert, ClientKeyPath = tools?.Key },
        });
    }

    /// <summary>An HTTPS client of <paramref name="server"/> that trusts exactly its certificate and presents
    /// <paramref name="certificate"/>.</summary>
    private static HttpClient Client(QuiverServer server, TestPki pki, X509Certificate2 certificate)
    {
        var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(pki.Server.RawData),
        };
        handler.ClientCertificates.Add(certificate);
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{server.Port}") };
    }

    /// <summary><c>docs</c>: 4-d vectors, a FLAT index, loaded, <see cref="Rows"/> rows.</summary>
    private static async Task SeedAsync(HttpClient http)
    {
        await RequireOkAsync(http, "/v2/vectordb/collections/create", new JsonObject
        {
            ["collectionName"] = "docs",
            ["schema"] = new JsonObject
            {
                ["fields"] = new JsonArray(
                    new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
                    new JsonObject { ["fieldName"] = "vector", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = 4 } }),
            },
            ["indexParams"] = new JsonArray(new JsonObject { ["fieldName"] = "vector", ["indexName"] = "vector", ["indexType"] = "FLAT", ["metricType"] = "L2" }),
        });
        var random = new Random(7);
        await RequireOkAsync(http, "/v2/vectordb/entities/insert", new JsonObject
        {
            ["collectionName"] = "docs",
            ["data"] = new JsonArray([.. Enumerable.Range(0, Rows).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i, ["vector"] = new JsonArray([.. Enumerable.Range(0, 4).Select(_ => (JsonNode)random.NextSingle())]),
            })]),
        });
    }

    private static async Task RequireOkAsync(HttpClient http, string path, JsonObject body)
    {
        var answer = await CallAsync(http, path, body);
        Assert.True(answer["code"]!.GetValue<int>() == 0, $"{path}: {answer.ToJsonString()}");
    }

    private static async Task<JsonObject> CallAsync(HttpClient http, string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }
}
