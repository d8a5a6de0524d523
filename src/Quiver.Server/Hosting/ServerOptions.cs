using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Quiver.Server.Hosting;

/// <summary>Settings of one server process. Every setting can also come from the config file and from
/// <c>QUIVER_*</c> environment variables; <see cref="ServerConfig"/> reads them (see docs/server-ops.md).</summary>
public sealed class ServerOptions
{
    /// <summary>The data folder; created when missing. Default <c>./data</c>. Config key <c>data</c>.</summary>
    [ConfigurationKeyName("Data")]
    public string DataPath { get; set; } = "data";

    /// <summary>Address to bind. Default loopback; binding elsewhere needs authentication or <see cref="Insecure"/>.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port for gRPC and REST together. Default 19530, as Milvus; 0 picks a free port.</summary>
    public int Port { get; set; } = 19530;

    /// <summary>Replaces the listener (Kestrel on <see cref="Host"/>:<see cref="Port"/>) with another ASP.NET Core
    /// server set on the host's builder: a cluster node serves each shard's engine in its own process through ASP.NET
    /// Core's in-memory server, so a shard opens no socket. Null (the default): Kestrel. Not a setting (no config key
    /// or environment variable reaches it); with it, <see cref="QuiverServer.Port"/> is 0 and TLS is not set up.</summary>
    internal Action<Microsoft.AspNetCore.Hosting.IWebHostBuilder>? Listener { get; set; }

    /// <summary>Allow binding beyond loopback without authentication.</summary>
    public bool Insecure { get; set; }

    /// <summary>Authentication, TLS, request limits and the audit log.</summary>
    public Security.SecurityOptions Security { get; set; } = new();

    /// <summary>Memory budgets: the largest answer of one search or query and the request bytes held at once.</summary>
    public MemoryOptions Memory { get; set; } = new();

    /// <summary>How long a shutdown (SIGTERM, SIGINT) waits for in-flight calls before cancelling them; default 30 s.
    /// The engine is closed after that either way, so every acknowledged write stays durable.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Console log format of <c>quiver serve</c>: <see cref="ServerLogFormat.Text"/> (default) or
    /// <see cref="ServerLogFormat.Json"/> (one JSON object a line).</summary>
    public ServerLogFormat LogFormat { get; set; } = ServerLogFormat.Text;

    /// <summary>Minimum level logged by <c>quiver serve</c>; default <see cref="LogLevel.Information"/>. At
    /// <see cref="LogLevel.Debug"/> every completed call is logged with its request id.</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    /// <summary>Live recall monitoring: the sample rate, window and queue of <c>Monitoring:*</c>.</summary>
    public Observability.MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>Embedding providers of TextEmbedding functions (<c>Embedding:OpenAi:BaseUrl</c>, ...): the local model is
    /// on by default, an OpenAI-compatible service once its base URL is set. Used unless
    /// <see cref="QuiverOptions.TextEmbedders"/> is set on <see cref="Engine"/>.</summary>
    public Embeddings.EmbeddingOptions Embedding { get; set; } = new();

    /// <summary>Options of the embedded engine under the server.</summary>
    public QuiverOptions Engine { get; set; } = new();

    /// <summary>Bulk import (Milvus's <c>Import</c> RPC and REST import jobs).</summary>
    public Import.BulkImportOptions Import { get; set; } = new();

    /// <summary>The web console at <c>/console</c> and the metrics history behind its charts.</summary>
    public Console.ConsoleOptions Console { get; set; } = new();
}

/// <summary>Console log formats of <c>quiver serve</c>.</summary>
public enum ServerLogFormat
{
    /// <summary>Human-readable lines.</summary>
    Text = 0,

    /// <summary>One JSON object a line (timestamp, level, category, message, and the message's named values).</summary>
    Json = 1,
}
