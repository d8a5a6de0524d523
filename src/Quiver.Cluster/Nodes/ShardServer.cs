using System.Net;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Hosting;

namespace Quiver.Cluster.Nodes;

/// <summary>How a node serves the engine of a shard or replica: a Quiver server (so every Milvus call means exactly what
/// it means to the standalone server) on ASP.NET Core's in-memory server instead of a loopback listener. Calls reach it
/// through an <see cref="HttpMessageHandler"/> in the same process: no socket, port or HTTP/2 connection per shard, and
/// no Kestrel transport threads and buffers (before session 33 each shard and each replica listened on a loopback port
/// of its own; bench/shard-memory.sh counts a node's listeners).</summary>
internal static class ShardServer
{
    /// <summary>Makes <paramref name="options"/> serve in-process (<see cref="ServerOptions.Listener"/>).</summary>
    public static ServerOptions InProcess(ServerOptions options)
    {
        options.Listener = web => web.UseTestServer();
        return options;
    }

    /// <summary>A gRPC channel and a REST client to <paramref name="server"/>, started with <see cref="InProcess"/>.
    /// The calls carry the loopback address as their peer, as they did over the loopback port (the request log and
    /// the audit log name it).</summary>
    public static (GrpcChannel Grpc, HttpClient Http) Clients(QuiverServer server)
    {
        var memory = (TestServer)server.Services.GetRequiredService<IServer>();
        var grpc = GrpcChannel.ForAddress(memory.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = memory.CreateHandler(Loopback),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
        // The access layer's own deadline (ShardCalls) bounds a call; the in-process hop adds none.
        var rest = new HttpClient(memory.CreateHandler(Loopback)) { BaseAddress = memory.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        return (grpc, rest);
    }

    private static void Loopback(Microsoft.AspNetCore.Http.HttpContext http) => http.Connection.RemoteIpAddress = IPAddress.Loopback;
}
