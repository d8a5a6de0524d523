using Quiver.Client.Embedded;
using Quiver.Client.Remote;

namespace Quiver.Client;

/// <summary>Opens an <see cref="IQuiverClient"/>: embedded over a local folder, or connected to a server.</summary>
public static class QuiverClient
{
    /// <summary>Opens the embedded engine over <paramref name="path"/> (created when missing) and returns a client that
    /// owns it: disposing the client disposes the engine.</summary>
    public static async Task<IQuiverClient> OpenEmbeddedAsync(string path, QuiverOptions? options = null, CancellationToken cancellationToken = default)
    {
        var engine = await QuiverEngine.OpenAsync(path, options, cancellationToken).ConfigureAwait(false);
        return new EmbeddedQuiverClient(engine, ownsEngine: true);
    }

    /// <summary>A client over an engine the caller already opened and keeps owning.</summary>
    public static IQuiverClient FromEngine(QuiverEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return new EmbeddedQuiverClient(engine, ownsEngine: false);
    }

    /// <summary>Connects to a Quiver (or Milvus) server over gRPC and checks it with <c>Connect</c>: a wrong address,
    /// refused credentials or an unknown database fail here rather than at the first call.</summary>
    public static async Task<IQuiverClient> ConnectAsync(QuiverClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = new RemoteQuiverClient(options);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
