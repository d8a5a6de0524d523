using Grpc.Core;
using Grpc.Net.Client;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>One cluster node (over its own 3-server NATS cluster) beside a standalone server on an empty folder, with a
/// gRPC channel to each: for tests that send both the same call and expect the node to answer in the standalone
/// server's words. Everything is stopped on dispose.</summary>
public sealed class NodeBesideStandalone : IAsyncDisposable
{
    private readonly NatsCluster _nats;
    private readonly QuiverNodes _nodes;
    private readonly TempFolder _folder;
    private readonly QuiverServer _standalone;
    private readonly GrpcChannel _node;
    private readonly GrpcChannel _single;

    private NodeBesideStandalone(NatsCluster nats, QuiverNodes nodes, TempFolder folder, QuiverServer standalone)
    {
        (_nats, _nodes, _folder, _standalone) = (nats, nodes, folder, standalone);
        _node = GrpcChannel.ForAddress(nodes.Address(0));
        _single = GrpcChannel.ForAddress($"http://127.0.0.1:{standalone.Port}");
    }

    /// <summary>Calls to the node.</summary>
    public CallInvoker Node => _node.CreateCallInvoker();

    /// <summary>Calls to the standalone server.</summary>
    public CallInvoker Standalone => _single.CreateCallInvoker();

    public static async Task<NodeBesideStandalone> StartAsync()
    {
        var nats = await NatsCluster.StartAsync();
        QuiverNodes? nodes = null;
        var folder = new TempFolder("quiver-oracle");
        try
        {
            nodes = await QuiverNodes.StartAsync(nats.Url, 1);
            var standalone = await QuiverServer.StartAsync(new ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
            return new NodeBesideStandalone(nats, nodes, folder, standalone);
        }
        catch
        {
            folder.Dispose();
            if (nodes is not null)
            {
                await nodes.DisposeAsync();
            }
            await nats.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _node.Dispose();
        _single.Dispose();
        await _standalone.DisposeAsync();
        _folder.Dispose();
        await _nodes.DisposeAsync();
        await _nats.DisposeAsync();
    }
}
