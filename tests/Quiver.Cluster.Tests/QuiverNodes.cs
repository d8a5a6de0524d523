using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Quiver cluster nodes as child processes (<c>Quiver.Cluster node --config FILE</c>) on loopback, over a
/// <see cref="NatsCluster"/>: each started with its own config and data folder, ready when it prints its ready line,
/// stopped by its PID. Every line a node prints is kept, so a test can see which node activated a shard.</summary>
public sealed partial class QuiverNodes : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(180);

    private readonly TempFolder _folder = new("quiver-nodes");
    private readonly string _nats;
    private readonly string _cluster = $"qc{Guid.NewGuid():N}"[..12];
    private readonly List<Node> _nodes = [];
    private IReadOnlyDictionary<string, string> _environment = new Dictionary<string, string>();
    private IReadOnlyDictionary<string, object> _settings = new Dictionary<string, object>();
    private string _program = NodeDll;

    private QuiverNodes(string nats) => _nats = nats;

    /// <summary>The Milvus gRPC address of node <paramref name="index"/>.</summary>
    public string Address(int index) => $"http://{Endpoint(index)}";

    /// <summary>Node <paramref name="index"/>'s <c>host:port</c>, where it serves gRPC and REST v2.</summary>
    public string Endpoint(int index) => $"127.0.0.1:{_nodes[index].MilvusPort}";

    /// <summary>Node <paramref name="index"/>'s silo <c>host:port</c>, as the membership table names it.</summary>
    public string SiloEndpoint(int index) => $"127.0.0.1:{_nodes[index].SiloPort}";

    /// <summary>What <c>Quiver.Cluster status</c> prints for this cluster (run with node 0's config file, as an operator
    /// would on any machine that reaches the NATS servers).</summary>
    public async Task<string> StatusAsync()
    {
        var (code, stdout, stderr) = await RunProgramAsync("status", "--config", _folder.Sub("node0.json"));
        return code == 0 ? stdout : throw new InvalidOperationException($"status exited {code}: {stderr}");
    }

    /// <summary>Runs the node program (<c>Quiver.Cluster</c>) with <paramref name="args"/> until it exits (a command that
    /// ends by itself; a safety-net timeout only): its exit code, its standard output and its standard error.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunProgramAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", [NodeDll, .. args])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Quiver.Cluster {args[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <paramref name="count"/> nodes over the NATS servers at <paramref name="nats"/>, with
    /// <paramref name="environment"/> added to each node's environment and <paramref name="settings"/> to its config file;
    /// <paramref name="program"/> is the node program's assembly beside the tests (<c>quiver.dll</c>: the CLI's
    /// <c>quiver node</c>).</summary>
    public static async Task<QuiverNodes> StartAsync(string nats, int count, IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyDictionary<string, object>? settings = null, string program = "Quiver.Cluster.dll")
    {
        var nodes = new QuiverNodes(nats)
        {
            _environment = environment ?? new Dictionary<string, string>(),
            _settings = settings ?? new Dictionary<string, object>(),
            _program = Path.Combine(AppContext.BaseDirectory, program),
        };
        try
        {
            for (var i = 0; i < count; i++)
            {
                nodes._nodes.Add(nodes.Launch(i));
            }

            foreach (var node in nodes._nodes)
            {
                await node.Ready.Task.WaitAsync(ReadyTimeout);
            }

            return nodes;
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }
    }

    /// <summary>The index of the live node whose output says it activated the shard of <paramref name="shardKey"/> last.</summary>
    public int? HostOf(string shardKey)
    {
        var line = $"shard {shardKey} active here";
        for (var i = 0; i < _nodes.Count; i++)
        {
            if (_nodes[i].Process is { HasExited: false } && _nodes[i].Lines().Any(l => l.Contains(line, StringComparison.Ordinal)))
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Kills node <paramref name="index"/> with SIGKILL (by its PID) and waits for it to be gone.</summary>
    public void Kill(int index)
    {
        var p = _nodes[index].Process;
        Process.GetProcessById(p.Id).Kill();
        p.WaitForExit();
    }

    /// <summary>The process id of node <paramref name="index"/>, as it was started.</summary>
    public int ProcessId(int index) => _nodes[index].Process.Id;

    /// <summary>Everything node <paramref name="index"/> printed, for failure messages.</summary>
    public string Output(int index) => string.Join('\n', _nodes[index].Lines());

    public ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (!node.Process.HasExited)
            {
                Process.GetProcessById(node.Process.Id).Kill();
                node.Process.WaitForExit();
            }

            node.Process.Dispose();
        }

        _folder.Dispose();
        return ValueTask.CompletedTask;
    }

    private Node Launch(int index)
    {
        var config = _folder.Sub($"node{index}.json");
        var siloPort = NatsCluster.FreePort();
        var values = new Dictionary<string, object>
        {
            ["cluster"] = _cluster,
            ["nats"] = _nats,
            ["dataPath"] = _folder.Sub($"data{index}"),
            ["host"] = "127.0.0.1",
            ["milvusPort"] = 0,
            ["siloPort"] = siloPort,
        };
        foreach (var (key, value) in _settings)
        {
            values[key] = value;
        }

        File.WriteAllText(config, JsonSerializer.Serialize(values));
        var info = new ProcessStartInfo("dotnet", [_program, "node", "--config", config])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("the node did not start");
        var node = new Node(process) { SiloPort = siloPort };
        process.OutputDataReceived += (_, e) => node.Add(e.Data);
        process.ErrorDataReceived += (_, e) => node.Add(e.Data);
        process.Exited += (_, _) => node.Ready.TrySetException(new InvalidOperationException($"node {index} exited: {string.Join('\n', node.Lines())}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>The node program, built beside the tests (the test project references it).</summary>
    private static string NodeDll => Path.Combine(AppContext.BaseDirectory, "Quiver.Cluster.dll");

    [GeneratedRegex(@"quiver node ready: milvus [0-9.]+:(\d+)")]
    private static partial Regex ReadyLine();

    private sealed class Node(Process process)
    {
        private readonly List<string> _lines = [];

        public Process Process { get; } = process;

        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int MilvusPort { get; private set; }

        public int SiloPort { get; init; }

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Add(line);
            }

            if (ReadyLine().Match(line) is { Success: true } m)
            {
                MilvusPort = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Ready.TrySetResult();
            }
        }

        public IReadOnlyList<string> Lines()
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }
}
