using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Quiver.Server.Console;

/// <summary>
/// The operator tools the console offers beside its pages: <c>quiver advise</c> (which index to build, offered in the
/// create-index form) and <c>quiver tune</c> (the search-parameter sweep and its recall / latency curve). They live in
/// the toolbox (the <c>quiver</c> command), which hosts the server, so the server reaches them through this seam:
/// <c>quiver serve</c> plugs in the toolbox's (<see cref="ConsoleOptions.Toolbox"/>); a server hosted without it answers
/// the console's advise and tune calls with code 10 (unimplemented) and the page says so.
/// </summary>
internal interface IConsoleToolbox
{
    /// <summary>Runs the advice on the collection of <paramref name="call"/>; returns the toolbox's JSON result (the
    /// same document as <c>quiver advise --json</c>).</summary>
    Task<JsonNode> AdviseAsync(ConsoleToolCall call, CancellationToken cancellationToken);

    /// <summary>Runs the tuning sweep on the collection of <paramref name="call"/>; returns the toolbox's JSON result (the
    /// same document as <c>quiver tune --json</c>).</summary>
    Task<JsonNode> TuneAsync(ConsoleToolCall call, CancellationToken cancellationToken);
}

/// <summary>One advise or tune request from the console. The tool works as a client of this server
/// (<paramref name="ServerUri"/>, the address and port the request arrived on) with the caller's own
/// <paramref name="Credential"/>, so every call it makes passes the same authentication, privileges, limits, metrics and
/// audit as the caller's own.</summary>
/// <param name="ServerUri">This server as the caller reached it, e.g. <c>http://127.0.0.1:19530</c>.</param>
/// <param name="Credential">The caller's bearer credential (<c>user:password</c> or an API key), or null with
/// authentication off.</param>
/// <param name="Database">The database.</param>
/// <param name="Collection">The collection.</param>
/// <param name="Field">The vector field, or null for the collection's only one.</param>
/// <param name="TargetRecall">recall@k to reach, in (0, 1].</param>
/// <param name="K">Top-k and the k of recall@k.</param>
/// <param name="Sample">Rows (advise: rows the candidates are built on) or query vectors (tune) to sample.</param>
/// <param name="Save">Tune only: store the chosen setting as the field's default search parameters.</param>
internal sealed record ConsoleToolCall(
    string ServerUri, string? Credential, string Database, string Collection, string? Field, double TargetRecall, int K, int Sample, bool Save)
{
    /// <summary>Where the tool reports its stages and notes while it runs (the page polls them); null: nowhere.</summary>
    public IConsoleToolProgress? Progress { get; init; }

    /// <summary>With TLS: this server's own certificate, which the tool trusts when it connects back to
    /// <see cref="ServerUri"/> whatever the certificate's names and issuer (the address it connects to is this server's
    /// own, which a certificate made for a host name does not list). Null without TLS.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>With TLS: the client certificate (with its key) the tool presents when it connects back, from
    /// <see cref="ConsoleOptions.ClientCertificatePath"/>; a server that requires client certificates accepts the tool only
    /// with it. Null: none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }
}
