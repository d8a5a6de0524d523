using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Client.Tests;

/// <summary>An <see cref="IQuiverClient"/> under test with whatever it runs on (a temp folder, a server); disposing it
/// disposes the client, then the rest.</summary>
public sealed class ClientTarget(IQuiverClient client, Func<ValueTask> cleanup) : IAsyncDisposable
{
    public IQuiverClient Client { get; } = client;

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await cleanup();
    }

    /// <summary>The engine opened in process over a temp folder (background maintenance off: tests control every step).</summary>
    public static async Task<ClientTarget> EmbeddedAsync()
    {
        var folder = new TempFolder("quiver-client");
        var client = await QuiverClient.OpenEmbeddedAsync(folder.Path, new QuiverOptions { BackgroundMaintenance = false });
        return new ClientTarget(client, () =>
        {
            folder.Dispose();
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>Quiver's server in this process on a free loopback port over a temp folder, and a client connected to it
    /// over gRPC.</summary>
    public static async Task<ClientTarget> RemoteAsync(Func<int, QuiverClientOptions>? options = null)
    {
        var folder = new TempFolder("quiver-client");
        QuiverServer? server = null;
        try
        {
            server = await QuiverServer.StartAsync(new ServerOptions
            {
                DataPath = folder.Path,
                Port = 0,
                Engine = new QuiverOptions { BackgroundMaintenance = false },
            });
            var port = server.Port;
            var client = await QuiverClient.ConnectAsync(options?.Invoke(port) ?? new QuiverClientOptions { Address = $"http://127.0.0.1:{port}" });
            var started = server;
            return new ClientTarget(client, async () =>
            {
                await started.DisposeAsync();
                folder.Dispose();
            });
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            folder.Dispose();
            throw;
        }
    }
}
