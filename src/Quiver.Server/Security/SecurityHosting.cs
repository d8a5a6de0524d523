using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>How <see cref="QuiverServer"/> applies <see cref="SecurityOptions"/>: the binding rule, TLS and mutual TLS
/// on the listening endpoint, and the security services (store, gate, audit log, auditing observer).</summary>
internal static class SecurityHosting
{
    /// <summary>Refuses a bind beyond loopback without authentication unless <see cref="ServerOptions.Insecure"/>.</summary>
    public static void CheckBinding(ServerOptions options, IPAddress address)
    {
        if (!IPAddress.IsLoopback(address) && !options.Security.AuthEnabled && !options.Insecure)
        {
            throw new InvalidOperationException(
                $"refusing to listen on {address}: it is reachable from other hosts and authentication is off. Turn " +
                "authentication on (Security:AuthEnabled with a root password), bind to 127.0.0.1, or set Insecure to " +
                "accept unauthenticated access from the network");
        }
        if (options.Security.RequireClientCertificate && options.Security.ClientCaPath is null)
        {
            throw new InvalidOperationException("RequireClientCertificate needs ClientCaPath: the CA that client certificates must chain to");
        }
        if (options.Security.ClientCaPath is not null && !options.Security.TlsEnabled)
        {
            throw new InvalidOperationException("ClientCaPath (mutual TLS) needs a server certificate: set TlsCertificatePath and TlsKeyPath, or TlsPfxPath");
        }
        if (options.Security.MaxMessageBytes <= 0)
        {
            throw new InvalidOperationException($"MaxMessageBytes must be positive, not {options.Security.MaxMessageBytes}");
        }
    }

    /// <summary>Sets up the endpoint: TLS (ALPN picks h2 or http/1.1) when a certificate is configured, else the
    /// cleartext sniffing of HTTP/2 prior knowledge.</summary>
    public static void ConfigureEndpoint(ListenOptions listen, SecurityOptions options)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        if (!options.TlsEnabled)
        {
            listen.Use(Http2PriorKnowledge.Middleware);
            return;
        }
        var certificate = LoadServerCertificate(options);
        var clientCa = options.ClientCaPath is null ? null : LoadCa(options.ClientCaPath);
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = certificate,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateMode = options.RequireClientCertificate ? ClientCertificateMode.RequireCertificate
                : clientCa is not null ? ClientCertificateMode.AllowCertificate : ClientCertificateMode.NoCertificate,
            ClientCertificateValidation = clientCa is null ? null : (cert, _, _) => ChainsTo(cert, clientCa),
        });
    }

    /// <summary>Registers the security services. The <see cref="ICallObserver"/> becomes an <see cref="AuditingObserver"/>
    /// around the observer registered as <typeparamref name="TObserver"/>.</summary>
    public static void AddSecurity<TObserver>(IServiceCollection services, ServerOptions options)
        where TObserver : class, ICallObserver
    {
        var security = options.Security;
        var store = SecurityStore.Open(options.DataPath, security);
        var auditPath = security.AuditLogPath is { } path
            ? Path.Combine(options.DataPath, path)
            : security.AuthEnabled ? Path.Combine(options.DataPath, "security", "audit.jsonl") : null;
        services.AddSingleton(store);
        services.AddSingleton(_ => new AuditLog(auditPath, security.AuditLimits));
        services.AddSingleton<ISecurityGate>(sp => new SecurityGate(security, store, sp.GetRequiredService<AuditLog>()));
        services.AddSingleton<TObserver>();
        services.AddSingleton<ICallObserver>(sp => new AuditingObserver(sp.GetRequiredService<TObserver>(), sp.GetRequiredService<AuditLog>()));
    }

    private static X509Certificate2 LoadServerCertificate(SecurityOptions options)
    {
        try
        {
            if (options.TlsPfxPath is { } pfx)
            {
                return X509CertificateLoader.LoadPkcs12FromFile(pfx, options.TlsPfxPassword);
            }
            if (options.TlsKeyPath is null)
            {
                throw new InvalidOperationException("TlsCertificatePath needs TlsKeyPath: the PEM private key of the certificate");
            }
            using var pem = X509Certificate2.CreateFromPemFile(options.TlsCertificatePath!, options.TlsKeyPath);
            // Re-import so that the key is a persisted one; SslStream cannot use an ephemeral PEM key on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new InvalidOperationException($"cannot load the TLS certificate ({options.TlsPfxPath ?? options.TlsCertificatePath}): {e.Message}", e);
        }
    }

    private static X509Certificate2Collection LoadCa(string path)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new InvalidOperationException($"cannot load the client CA '{path}': {e.Message}", e);
        }
        if (collection.Count == 0)
        {
            throw new InvalidOperationException($"the client CA file '{path}' holds no PEM certificate");
        }
        return collection;
    }

    /// <summary>True when <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and to nothing
    /// else): the trust store of the machine plays no part.</summary>
    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client auth
        return chain.Build(certificate);
    }
}
