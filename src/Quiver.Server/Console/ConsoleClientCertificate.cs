using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Quiver.Server.Hosting;
using Quiver.Server.Security;

namespace Quiver.Server.Console;

/// <summary>The client certificate the console's advise and tune present when they connect back to their own server
/// (<see cref="ConsoleOptions.ClientCertificatePath"/> and <see cref="ConsoleOptions.ClientKeyPath"/>), loaded and
/// checked at start. A server with mutual TLS (<see cref="SecurityOptions.RequireClientCertificate"/>) refuses any
/// connection without one, and the tools cannot borrow the browser's (its key never leaves the browser): without this
/// certificate such a server refuses the console's advise and tune up front (<see cref="Certificate"/> null).</summary>
internal sealed class ConsoleClientCertificate
{
    private ConsoleClientCertificate(X509Certificate2? certificate) => Certificate = certificate;

    /// <summary>The certificate with its private key; null when none is configured.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>Loads the configured certificate and checks that the server would accept it: TLS is on, and with a
    /// client CA (<see cref="SecurityOptions.ClientCaPath"/>) the certificate chains to it as a client certificate now.
    /// Throws <see cref="ServerConfigurationException"/> naming the setting otherwise.</summary>
    public static ConsoleClientCertificate Load(ConsoleOptions console, TlsMaterial? tls)
    {
        ArgumentNullException.ThrowIfNull(console);
        if (console.ClientCertificatePath is null && console.ClientKeyPath is null)
        {
            return new ConsoleClientCertificate(null);
        }
        if (console.ClientCertificatePath is null || console.ClientKeyPath is null)
        {
            throw new ServerConfigurationException(
                "Console:ClientCertificatePath and Console:ClientKeyPath go together: the PEM client certificate advise and tune present, and its private key");
        }
        if (tls is null)
        {
            throw new ServerConfigurationException(
                "Console:ClientCertificatePath is the client certificate advise and tune present to a server with mutual TLS, and this server has no TLS " +
                "(set Security:TlsCertificatePath and Security:TlsKeyPath, or Security:TlsPfxPath)");
        }
        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(console.ClientCertificatePath, console.ClientKeyPath);
            // Re-imported so that the key is a persisted one, which SslStream can present on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException(
                $"cannot load the console's client certificate '{console.ClientCertificatePath}' with the key '{console.ClientKeyPath}' " +
                $"(Console:ClientCertificatePath, Console:ClientKeyPath): {e.Message} Check the paths, that both are PEM, and that the key belongs to the certificate", e);
        }
        if (tls.ClientCa is { } ca && !SecurityHosting.ChainsTo(certificate, ca))
        {
            var subject = certificate.Subject;
            certificate.Dispose();
            throw new ServerConfigurationException(
                $"the console's client certificate '{console.ClientCertificatePath}' ({subject}) is not a valid client certificate from the CA of " +
                "Security:ClientCaPath (it must chain to it, be within its dates and allow client authentication): this server would refuse advise and tune");
        }
        return new ConsoleClientCertificate(certificate);
    }
}
