using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Quiver.Client;

namespace Quiver.Toolbox;

/// <summary>A resolved target: exactly one of <paramref name="DataPath"/> and <paramref name="Uri"/> is set.</summary>
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

    /// <summary>An embedded folder.</summary>
    public static TargetSpec Folder(string path, string database = QuiverEngine.DefaultDatabase) => new(path, null, null, null, null, database);

    /// <summary>A server.</summary>
    public static TargetSpec Server(string uri, string? token = null, string database = QuiverEngine.DefaultDatabase) => new(null, uri, token, null, null, database);

    /// <summary>Opens the target. An embedded folder that does not exist is an error unless
    /// <paramref name="createFolder"/> (import and restore may start a new one).</summary>
    internal async Task<OpsTarget> OpenAsync(bool createFolder = false, CancellationToken cancellationToken = default)
    {
        if (DataPath is { } path)
        {
            if (!createFolder && !Directory.Exists(path))
            {
                throw new ToolboxException($"no Quiver data folder at '{path}' (give --data FOLDER, or --uri for a running server)");
            }

            QuiverEngine engine;
            try
            {
                engine = await QuiverEngine.OpenAsync(path, new QuiverOptions { TextEmbedders = TextEmbedders }, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new ToolboxException($"cannot open data folder '{path}': {e.Message} (is a server running on it? then use --uri)", e);
            }

            return new OpsTarget(QuiverClient.FromEngine(engine), engine, null, null, Database, $"folder {path}");
        }

        var address = Uri!.Contains("://", StringComparison.Ordinal) ? Uri : "http://" + Uri;
        var options = new QuiverClientOptions
        {
            Address = address, Database = Database, Token = Token, User = User, Password = Password, TrustedServerCertificate = TrustedServerCertificate,
            ClientCertificate = ClientCertificate,
        };
        var client = await QuiverClient.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        var credential = Token ?? (User is not null ? $"{User}:{Password}" : null);
        if (credential is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        return new OpsTarget(client, null, http, address, Database, $"server {address}");
    }
}

/// <summary>An opened target: the shared client API, plus the engine (embedded) or an HTTP client for the server's
/// REST and <c>/metrics</c> endpoints (remote). Disposing closes what it opened.</summary>
internal sealed class OpsTarget : IAsyncDisposable
{
    internal OpsTarget(IQuiverClient client, QuiverEngine? engine, HttpClient? http, string? address, string database, string description)
    {
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
        await Client.DisposeAsync().ConfigureAwait(false);
        Http?.Dispose();
        if (Engine is not null)
        {
            await Engine.DisposeAsync().ConfigureAwait(false);
        }
    }
}
