using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Quiver.Testing;

/// <summary>A throw-away certificate authority for mutual-TLS tests: a CA, a server certificate for 127.0.0.1 and
/// client certificates, all ECDSA P-256, valid for a few hours; written as PEM files into a folder on demand.</summary>
public sealed class TestPki : IDisposable
{
    private readonly List<X509Certificate2> _issued = [];

    /// <summary>A new CA named <paramref name="name"/>, with a server certificate for 127.0.0.1.</summary>
    public TestPki(string name = "Quiver Test CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var now = DateTimeOffset.UtcNow;
        Ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        Server = Issue("CN=127.0.0.1", server: true);
    }

    /// <summary>The CA certificate, with its key.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>A server certificate for the address 127.0.0.1 (server authentication).</summary>
    public X509Certificate2 Server { get; }

    /// <summary>Issues a client certificate (client authentication) named <paramref name="subject"/>.</summary>
    public X509Certificate2 Client(string subject = "CN=test-client") => Issue(subject, server: false);

    /// <summary>Writes the server certificate, its key and the CA as PEM into <paramref name="folder"/>.</summary>
    public (string Cert, string Key, string Ca) WriteServer(string folder)
    {
        var (cert, key) = Write(Server, folder, "server");
        var ca = Path.Combine(folder, "ca.crt");
        File.WriteAllText(ca, Ca.ExportCertificatePem());
        return (cert, key, ca);
    }

    /// <summary>Writes <paramref name="certificate"/> and its key as PEM into <paramref name="folder"/> as
    /// <paramref name="name"/>.crt and <paramref name="name"/>.key (the key readable by its owner only).</summary>
    public static (string Cert, string Key) Write(X509Certificate2 certificate, string folder, string name)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var cert = Path.Combine(folder, name + ".crt");
        var key = Path.Combine(folder, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return (cert, key);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var certificate in _issued)
        {
            certificate.Dispose();
        }
        Ca.Dispose();
    }

    private X509Certificate2 Issue(string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(Ca, now.AddMinutes(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        _issued.Add(certificate);
        return certificate;
    }
}
