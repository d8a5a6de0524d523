using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>How <see cref="QuiverServer"/> applies <see cref="SecurityOptions"/>: the binding rule, TLS and mutual TLS
/// on the listening endpoint, and the security services (store, gate, audit log, auditing observer).</summary>
internal static partial class SecurityHosting
{
    /// <summary>Refuses a bind beyond loopback without authentication unless <see cref="ServerOptions.Insecure"/>.</summary>
    public static void CheckBinding(ServerOptions options, IPAddress address)
    {
        if (!IPAddress.IsLoopback(address) && !options.Security.AuthEnabled && !options.Insecure)
        {
            throw new ServerConfigurationException(
                $"refusing to listen on {address}: it is reachable from other hosts and authentication is off. Turn " +
                "authentication on (Security:AuthEnabled with a root password), bind to 127.0.0.1, or set Insecure to " +
                "accept unauthenticated access from the network (--insecure)");
        }
        if (options.Security.RequireClientCertificate && options.Security.ClientCaPath is null)
        {
            throw new ServerConfigurationException("Security:RequireClientCertificate needs Security:ClientCaPath: the CA that client certificates must chain to");
        }
        if (options.Security.ClientCaPath is not null && !options.Security.TlsEnabled)
        {
            throw new ServerConfigurationException("Security:ClientCaPath (mutual TLS) needs a server certificate: set Security:TlsCertificatePath and Security:TlsKeyPath, or Security:TlsPfxPath");
        }
        if (options.Security.MaxMessageBytes <= 0)
        {
            throw new ServerConfigurationException($"Security:MaxMessageBytes must be positive, not {options.Security.MaxMessageBytes}");
        }
    }

    /// <summary>Sets up the endpoint: TLS (ALPN picks h2 or http/1.1) with <paramref name="tls"/> (loaded and checked by
    /// <see cref="TlsSetup.Load"/>) when a certificate is configured, else the cleartext sniffing of HTTP/2 prior
    /// knowledge.</summary>
    public static void ConfigureEndpoint(ListenOptions listen, SecurityOptions options, TlsMaterial? tls)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        if (tls is null)
        {
            listen.Use(Http2PriorKnowledge.Middleware);
            return;
        }
        var clientCa = tls.ClientCa;
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = tls.Certificate,
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

    /// <summary>Registers <see cref="TlsHandshakeLog"/> for Kestrel's handshake events; call it after every other logger
    /// provider is added (it must not be wrapped, so that its filter rule applies).</summary>
    public static TlsHandshakeLog AddHandshakeLog(ILoggingBuilder logging)
    {
        var handshakes = new TlsHandshakeLog(TimeProvider.System);
        logging.AddProvider(handshakes);
        logging.AddFilter<TlsHandshakeLog>(TlsHandshakeLog.KestrelCategory, LogLevel.Debug);
        return handshakes;
    }

    /// <summary>Logs the start-up warnings of <paramref name="tls"/> and sends failed handshakes to the same category.</summary>
    public static void StartTlsLogging(TlsMaterial tls, TlsHandshakeLog handshakes, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(TlsHandshakeLog.Category);
        foreach (var warning in tls.Warnings)
        {
            TlsWarning(logger, warning);
        }
        handshakes.Attach(logger);
    }

    [LoggerMessage(EventId = 2, EventName = "TlsSetupWarning", Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void TlsWarning(ILogger logger, string warning);

    /// <summary>True when <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and to nothing
    /// else): the trust store of the machine plays no part.</summary>
    internal static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client auth
        return chain.Build(certificate);
    }
}
