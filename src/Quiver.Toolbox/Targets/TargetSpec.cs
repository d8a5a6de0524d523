using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Quiver.Client;
using Quiver.Client.Embedded;
using Quiver.Client.Remote;

namespace Quiver.Toolbox;

/// <summary>Where a toolbox call works: an embedded data folder (<see cref="Folder"/>, <paramref name="DataPath"/>), a
/// server (<see cref="Server"/>, <paramref name="Uri"/>), or a client the caller has already opened
/// (<see cref="Client"/>, <see cref="OpenClient"/>); exactly one of the three is set.</summary>
/// <param name="DataPath">The embedded folder.</param>
/// <param name="Uri">The server address.</param>
/// <param name="Token">API key or user:password.</param>
/// <param name="User">User name (with <paramref name="Password"/>).</param>
/// <param name="Password">Password of <paramref name="User"/>.</param>
/// <param name="Database">The database the command acts on.</param>
public sealed record TargetSpec(string? DataPath, string? Uri, string? Token, string? User, string? Password, string Database)
{
    /// <summary>Embedding providers for an embedded folder's TextEmbedding functions (<c>quiver import --embed</c>);
    /// default none. A server computes its own.</summary>
    public ITextEmbedderProvider? TextEmbedders { get; init; }

    /// <summary>A server's own certificate to trust whatever its names and issuer (the console's tools connecting back
    /// to the server that runs them); default none: the system's trust store decides.</summary>
    public X509Certificate2? TrustedServerCertificate { get; init; }

    /// <summary>A client certificate (with its key) to present over TLS, for a server that requires one (the console's
    /// tools connecting back to a server with mutual TLS); default none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>A CA certificate that signed the server's certificate, trusted in addition to the system's store (as
    /// <see cref="QuiverClientOptions.ServerCertificateAuthority"/>); default none.</summary>
    public X509Certificate2? ServerCertificateAuthority { get; init; }

    /// <summary>Accept any server certificate (as <see cref="QuiverClientOptions.SkipCertificateValidation"/>). For tests
    /// only; default false.</summary>
    public bool SkipCertificateValidation { get; init; }

    /// <summary>A client the caller opened (<see cref="Client"/>): used as it is and never disposed by the toolbox;
    /// null for a folder or a server.</summary>
    public IQuiverClient? OpenClient { get; init; }

    /// <summary>An embedded folder.</summary>
    public static TargetSpec Folder(string path, string database = QuiverEngine.DefaultDatabase) => new(path, null, null, null, null, database);

    /// <summary>A server.</summary>
    public static TargetSpec Server(string uri, string? token = null, string database = QuiverEngine.DefaultDatabase) => new(null, uri, token, null, null, database);

