using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests.Security;

public sealed class TlsTests
{
    private static GrpcChannel Channel(int port, X509Certificate2 serverCert, X509Certificate2? clientCert)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            cert is not null && cert.GetCertHashString() == serverCert.GetCertHashString();
        if (clientCert is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCert];
        }
        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    private static ServerOptions Options(TempFolder folder, Action<Quiver.Server.Security.SecurityOptions> security)
    {
        var options = new ServerOptions { DataPath = Path.Combine(folder.Path, "data"), Port = 0, Engine = new QuiverOptions { BackgroundMaintenance = false } };
        security(options.Security);
        return options;
    }

    [Fact]
    public async Task Tls_ServesGrpcOverHttps_AndRestOverHttp11()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, _) = pki.WriteServer(folder.Path);
        await using var server = await QuiverServer.StartAsync(Options(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; }));

        using var channel = Channel(server.Port, pki.Server, null);
        var health = await new MilvusService.MilvusServiceClient(channel).CheckHealthAsync(new CheckHealthRequest());
        Assert.True(health.IsHealthy);

        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, c, _, _) => c?.GetCertHashString() == pki.Server.GetCertHashString();
        using var http = new HttpClient(handler);
        using var response = await http.GetAsync(new Uri($"https://127.0.0.1:{server.Port}/no-such-path"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task MutualTls_RefusesClientWithoutCertificate_AndAcceptsOneFromTheCa()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, ca) = pki.WriteServer(folder.Path);
        await using var server = await QuiverServer.StartAsync(Options(folder, s =>
        {
            s.TlsCertificatePath = cert;
            s.TlsKeyPath = key;
            s.ClientCaPath = ca;
            s.RequireClientCertificate = true;
        }));

        using (var anonymous = Channel(server.Port, pki.Server, null))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await new MilvusService.MilvusServiceClient(anonymous).CheckHealthAsync(new CheckHealthRequest()));
            // Under TLS 1.3 the server checks the client certificate after the client thinks the handshake is done, so
            // the refusal reaches the client as a failed connection or as a stream cut mid-request.
            Assert.Contains(e.StatusCode, (StatusCode[])[StatusCode.Unavailable, StatusCode.Internal, StatusCode.Unknown]);
        }

        using var trusted = Channel(server.Port, pki.Server, pki.Client());
        var health = await new MilvusService.MilvusServiceClient(trusted).CheckHealthAsync(new CheckHealthRequest());
        Assert.True(health.IsHealthy);
    }

    // ---- set-ups that cannot work or are unsafe are refused at start, naming the problem ----

    /// <summary>A self-signed certificate for 127.0.0.1 written as PEM (server.crt, server.key); <paramref name="sign"/>
    /// creates it from the request (default: self-signed with SHA-256, valid from five minutes ago for a day).</summary>
    internal static (string Cert, string Key) WriteSelfSigned(string folder, AsymmetricAlgorithm key,
        Func<CertificateRequest, X509Certificate2>? sign = null)
    {
        var subject = "CN=127.0.0.1";
        var request = key switch
        {
            RSA rsa => new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => new CertificateRequest(subject, ec, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException("RSA or ECDsa", nameof(key)),
        };
        var now = DateTimeOffset.UtcNow;
        using var certificate = sign?.Invoke(request) ?? request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        var cert = Path.Combine(folder, "server.crt");
        var keyPath = Path.Combine(folder, "server.key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return (cert, keyPath);
    }

    private static async Task<string> RefusalAsync(TempFolder folder, Action<Quiver.Server.Security.SecurityOptions> security)
    {
        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => QuiverServer.StartAsync(Options(folder, security)));
        Assert.IsType<ServerConfigurationException>(e);
        // Refused before the data folder is touched.
        Assert.False(Directory.Exists(Path.Combine(folder.Path, "data")), "the data folder was opened before the TLS check");
        return e.Message;
    }

    [Theory]
    [InlineData(512)]
    [InlineData(1024)]
    public async Task Tls_RsaKeyBelow2048Bits_RefusesToStart_NamingTheKeySize(int bits)
    {
        using var folder = new TempFolder();
        using var rsa = RSA.Create(bits);
        var (cert, key) = WriteSelfSigned(folder.Path, rsa);
        var message = await RefusalAsync(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; });
        Assert.Contains($"{bits}-bit RSA key", message, StringComparison.Ordinal);
        Assert.Contains("2048", message, StringComparison.Ordinal);
        Assert.Contains(cert, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_EllipticCurveKeyBelow256Bits_RefusesToStart()
    {
        using var folder = new TempFolder();
        using var ec = ECDsa.Create(ECCurve.CreateFromValue("1.3.132.0.33")); // secp224r1 (P-224)
        var (cert, key) = WriteSelfSigned(folder.Path, ec);
        var message = await RefusalAsync(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; });
        Assert.Contains("224-bit elliptic-curve key", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-30, -1, "expired on", "Renew the certificate")]
    [InlineData(2, 30, "is not valid before", "clock")]
    public async Task Tls_CertificateOutsideItsDates_RefusesToStart(int fromDays, int toDays, string problem, string fix)
    {
        using var folder = new TempFolder();
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        var (cert, key) = WriteSelfSigned(folder.Path, ec, r => r.CreateSelfSigned(now.AddDays(fromDays), now.AddDays(toDays)));
        var message = await RefusalAsync(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; });
        Assert.Contains(problem, message, StringComparison.Ordinal);
        Assert.Contains(fix, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MD5", "1.2.840.113549.1.1.4")] // md5WithRSAEncryption
    [InlineData("SHA1", "1.2.840.113549.1.1.5")] // sha1WithRSAEncryption
    [InlineData("SHA1", "1.2.840.113549.1.1.10")] // RSASSA-PSS with default parameters: SHA-1
    public async Task Tls_WeakSignatureHash_RefusesToStart(string hash, string oid)
    {
        using var folder = new TempFolder();
        using var rsa = RSA.Create(2048);
        var now = DateTimeOffset.UtcNow;
        var (cert, key) = WriteSelfSigned(folder.Path, rsa, r =>
        {
            // .NET refuses to sign a certificate with MD5 or SHA-1 itself; a signature generator of our own does it.
            using var unsigned = r.Create(r.SubjectName, new LegacyRsaSignature(rsa, new HashAlgorithmName(hash), oid),
                now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4]);
            return unsigned.CopyWithPrivateKey(rsa);
        });
        using (var written = X509CertificateLoader.LoadCertificateFromFile(cert))
        {
            Assert.Equal(oid, written.SignatureAlgorithm.Value);
        }
        var message = await RefusalAsync(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; });
        Assert.Contains($"signed with {(hash == "SHA1" ? "SHA-1" : hash)}", message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_PfxWithoutPrivateKey_RefusesToStart()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        using var publicOnly = X509CertificateLoader.LoadCertificate(pki.Server.RawData);
        var pfx = Path.Combine(folder.Path, "server.pfx");
        File.WriteAllBytes(pfx, publicOnly.Export(X509ContentType.Pkcs12));
        var message = await RefusalAsync(folder, s => s.TlsPfxPath = pfx);
        Assert.Contains("holds no private key", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a certificate at all\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")]
    public async Task MutualTls_ClientCaThatDoesNotParse_RefusesToStart(string content)
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, _) = pki.WriteServer(folder.Path);
        var ca = Path.Combine(folder.Path, "bad-ca.crt");
        File.WriteAllText(ca, content);
        var message = await RefusalAsync(folder, s =>
        {
            s.TlsCertificatePath = cert;
            s.TlsKeyPath = key;
            s.ClientCaPath = ca;
        });
        Assert.Contains("client CA", message, StringComparison.Ordinal);
        Assert.Contains(ca, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutualTls_ExpiredClientCa_RefusesToStart()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, _) = pki.WriteServer(folder.Path);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Old Test CA", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var oldCa = request.CreateSelfSigned(now.AddYears(-2), now.AddDays(-3));
        var ca = Path.Combine(folder.Path, "old-ca.crt");
        File.WriteAllText(ca, oldCa.ExportCertificatePem());
        var message = await RefusalAsync(folder, s =>
        {
            s.TlsCertificatePath = cert;
            s.TlsKeyPath = key;
            s.ClientCaPath = ca;
        });
        Assert.Contains("client CA", message, StringComparison.Ordinal);
        Assert.Contains("expired on", message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Tls_KeyFileReadableByOthers_IsWarnedAbout_AndTheServerStillServes()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, _) = pki.WriteServer(folder.Path);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var sink = new CapturingLoggerProvider();
        await using (var server = await QuiverServer.StartAsync(Options(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; }),
            logging => logging.AddProvider(sink)))
        {
            using var channel = Channel(server.Port, pki.Server, null);
            Assert.True((await new MilvusService.MilvusServiceClient(channel).CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
        }
        var warning = Assert.Single(sink.Entries, e => e.EventName == "TlsSetupWarning");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(key, warning.Message, StringComparison.Ordinal);
        Assert.Contains("every local user", warning.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", warning.Message, StringComparison.Ordinal);

        // Mode 600: nothing to say.
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var quiet = new CapturingLoggerProvider();
        await using (await QuiverServer.StartAsync(Options(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; }),
            logging => logging.AddProvider(quiet)))
        {
        }
        Assert.DoesNotContain(quiet.Entries, e => e.EventName == "TlsSetupWarning");
    }

    [Fact]
    public async Task Tls_FailedHandshakes_AreLoggedWithTheirReason_AtAThrottledRate()
    {
        using var folder = new TempFolder();
        using var pki = new TestPki();
        var (cert, key, _) = pki.WriteServer(folder.Path);
        var sink = new CapturingLoggerProvider();
        var started = System.Diagnostics.Stopwatch.StartNew();
        const int Attempts = 30;
        await using (var server = await QuiverServer.StartAsync(Options(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = key; }),
            logging => logging.AddProvider(sink)))
        {
            // Cleartext HTTP sent to the TLS port: every one is a failed handshake.
            for (var i = 0; i < Attempts; i++)
            {
                using var client = new TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
                var buffer = new byte[256];
                using var hangGuard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (await stream.ReadAsync(buffer, hangGuard.Token) > 0)
                {
                    // until the server closes the connection
                }
            }
            // The last failure may still be on its way to the log when the client sees the close.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!sink.Entries.Any(e => e.EventName == "TlsHandshakeFailed"))
            {
                await Task.Delay(50, deadline.Token);
            }
        }
        var elapsed = started.Elapsed;
        var failures = sink.Entries.Where(e => e.EventName == "TlsHandshakeFailed").ToList();
        Assert.All(failures, f => Assert.Equal(LogLevel.Warning, f.Level));
        Assert.Contains("TLS handshake failed: ", failures[0].Message, StringComparison.Ordinal);
        Assert.True(((string)failures[0].Values["Reason"]!).Length > 10, failures[0].Message);
        // At most one line per reporting interval (10 s), however fast the failures come.
        Assert.InRange(failures.Count, 1, 1 + (int)(elapsed / TimeSpan.FromSeconds(10)));
        Assert.True(failures.Count < Attempts);
    }

    [Fact]
    public async Task Tls_GoodCertificate_RsaAndEcdsa_Serve()
    {
        foreach (var key in new AsymmetricAlgorithm[] { RSA.Create(2048), ECDsa.Create(ECCurve.NamedCurves.nistP256) })
        {
            using var folder = new TempFolder();
            using var owned = key;
            var (cert, keyPath) = WriteSelfSigned(folder.Path, key);
            using var expected = X509CertificateLoader.LoadCertificateFromFile(cert);
            await using var server = await QuiverServer.StartAsync(Options(folder, s => { s.TlsCertificatePath = cert; s.TlsKeyPath = keyPath; }));
            using var channel = Channel(server.Port, expected, null);
            Assert.True((await new MilvusService.MilvusServiceClient(channel).CheckHealthAsync(new CheckHealthRequest())).IsHealthy);
        }
    }

    /// <summary>Signs with a hash .NET's own certificate generators refuse (MD5, SHA-1) under the given signature
    /// algorithm OID: PKCS#1 v1.5, or RSASSA-PSS with its default parameters (SHA-1, MGF1-SHA-1, 20-byte salt; RFC 4055)
    /// for the PSS OID.</summary>
    private sealed class LegacyRsaSignature(RSA key, HashAlgorithmName hash, string oid) : X509SignatureGenerator
    {
        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm)
        {
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(oid);
                if (IsPss)
                {
                    writer.PushSequence();
                    writer.PopSequence(); // every parameter at its default
                }
                else
                {
                    writer.WriteNull();
                }
            }
            return writer.Encode();
        }

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) =>
            key.SignData(data, hash, IsPss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);

        private bool IsPss => oid == "1.2.840.113549.1.1.10";

        protected override PublicKey BuildPublicKey() => CreateForRSA(key, RSASignaturePadding.Pkcs1).PublicKey;
    }
}
