using System.Diagnostics;

namespace Quiver.Cluster.Tests;

/// <summary>The official Milvus Node.js SDK (tests/compat, installed by scripts/setup.sh) against three Quiver nodes over
/// a 3-server JetStream cluster, all child processes on loopback stopped by their PIDs: the tutorial's flow with each step
/// sent to a different node, over gRPC and REST v2 (tests/compat/cluster-flow.js, which checks every search against a
/// brute-force oracle and exits non-zero naming the first failure).</summary>
public sealed partial class ClusterSdkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>How long a compat script may run before it is killed (a safety net, not a figure any script nears).</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(15);

    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_TutorialFlow_EachStepThroughAnotherNode_OverGrpcAndRest()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        var text = await RunScriptAsync("cluster-flow.js", nodes, new Dictionary<string, string>());
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
    }

    /// <summary>Collections of 3 shards, aliases and a second database (tests/compat/cluster-shards.js): every search, query, get, count, statistic and refusal
    /// through the nodes equals a standalone server's on the same calls (the single-node oracle; FLAT, so exact), and the
    /// shards other than shard 0 were activated as their own grains (their nodes say so).</summary>
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_ShardsAliasesDatabases_AnswerAsASingleNode()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new Quiver.Testing.TempFolder("quiver-oracle");
        await using var oracle = await Quiver.Server.Hosting.QuiverServer.StartAsync(new Quiver.Server.Hosting.ServerOptions { DataPath = folder.Path, Host = "127.0.0.1", Port = 0 });
        var text = await RunScriptAsync("cluster-shards.js", nodes, new Dictionary<string, string> { ["QUIVER_ORACLE"] = $"127.0.0.1:{oracle.Port}" });
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
        foreach (var shard in new[] { "default/sharded_l2", "default/sharded_l2/1", "default/sharded_l2/2", "default/sharded_ip/2" })
        {
            Assert.True(nodes.HostOf(shard) is not null, $"no node says it activated shard {shard}");
        }
    }

    /// <summary>Runs a compat script with QUIVER_ADDRESSES naming the three nodes; when it exits non-zero, fails with
    /// the script's failure line first and last, around its output and the nodes' (<see cref="ScriptFailure"/>).</summary>
    private async Task<string> RunScriptAsync(string script, QuiverNodes nodes, Dictionary<string, string> environment)
    {
        var compat = FindCompatDir();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = compat,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(compat, script));
        start.Environment["QUIVER_ADDRESSES"] = string.Join(',', Enumerable.Range(0, 3).Select(nodes.Endpoint));
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // A safety net only: the scripts wait on conditions, and at load 60-80 one has taken several minutes.
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in {ScriptTimeout.TotalMinutes:0} minutes");
        }

        var text = await stdout;
        output.WriteLine(text);
        Assert.True(process.ExitCode == 0, ScriptFailure.Message(script, process.ExitCode, await stderr, text, [.. Enumerable.Range(0, 3).Select(nodes.Output)]));
        return text;
    }

    private static string FindCompatDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var compat = Path.Combine(dir.FullName, "tests", "compat");
            if (File.Exists(Path.Combine(compat, "package.json")))
            {
                return Directory.Exists(Path.Combine(compat, "node_modules", "@zilliz", "milvus2-sdk-node"))
                    ? compat
                    : throw new InvalidOperationException($"{compat}/node_modules lacks the Milvus Node.js SDK: run scripts/setup.sh (npm ci)");
            }
        }

        throw new InvalidOperationException("tests/compat not found above " + AppContext.BaseDirectory);
    }
}
