using System.Security.Cryptography.X509Certificates;

namespace Quiver.Client;

/// <summary>How <c>QuiverClient.ConnectAsync</c> (<see cref="RemoteClientOpening"/>) reaches a server. Every property has a documented default.</summary>
public sealed record QuiverClientOptions
{
    /// <summary>The server address, <c>http://host:port</c> (cleartext HTTP/2) or <c>https://host:port</c> (TLS); default
    /// <c>http://127.0.0.1:19530</c>.</summary>
    public string Address { get; init; } = "http://127.0.0.1:19530";

    /// <summary>The database calls act on when they name none (sent as gRPC metadata <c>dbname</c>); default <c>default</c>.</summary>
    public string Database { get; init; } = QuiverClient.DefaultDatabase;

    /// <summary>An API key or <c>user:password</c> token; wins over <see cref="User"/> and <see cref="Password"/>. Default none.</summary>
    public string? Token { get; init; }

    /// <summary>User name for authentication (with <see cref="Password"/>); default none.</summary>
    public string? User { get; init; }

    /// <summary>Password of <see cref="User"/>; default none.</summary>
    public string? Password { get; init; }

    /// <summary>Deadline of each call; default 30 s. <see cref="Timeout.InfiniteTimeSpan"/> means none.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>With <c>https</c>: a CA certificate that signed the server's certificate (in addition to the system's
    /// trust store); default none.</summary>
    public X509Certificate2? ServerCertificateAuthority { get; init; }

    /// <summary>With <c>https</c>: the client certificate (with its private key) for mutual TLS; default none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>With <c>https</c>: accept this certificate, compared byte for byte, whatever its names and issuer (a
    /// client that knows the server's own certificate, such as a tool the server runs that connects back to it); other
    /// certificates are checked as usual. Default none.</summary>
    public X509Certificate2? TrustedServerCertificate { get; init; }

    /// <summary>With <c>https</c>: accept any server certificate. For tests only; default false.</summary>
    public bool SkipCertificateValidation { get; init; }

    /// <summary>Largest message received, in bytes; default 64 MiB (Milvus's default for its SDKs).</summary>
    public int MaxReceiveMessageBytes { get; init; } = 64 << 20;

    /// <summary>Largest message sent, in bytes; default 64 MiB.</summary>
    public int MaxSendMessageBytes { get; init; } = 64 << 20;
}
