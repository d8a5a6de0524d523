using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>
/// A server serving TLS with a self-signed certificate made for the host name <see cref="HostName"/> only, not for the
/// address 127.0.0.1 the browser and the console's tools reach it on; authentication on; one collection <c>docs</c>
/// (<see cref="Rows"/> rows, FLAT, loaded).
/// </summary>
public sealed class TlsConsoleFixture : BrowserFixture
{
    public const string RootPassword = "Console-Tls-Root-1";
    public const string HostName = "quiver.example";
    public const int Rows = 60;

    private readonly TempFolder _folder = new();
    private X509Certificate2? _certificate;

    protected override bool Tls => true;

    protected override string RootCredential => "root:" + RootPassword;

    protected override Task<QuiverServer> StartServerAsync()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={HostName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(HostName);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        using var issued = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        _certificate = X509CertificateLoader.LoadCertificate(issued.RawData);
        var certificatePath = Path.Combine(_folder.Path, "server.crt");
        var keyPath = Path.Combine(_folder.Path, "server.key");
        File.WriteAllText(certificatePath, issued.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = _folder.Sub("data"),
            Port = 0,
            Security = { AuthEnabled = true, RootPassword = RootPassword, TlsCertificatePath = certificatePath, TlsKeyPath = keyPath },
            Console = { Toolbox = new Quiver.Cli.Serve.ConsoleToolbox() },
        });
    }

    /// <summary>Trusts exactly the server's certificate.</summary>
    protected override HttpMessageHandler CreateHandler() => new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented is not null && presented.RawData.AsSpan().SequenceEqual(_certificate!.RawData),
    };

    protected override async Task SeedAsync()
    {
        var random = new Random(443);
        await CreateVectorCollectionAsync("docs", 4, "FLAT");
        await RestAsync("/entities/insert", new JsonObject
        {
            ["collectionName"] = "docs",
            ["data"] = new JsonArray([.. Enumerable.Range(0, Rows).Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i, ["vector"] = new JsonArray([.. Enumerable.Range(0, 4).Select(_ => (JsonNode)random.NextSingle())]),
            })]),
        });
    }

    protected override void Stopped()
    {
        _certificate?.Dispose();
        _folder.Dispose();
    }
}

/// <summary>The console over TLS: served by the server on its TLS port, signed in, browsed, and the advise tool, which
/// connects back to the server it runs in, works although the certificate does not name the address.</summary>
public sealed class ConsoleTlsTests(TlsConsoleFixture f) : IClassFixture<TlsConsoleFixture>
{
    [Fact]
    public void OverTls_SignIn_Browse_AndAdviseConnectsBackToItsOwnServer()
    {
        Assert.StartsWith("https://127.0.0.1:", f.BaseUrl, StringComparison.Ordinal);
        var refusal = f.SignIn("root", "not-the-password", expectRefusal: true);
        Assert.Contains("Sign-in refused", refusal.Text, StringComparison.Ordinal);
        Assert.Equal("Signed in as root", f.SignIn("root", TlsConsoleFixture.RootPassword).Text);
        Assert.StartsWith("https://", f.Browser.Url, StringComparison.Ordinal);

        f.Go("browse/docs");
        f.TextOf(ConsoleTests.Test("page-info"), t => t == $"Page 1 of 6 · rows 1–10 of {TlsConsoleFixture.Rows}", "first page");
        f.Find(ConsoleTests.Test("next")).Click();
        f.TextOf(ConsoleTests.Test("page-info"), t => t == $"Page 2 of 6 · rows 11–20 of {TlsConsoleFixture.Rows}", "second page");
        f.Screenshot("tls-browse");

        // The tool reaches https://127.0.0.1:port, which the certificate (made for quiver.example) does not name: it
        // trusts the server's own certificate, which the server hands it.
        f.Go("collection/docs");
        f.Find(ConsoleTests.Test("advise")).Click();
        var shown = f.Until(d => d.FindElements(ConsoleTests.Test("advice-summary")).FirstOrDefault(e => e.Text.Length > 0)
            ?? d.FindElements(ConsoleTests.Test("error")).FirstOrDefault(), "the advice");
        Assert.True(shown.GetAttribute("data-testid") == "advice-summary", $"the page shows an error: {shown.Text}");
        Assert.StartsWith("recommended: FLAT", shown.Text, StringComparison.Ordinal);
    }
}
