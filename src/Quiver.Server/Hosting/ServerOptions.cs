namespace Quiver.Server.Hosting;

/// <summary>Settings of one server process. Every setting can also come from the config file and from
/// <c>QUIVER_*</c> environment variables (see docs/server.md).</summary>
public sealed class ServerOptions
{
    /// <summary>The data folder; created when missing. Default <c>./data</c>.</summary>
    public string DataPath { get; set; } = "data";

    /// <summary>Address to bind. Default loopback; binding elsewhere needs authentication or <see cref="Insecure"/>.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port for gRPC and REST together. Default 19530, as Milvus; 0 picks a free port.</summary>
    public int Port { get; set; } = 19530;

    /// <summary>Allow binding beyond loopback without authentication.</summary>
    public bool Insecure { get; set; }

    /// <summary>Authentication, TLS, request limits and the audit log.</summary>
    public Security.SecurityOptions Security { get; set; } = new();

    /// <summary>Options of the embedded engine under the server.</summary>
    public QuiverOptions Engine { get; set; } = new();
}
