using System.Net;
using System.Net.Sockets;

namespace Quiver.Cluster.Tests;

/// <summary>A TCP relay on loopback between NATS servers' route ports that can be paused: while paused it forwards no
/// byte it reads, in either direction, on any connection (the connections stay open, so the servers on both sides go on
/// running and answering their own clients, cut off from each other). Resuming forwards what was held, in order.</summary>
public sealed class RouteRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly Task _accepting;
    private volatile TaskCompletionSource _open = Opened();

    /// <summary>Listens on a free loopback port and relays each connection to <paramref name="target"/>.</summary>
    public RouteRelay(int target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port the relay listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>From now on, nothing read is forwarded until <see cref="Resume"/>.</summary>
    public void Pause() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Forwards what was held and everything after.</summary>
    public void Resume() => _open.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Resume();
        lock (_connections)
        {
            foreach (var c in _connections)
            {
                c.Dispose();
            }
        }

        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            }
            catch (SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add(inbound);
                _connections.Add(outbound);
            }

            _ = PumpAsync(inbound, outbound);
            _ = PumpAsync(outbound, inbound);
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>; each chunk read waits for the relay to be open
    /// before it is written, so a chunk read after <see cref="Pause"/> is held.</summary>
    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            var source = from.GetStream();
            var sink = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, _stop.Token)) > 0)
            {
                await _open.Task.WaitAsync(_stop.Token);
                await sink.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
