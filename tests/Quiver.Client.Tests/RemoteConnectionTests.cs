using System.Net;
using System.Net.Sockets;

namespace Quiver.Client.Tests;

/// <summary>Connecting over gRPC: what works before the server's data handlers exist.</summary>
public sealed class RemoteConnectionTests
{
    /// <summary>Connecting makes one successful <c>Connect</c> call (the server counts it) and leaves a client that
    /// reaches the server's catalog.</summary>
    [Fact]
    public async Task Connect_ToRunningServer_CallsConnectAndServes()
    {
        var port = 0;
        await using var target = await ClientTarget.RemoteAsync(p =>
        {
            port = p;
            return new QuiverClientOptions { Address = $"http://127.0.0.1:{p}" };
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("quiver_rpc_requests_total{method=\"Connect\",transport=\"grpc\",code=\"0\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(["default"], await target.Client.ListDatabasesAsync());
    }

    [Fact]
    public async Task Connect_NothingListening_IsUnavailable()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var e = await Assert.ThrowsAsync<QuiverServerException>(() =>
            QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{port}", Timeout = TimeSpan.FromSeconds(5) }));
        Assert.Equal(QuiverErrorCode.Unavailable, e.Code);
        Assert.Contains("Connect", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_AddressWithoutScheme_IsInvalidArgument()
    {
        var e = await Assert.ThrowsAsync<QuiverException>(() => QuiverClient.ConnectAsync(new QuiverClientOptions { Address = "127.0.0.1:19530" }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
    }
}
