using Quiver.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Typed.Tests;

/// <summary>A client over a temp folder, embedded or through the real server on a loopback port; disposing it stops
/// the server and removes the folder.</summary>
public sealed class Target(IQuiverClient client, QuiverServer? server, TempFolder folder) : IAsyncDisposable
{
    public IQuiverClient Client { get; } = client;

    public static async Task<Target> OpenAsync(bool remote)
    {
        var folder = new TempFolder("quiver-typed");
        var engine = new QuiverOptions { BackgroundMaintenance = false };
        if (!remote)
        {
            return new Target(await QuiverClient.OpenEmbeddedAsync(folder.Path, engine), null, folder);
        }

        var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Port = 0, Engine = engine });
        try
        {
            var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{server.Port}" });
            return new Target(client, server, folder);
        }
        catch
        {
            await server.DisposeAsync();
            folder.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        folder.Dispose();
    }
}
