namespace Quiver.Server.Security;

/// <summary>Authentication, TLS, request limits and the audit log of one server (<see cref="Hosting.ServerOptions.Security"/>).
/// Every setting can come from the config file and from <c>QUIVER_SECURITY__*</c> environment variables.</summary>
public sealed class SecurityOptions
{
    /// <summary>The environment variable read for <see cref="RootPassword"/> when that is not set.</summary>
    public const string RootPasswordVariable = "QUIVER_ROOT_PASSWORD";

    /// <summary>Require credentials on every call and enforce roles and grants. Default off (loopback-only servers).</summary>
    public bool AuthEnabled { get; set; }

    /// <summary>The password of user <c>root</c> at the first start with authentication on (no users stored yet); there is
    /// no well-known default, so the start fails without it. Ignored once users exist (change it with
    /// <c>UpdateCredential</c>). Read from the config or from <see cref="RootPasswordVariable"/>, never from a flag.</summary>
    public string? RootPassword { get; set; }

    /// <summary>The server certificate (PEM) for TLS; with <see cref="TlsKeyPath"/>. Null (default): no TLS.</summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>The private key (PEM) of <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; set; }

    /// <summary>A PKCS#12 (.pfx) file holding the server certificate and key, instead of the PEM pair.</summary>
    public string? TlsPfxPath { get; set; }

    /// <summary>The password of <see cref="TlsPfxPath"/>, if any.</summary>
    public string? TlsPfxPassword { get; set; }

    /// <summary>A CA certificate (PEM) that client certificates must chain to (mutual TLS). Client certificates are
    /// checked against it whenever one is presented.</summary>
    public string? ClientCaPath { get; set; }

    /// <summary>Refuse TLS connections without a client certificate that chains to <see cref="ClientCaPath"/>.</summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>Largest request message in bytes (gRPC message and REST body). Default 64 MiB.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most query vectors in one search (nq). Default 16,384, as Milvus.</summary>
    public int MaxNq { get; set; } = 16_384;

    /// <summary>Largest top-k (limit) of one search. Default 16,384, as Milvus.</summary>
    public int MaxTopK { get; set; } = 16_384;

    /// <summary>Largest vector dimension in a schema or a query vector. Default 32,768, as Milvus.</summary>
    public int MaxDimension { get; set; } = 32_768;

    /// <summary>Most rows in one insert or upsert. Default 1,000,000.</summary>
    public int MaxRowsPerInsert { get; set; } = 1_000_000;

    /// <summary>Calls per second each user may make (token bucket, burst of one second's worth); 0 (default) = no limit.
    /// Without authentication the limit applies per client address.</summary>
    public double RequestsPerSecondPerUser { get; set; }

    /// <summary>Where the audit log (JSON lines) goes. Null: <c>security/audit.jsonl</c> in the data folder when
    /// authentication is on, no audit log otherwise. Relative paths are under the data folder.</summary>
    public string? AuditLogPath { get; set; }

    /// <summary>Largest size of the audit log file in bytes before it is rotated to <c>.1</c>. Default 64 MiB; at least
    /// 4,096.</summary>
    public long AuditLogMaxBytes { get; set; } = 64L << 20;

    /// <summary>Rotated audit log files kept beside the current one; the log takes at most
    /// <see cref="AuditLogMaxBytes"/> x (this + 1) on disk. Default 4.</summary>
    public int AuditLogFilesKept { get; set; } = 4;

    /// <summary>Seconds during which identical failures (same client address, user, outcome and method) are counted
    /// into one audit line instead of one line each. Default 10; 0 turns aggregation off.</summary>
    public double AuditAggregateSeconds { get; set; } = 10;

    /// <summary>The audit log's limits from these settings.</summary>
    internal AuditLogLimits AuditLimits => new()
    {
        MaxBytes = AuditLogMaxBytes,
        FilesKept = AuditLogFilesKept,
        // Out of range (or NaN) maps to a negative window, which AuditLogLimits.Validate names.
        AggregateWindow = AuditAggregateSeconds is >= 0 and <= 3600 ? TimeSpan.FromSeconds(AuditAggregateSeconds) : TimeSpan.MinValue,
    };

    /// <summary>True when a server certificate is configured.</summary>
    internal bool TlsEnabled => TlsPfxPath is not null || TlsCertificatePath is not null;
}
