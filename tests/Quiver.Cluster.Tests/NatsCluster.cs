using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NATS.Client.Core;
using NATS.Client.JetStream;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>A 3-server JetStream cluster of Debian's <c>nats-server</c> on loopback: ephemeral ports, its own temp store
/// folders, each server a child process stopped by its PID. <see cref="StartAsync"/> returns once JetStream has a meta
/// leader and all three servers answer; nothing waits for a fixed time.</summary>
public sealed partial class NatsCluster : IAsyncDisposable
{
    /// <summary>Where Debian installs the server; null when it is not installed.</summary>
    public static readonly string? ServerPath = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server" }.FirstOrDefault(File.Exists);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    private readonly TempFolder _folder = new("quiver-nats");
    private readonly Process?[] _processes = new Process?[3];
    private readonly int[] _clientPorts = new int[3];
    private readonly int[] _routePorts = new int[3];

    private NatsCluster()
    {
    }

    /// <summary>Client URLs of the three servers.</summary>
    public IReadOnlyList<string> Urls => [.. _clientPorts.Select(p => $"nats://127.0.0.1:{p}")];

    /// <summary>All three URLs in one string, as <see cref="NatsOpts.Url"/> takes them.</summary>
    public string Url => string.Join(',', Urls);

    /// <summary>Starts the three servers and waits until JetStream answers through every one of them.</summary>
    public static async Task<NatsCluster> StartAsync()
    {
        if (ServerPath is null)
        {
            throw new InvalidOperationException(NatsFactAttribute.Missing);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync().ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.Ordinal))
            {
                // A port FreePort found free was taken by another process (tests run in parallel) before nats-server bound
                // it; the failed attempt's servers are stopped, and the next attempt picks new ports.
            }
        }
    }

    private static async Task<NatsCluster> StartOnceAsync()
    {
        var cluster = new NatsCluster();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                cluster._clientPorts[i] = FreePort();
                cluster._routePorts[i] = FreePort();
            }

            for (var i = 0; i < 3; i++)
            {
                cluster.WriteConfig(i);
                cluster.Start(i);
            }

            for (var i = 0; i < 3; i++)
            {
                await cluster.WaitReadyAsync(i).ConfigureAwait(false);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A new client connection to every server of the cluster (it fails over between them).</summary>
    public NatsConnection Connect() => new(new NatsOpts
    {
        Url = Url,
        Name = "quiver-cluster-tests",
        // Short: a request lost with a killed server is retried (src/Quiver.Cluster/Retry.cs) instead of awaited.
        RequestTimeout = TimeSpan.FromSeconds(3),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        MaxReconnectRetry = -1,
    });

    /// <summary>Kills server <paramref name="index"/> with SIGKILL, by its PID, and waits for it to exit.</summary>
    public void Kill(int index)
    {
        if (_processes[index] is { } p)
        {
            KillAndWait(p);
            p.Dispose();
            _processes[index] = null;
        }
    }

    /// <summary>Starts server <paramref name="index"/> again over its old store folder and waits until it answers.</summary>
    public async Task RestartAsync(int index)
    {
        Start(index);
        await WaitReadyAsync(index).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            Kill(i);
        }

        _folder.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void KillAndWait(Process p)
    {
        try
        {
            Process.GetProcessById(p.Id).Kill();
        }
        catch (ArgumentException)
        {
            // It has exited already.
        }
        catch (InvalidOperationException)
        {
        }

        p.WaitForExit();
    }

    internal static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private string ConfigPath(int index) => _folder.Sub($"n{index}.conf");

    /// <summary>Writes server <paramref name="index"/>'s configuration: routes to the other two servers' route ports,
    /// or to <paramref name="routes"/> when given, and an advertised route address when <paramref name="advertise"/> is
    /// given (<see cref="StartRelayedAsync"/>).</summary>
    private void WriteConfig(int index, int[]? routes = null, int? advertise = null)
    {
        var store = _folder.Sub($"store{index}");
        Directory.CreateDirectory(store);
        var list = string.Join(", ", (routes ?? [.. Enumerable.Range(0, 3).Where(j => j != index).Select(j => _routePorts[j])]).Select(p => $"nats-route://127.0.0.1:{p}"));
        var advertised = advertise is { } port ? $"\n  advertise: \"127.0.0.1:{port}\"" : "";
        File.WriteAllText(ConfigPath(index), string.Create(CultureInfo.InvariantCulture, $$"""
            server_name: q{{index}}
            listen: 127.0.0.1:{{_clientPorts[index]}}
            jetstream {
              store_dir: "{{store}}"
              max_memory_store: 64MB
              max_file_store: 2GB
            }
            cluster {
              name: quiver-test
              listen: 127.0.0.1:{{_routePorts[index]}}{{advertised}}
              routes: [{{list}}]
            }
            """));
    }

    private void Start(int index)
    {
        var info = new ProcessStartInfo(ServerPath!, ["-c", ConfigPath(index)])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var log = _folder.Sub($"n{index}.log");
        var p = Process.Start(info) ?? throw new InvalidOperationException("nats-server did not start");
        p.OutputDataReceived += (_, e) => Append(log, e.Data);
        p.ErrorDataReceived += (_, e) => Append(log, e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes[index] = p;
    }

    private static void Append(string log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                File.AppendAllText(log, line + "\n");
            }
        }
    }

    /// <summary>Waits until server <paramref name="index"/> answers a JetStream account request (which needs a meta leader).</summary>
    private async Task WaitReadyAsync(int index)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (_processes[index] is not { HasExited: false })
            {
                throw new InvalidOperationException($"nats-server {index} exited: {ReadLog(index)}");
            }

            try
            {
                await using var nats = new NatsConnection(new NatsOpts { Url = Urls[index], ConnectTimeout = TimeSpan.FromSeconds(5), RequestTimeout = TimeSpan.FromSeconds(5) });
                await nats.ConnectAsync().ConfigureAwait(false);
                await new NatsJSContext(nats).GetAccountInfoAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
            {
                last = ex;
                await Task.Delay(200).ConfigureAwait(false);
            }
        }

        throw new TimeoutException($"nats-server {index} did not answer JetStream requests: {last?.Message}; log: {ReadLog(index)}");
    }

    private string ReadLog(int index)
    {
        var log = _folder.Sub($"n{index}.log");
        lock (log)
        {
            return File.Exists(log) ? File.ReadAllText(log) : "(no log)";
        }
    }
}

/// <summary>A fact that needs Debian's <c>nats-server</c>: skipped, saying so, only when it is not installed.</summary>
public sealed class NatsFactAttribute : FactAttribute
{
    internal const string Missing = "nats-server is not installed: ./scripts/setup.sh installs Debian's nats-server";

    /// <summary>Skips the test when the server is absent.</summary>
    public NatsFactAttribute()
    {
        if (NatsCluster.ServerPath is null)
        {
            Skip = Missing;
        }
    }
}

/// <summary>A theory that needs Debian's <c>nats-server</c>: skipped, saying so, only when it is not installed.</summary>
public sealed class NatsTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the test when the server is absent.</summary>
    public NatsTheoryAttribute()
    {
        if (NatsCluster.ServerPath is null)
        {
            Skip = NatsFactAttribute.Missing;
        }
    }
}
