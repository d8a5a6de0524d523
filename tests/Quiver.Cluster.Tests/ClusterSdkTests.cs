using System.Diagnostics;

namespace Quiver.Cluster.Tests;

/// <summary>The official Milvus Node.js SDK (tests/compat, installed by scripts/setup.sh) against three Quiver nodes over
/// a 3-server JetStream cluster, all child processes on loopback stopped by their PIDs: the tutorial's flow with each step
/// sent to a different node, over gRPC and REST v2 (tests/compat/cluster-flow.js, which checks every search against a
/// brute-force oracle and exits non-zero naming the first failure).</summary>
public sealed class ClusterSdkTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [NatsFact]
    [Trait("Category", "Compat")]
    public async Task NodeSdk_TutorialFlow_EachStepThroughAnotherNode_OverGrpcAndRest()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        var compat = FindCompatDir();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = compat,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(compat, "cluster-flow.js"));
        start.Environment["QUIVER_ADDRESSES"] = string.Join(',', Enumerable.Range(0, 3).Select(nodes.Endpoint));
        using var script = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = script.StandardOutput.ReadToEndAsync();
        var stderr = script.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await script.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            script.Kill(entireProcessTree: true);
            throw new TimeoutException("cluster-flow.js did not finish in 5 minutes");
        }

        var text = await stdout;
        output.WriteLine(text);
        Assert.True(script.ExitCode == 0, $"cluster-flow.js failed (exit {script.ExitCode}):\n{await stderr}\n{text}\n--- node 0:\n{nodes.Output(0)}\n--- node 1:\n{nodes.Output(1)}\n--- node 2:\n{nodes.Output(2)}");
        Assert.Contains("\"ok\":true", text, StringComparison.Ordinal);
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