    /// <summary>A client the caller has already opened, embedded (<c>QuiverClient.OpenEmbeddedAsync</c>,
    /// <c>QuiverClient.FromEngine</c>) or remote (<c>QuiverClient.ConnectAsync</c>): the toolbox calls it
    /// and leaves it open (the caller keeps owning it), so a program that holds a folder open can run the toolbox on it
    /// without closing it first. Over an embedded client the calls act as on <see cref="Folder"/>; over a remote one as
    /// on <see cref="Server"/>, reaching the server's HTTP endpoints (<c>/metrics</c>, REST) at the client's address
    /// with its credentials. Any other <see cref="IQuiverClient"/> serves every call that needs only the client (all
    /// but a server's health report and a backup's aliases, properties and load state, which then say so).</summary>
    /// <param name="client">The open client.</param>
    /// <param name="database">The database the calls act on (default <c>default</c>).</param>
    public static TargetSpec Client(IQuiverClient client, string database = QuiverEngine.DefaultDatabase)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new(null, null, null, null, null, database) { OpenClient = client };
    }

    /// <summary><paramref name="target"/>, or the <see cref="ToolboxErrorKind.InvalidOptions"/> refusal naming the
    /// options property (<paramref name="property"/>, <c>BackupOptions.Target</c>) when it is null.</summary>
    internal static TargetSpec Required(TargetSpec? target, string property) =>
        target ?? throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"{property}: give a folder, a server or a client");

    /// <summary>Opens the target. An embedded folder that does not exist is an error unless
    /// <paramref name="createFolder"/> (import and restore may start a new one).</summary>
    internal async Task<OpsTarget> OpenAsync(bool createFolder = false, CancellationToken cancellationToken = default)
    {
        if (OpenClient is { } open)
        {
            switch (open)
            {
                case EmbeddedQuiverClient embedded:
                    return new OpsTarget(open, embedded.Engine, null, null, Database, "an open embedded client", ownsClient: false);
                case RemoteQuiverClient remote:
                    var o = remote.Options;
                    return new OpsTarget(open, null, CreateHttp(o), o.Address, Database, $"an open client of server {o.Address}", ownsClient: false);
                default:
                    return new OpsTarget(open, null, null, null, Database, "an open client", ownsClient: false);
            }
        }

        if (DataPath is { } path)
        {
            if (!createFolder && !Directory.Exists(path))
            {
                throw new ToolboxException(ToolboxErrorKind.NotFound, $"no Quiver data folder at '{path}' (give TargetSpec.Folder an existing folder, or TargetSpec.Server a running server)");
            }

            QuiverEngine engine;
            try
            {
                engine = await QuiverEngine.OpenAsync(path, new QuiverOptions { TextEmbedders = TextEmbedders }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or QuiverException { Code: QuiverErrorCode.Locked })
            {
                // The engine refuses a folder another engine holds (Locked); that, like any other I/O failure opening
                // it, is the target being unusable: ToolboxErrorKind.Target, with the engine's refusal inside.
                throw new ToolboxException(ToolboxErrorKind.Target, $"cannot open data folder '{path}': {e.Message} (is a server running on it? then use TargetSpec.Server; is this process holding it open? then use TargetSpec.Client)", e);
            }

            return new OpsTarget(QuiverClient.FromEngine(engine), engine, null, null, Database, $"folder {path}");
        }

        var address = Uri!.Contains("://", StringComparison.Ordinal) ? Uri : "http://" + Uri;
        var options = new QuiverClientOptions
        {
            Address = address, Database = Database, Token = Token, User = User, Password = Password, TrustedServerCertificate = TrustedServerCertificate,
            ClientCertificate = ClientCertificate, ServerCertificateAuthority = ServerCertificateAuthority, SkipCertificateValidation = SkipCertificateValidation,
        };
        var client = await QuiverClient.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        return new OpsTarget(client, null, CreateHttp(options), address, Database, $"server {address}");
    }

    /// <summary>An HTTP client for a server's REST and <c>/metrics</c> endpoints with the client options' credentials and
    /// TLS settings (the gRPC client's own handler settings, so a server the client reaches is reached here too).</summary>
    private static HttpClient CreateHttp(QuiverClientOptions options)
    {
        var address = new Uri(options.Address);
        var handler = RemoteQuiverClient.CreateHandler(options, address.Scheme == System.Uri.UriSchemeHttps);
        var http = new HttpClient(handler, disposeHandler: true) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        var credential = options.Token ?? (options.User is not null ? $"{options.User}:{options.Password}" : null);
        if (credential is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        return http;
    }
}

/// <summary>An opened target: the shared client API, plus the engine (embedded) or an HTTP client for the server's
/// REST and <c>/metrics</c> endpoints (remote). Disposing closes what it opened, never a client the caller passed
/// (<see cref="TargetSpec.Client"/>) nor the engine behind it.</summary>
internal sealed class OpsTarget : IAsyncDisposable
{
    private readonly bool _ownsClient;

    internal OpsTarget(IQuiverClient client, QuiverEngine? engine, HttpClient? http, string? address, string database, string description, bool ownsClient = true)
    {
        _ownsClient = ownsClient;
        Client = client;
        Engine = engine;
        Http = http;
        Address = address;
        Database = database;
        Description = description;
    }

    /// <summary>The client over the folder or the server.</summary>
    public IQuiverClient Client { get; }

    /// <summary>The embedded engine, or null for a server.</summary>
    public QuiverEngine? Engine { get; }

    /// <summary>HTTP client with the base address and credentials of the server, or null embedded.</summary>
    public HttpClient? Http { get; }

    /// <summary>The server address, or null embedded.</summary>
    public string? Address { get; }

    /// <summary>The database the command acts on.</summary>
    public string Database { get; }

    /// <summary>"folder ./data" or "server http://127.0.0.1:19530", for messages.</summary>
    public string Description { get; }

    /// <summary>True for an embedded folder.</summary>
    public bool IsEmbedded => Engine is not null;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (!_ownsClient)
        {
            return;
        }

        await Client.DisposeAsync().ConfigureAwait(false);
        if (Engine is not null)
        {
            await Engine.DisposeAsync().ConfigureAwait(false);
        }
    }
}
