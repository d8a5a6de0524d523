using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Server.Tests.Security;

public sealed class TlsTests
{
    /// <summary>A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.</summary>
    private sealed class Pki : IDisposable
    {
        public Pki()
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=Quiver Test CA", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            var now = DateTimeOffset.UtcNow;
            Ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
            Server = Issue("CN=127.0.0.1", server: true);
            Client = Issue("CN=test-client", server: false);
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 Server { get; }

        public X509Certificate2 Client { get; }

        private X509Certificate2 Issue(string subject, bool server)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            if (server)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(System.Net.IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            var now = DateTimeOffset.UtcNow;
            using var issued = request.Create(Ca, now.AddMinutes(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
            using var withKey = issued.CopyWithPrivateKey(key);
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }

        public (string Cert, string Key, string Ca) WritePem(string folder)
        {
            var cert = Path.Combine(folder, "server.crt");
            var key = Path.Combine(folder, "server.key");
            var ca = Path.Combine(folder, "ca.crt");
            File.WriteAllText(cert, Server.ExportCertificatePem());
            File.WriteAllText(key, Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(ca, Ca.ExportCertificatePem());
            return (cert, key, ca);
        }

        public void Dispose()
        {
            Ca.Dispose();
            Server.Dispose();
            Client.Dispose();
        }
    }

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
        using var pki = new Pki();
        var (cert, key, _) = pki.WritePem(folder.Path);
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
        using var pki = new Pki();
        var (cert, key, ca) = pki.WritePem(folder.Path);
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

        using var trusted = Channel(server.Port, pki.Server, pki.Client);
        var health = await new MilvusService.MilvusServiceClient(trusted).CheckHealthAsync(new CheckHealthRequest());
        Assert.True(health.IsHealthy);
    }
}
