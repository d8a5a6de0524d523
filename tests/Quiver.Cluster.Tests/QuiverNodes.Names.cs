namespace Quiver.Cluster.Tests;

public sealed partial class QuiverNodes
{
    /// <summary>The cluster's name: the Orleans cluster id and the prefix of every stream and bucket.</summary>
    public string Cluster => _cluster;

    /// <summary>How many nodes were started.</summary>
    public int Count => _nodes.Count;

    /// <summary>The PID of node <paramref name="index"/> (a test script may SIGKILL it by this id), or null once it
    /// exited.</summary>
    public int? Pid(int index) => _nodes[index].Process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts node <paramref name="index"/> again (after <see cref="Kill"/>) with its old data folder and a new
    /// configuration (new silo and Milvus ports), and waits for its ready line.</summary>
    public async Task RestartAsync(int index)
    {
        _nodes[index].Process.Dispose();
        _nodes[index] = Launch(index);
        await _nodes[index].Ready.Task.WaitAsync(ReadyTimeout);
    }

    /// <summary>What the CLI's <c>quiver cluster status --config FILE</c> prints for this cluster (node 0's config), run
    /// from the CLI's Release build in this repository (src/Quiver.Cli/bin/Release/net10.0/quiver.dll).</summary>
    public async Task<string> CliStatusAsync()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
        {
            dir = dir.Parent;
        }

        var cli = dir is null ? null : Path.Combine(dir.FullName, "src", "Quiver.Cli", "bin", "Release", "net10.0", "quiver.dll");
        if (cli is null || !File.Exists(cli))
        {
            throw new InvalidOperationException($"the quiver CLI is not built ({cli ?? "no Quiver.slnx above the tests"}): dotnet build Quiver.slnx -c Release");
        }

        var info = new System.Diagnostics.ProcessStartInfo("dotnet", [cli, "cluster", "status", "--config", _folder.Sub("node0.json")])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("quiver cluster status did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return process.ExitCode == 0 ? await stdout : throw new InvalidOperationException($"quiver cluster status exited {process.ExitCode}: {await stderr}");
    }
}
