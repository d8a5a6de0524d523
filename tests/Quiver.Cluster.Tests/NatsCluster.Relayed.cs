using System.Diagnostics;

namespace Quiver.Cluster.Tests;

public sealed partial class NatsCluster
{
    /// <summary>A cluster whose server 2 reaches the other two only through <see cref="RouteRelay"/>s: servers 0 and 1
    /// route to each other directly and start first; server 2 starts once they have, routes to each through a relay and
    /// advertises a relay to itself, and 0 and 1 advertise the relays to them, so every route server 2 takes part in
    /// (whichever side dials it, whatever the servers tell each other of their addresses) passes a relay.
    /// <see cref="RelayedServer.Cut"/> then leaves server 2 running and answering its clients, cut off from the other two,
    /// which keep their quorum.</summary>
    public static async Task<(NatsCluster Cluster, RelayedServer Server2)> StartRelayedAsync()
    {
        if (ServerPath is null)
        {
            throw new InvalidOperationException(NatsFactAttribute.Missing);
        }

        var cluster = new NatsCluster();
        var relays = new List<RouteRelay>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                cluster._clientPorts[i] = FreePort();
                cluster._routePorts[i] = FreePort();
            }

            var to = new RouteRelay[3];
            for (var i = 0; i < 3; i++)
            {
                to[i] = new RouteRelay(cluster._routePorts[i]);
                relays.Add(to[i]);
            }

            cluster.WriteConfig(0, [cluster._routePorts[1]], to[0].Port);
            cluster.WriteConfig(1, [cluster._routePorts[0]], to[1].Port);
            cluster.WriteConfig(2, [to[0].Port, to[1].Port], to[2].Port);
            cluster.Start(0);
            cluster.Start(1);
            await cluster.WaitForLogAsync(0, "Route connection created").ConfigureAwait(false);
            cluster.Start(2);
            for (var i = 0; i < 3; i++)
            {
                await cluster.WaitReadyAsync(i).ConfigureAwait(false);
            }

            await cluster.WaitForThreeReplicaPlacementAsync().ConfigureAwait(false);
            return (cluster, new RelayedServer(relays));
        }
        catch
        {
            foreach (var relay in relays)
            {
                await relay.DisposeAsync().ConfigureAwait(false);
            }

            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits until the meta leader can place a stream on all three servers. Each server answering JetStream
    /// requests (a meta leader exists) is not enough: server 2, whose routes pass relays, can join the meta group a moment
    /// later, and a 3-replica stream created before that is refused with "no suitable peers for placement" (CI, session
    /// 36). A probe stream is created until it is placed, then deleted (a safety-net timeout only).</summary>
    private async Task WaitForThreeReplicaPlacementAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts
        {
            Url = Urls[0],
            ConnectTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(5),
        });
        var js = new NATS.Client.JetStream.NatsJSContext(nats);
        var probe = $"placement_probe_{Guid.NewGuid():N}";
        while (true)
        {
            try
            {
                await js.CreateStreamAsync(new NATS.Client.JetStream.Models.StreamConfig(probe, [$"{probe}.>"]) { NumReplicas = 3 }).ConfigureAwait(false);
                await js.DeleteStreamAsync(probe).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
            {
                if (clock.Elapsed > ReadyTimeout)
                {
                    throw new TimeoutException($"no 3-replica stream could be placed: {ex.Message}");
                }

                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until server <paramref name="index"/>'s log holds <paramref name="text"/> (a safety-net timeout only).</summary>
    private async Task WaitForLogAsync(int index, string text)
    {
        var clock = Stopwatch.StartNew();
        while (!ReadLog(index).Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException($"nats-server {index} never logged '{text}': {ReadLog(index)}");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }
}

/// <summary>The relays every route of server 2 of <see cref="NatsCluster.StartRelayedAsync"/> passes.</summary>
public sealed class RelayedServer(IReadOnlyList<RouteRelay> relays) : IAsyncDisposable
{
    /// <summary>Cuts server 2 off from the other two (it goes on running and answering its own clients).</summary>
    public void Cut()
    {
        foreach (var relay in relays)
        {
            relay.Pause();
        }
    }

    /// <summary>Joins server 2 to the other two again.</summary>
    public void Join()
    {
        foreach (var relay in relays)
        {
            relay.Resume();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in relays)
        {
            await relay.DisposeAsync();
        }
    }
}
