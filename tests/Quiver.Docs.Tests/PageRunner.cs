using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Quiver.Docs.Tests;

/// <summary>
/// Runs one page as a reader would, in a fresh folder: its blocks in order, each run block as its own process (C#
/// programs, bash -e scripts, node ES modules) in the page's folder, whose files carry over from block to block. In
/// that folder <c>./quiver</c> is the repository's launcher and <c>node_modules</c> holds the official Milvus Node.js
/// SDK (tests/compat). Each run block gets a process group of its own; what a block leaves running (a server started
/// with <c>&amp;</c>) is the page's set-up for its later blocks, and is stopped by its group id when the page ends.
/// </summary>
public sealed class PageRunner(string repoRoot, Lazy<CSharpPrograms> csharp, TextWriter log)
{
    /// <summary>How many lines of each log a failed block's report shows (<see cref="Logs"/>).</summary>
    private const int LogLines = 40;

    /// <summary>The longest log line a report shows whole.</summary>
    private const int MaxLogLine = 500;

    private readonly List<int> _groups = [];

    /// <summary>Counts of what ran, for the report.</summary>
    public Dictionary<BlockKind, int> Counts { get; } = Enum.GetValues<BlockKind>().ToDictionary(k => k, _ => 0);

    /// <summary>Runs the page at <paramref name="page"/> (relative to the repository root); throws a <see cref="DocsException"/> at the first failure.</summary>
    public async Task RunAsync(string page, CancellationToken cancellationToken)
    {
        var blocks = MarkdownBlocks.Parse(page, await File.ReadAllTextAsync(Path.Combine(repoRoot, page), cancellationToken));
        if (!blocks.Any(b => b.Runs || b.Kind == BlockKind.File))
        {
            foreach (var b in blocks)
            {
                Counts[b.Kind]++;
            }
            return;
        }
        var folder = Path.Combine(Path.GetTempPath(), $"quiver-docs-{Path.GetFileNameWithoutExtension(page)}-{Guid.NewGuid():N}");
        var work = Path.Combine(folder, ".docs");
        Directory.CreateDirectory(work);
        try
        {
            await PrepareFolderAsync(folder, blocks, work);
            string? lastOutput = null;
            DocBlock? last = null;
            foreach (var block in blocks)
            {
                Counts[block.Kind]++;
                switch (block.Kind)
                {
                    case BlockKind.Shown:
                        break;
                    case BlockKind.File:
                        var path = Path.Combine(folder, block.FileName!);
                        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                        await File.WriteAllTextAsync(path, block.Text, cancellationToken);
                        break;
                    case BlockKind.Output:
                        if (last is null || lastOutput is null)
                        {
                            throw new DocsException($"{block.Where}: an output block must follow the block it shows the output of");
                        }
                        var mismatch = OutputPattern.Mismatch(block.Text, lastOutput);
                        if (mismatch is not null)
                        {
                            throw new DocsException($"{block.Where}: the output of the block at line {last.Line} differs:\n{mismatch}");
                        }
                        break;
                    default:
                        var started = Stopwatch.GetTimestamp();
                        lastOutput = await RunBlockAsync(block, folder, work, cancellationToken);
                        log.WriteLine($"ran {block.Where} ({block.Info}) in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s");
                        break;
                }
                if (block.Kind != BlockKind.Output)
                {
                    (last, lastOutput) = block.Runs ? (block, lastOutput) : (null, null);
                }
            }
        }
        finally
        {
            await StopGroupsAsync();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A server that ignored SIGTERM and SIGKILL's exit race may still hold a file; the OS temp cleaner takes it.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task PrepareFolderAsync(string folder, IReadOnlyList<DocBlock> blocks, string work)
    {
        var launcher = Path.Combine(folder, "quiver");
        await File.WriteAllTextAsync(launcher, $"#!/usr/bin/env bash\nexec '{Path.Combine(repoRoot, "quiver")}' \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        if (blocks.Any(b => b.Kind == BlockKind.Node))
        {
            var sdk = Path.Combine(repoRoot, "tests", "compat", "node_modules");
            if (!Directory.Exists(Path.Combine(sdk, "@zilliz", "milvus2-sdk-node")))
            {
                throw new DocsException($"{sdk} lacks the Milvus Node.js SDK: run scripts/setup.sh");
            }
            File.CreateSymbolicLink(Path.Combine(folder, "node_modules"), sdk);
        }
        if (blocks.Any(b => b.Kind == BlockKind.CSharp))
        {
            csharp.Value.CopyLibraries(Path.Combine(work, "bin"));
        }
    }

    private async Task<string> RunBlockAsync(DocBlock block, string folder, string work, CancellationToken cancellationToken)
    {
        var name = $"block-{block.Line}";
        string[] command;
        switch (block.Kind)
        {
            case BlockKind.CSharp:
                var dll = csharp.Value.Compile(block, Path.Combine(work, "bin"), name.Replace('-', '_'));
                command = ["dotnet", dll];
                break;
            case BlockKind.Shell:
                var script = Path.Combine(work, name + ".sh");
                await File.WriteAllTextAsync(script, block.Text, cancellationToken);
                command = ["bash", "-e", "-o", "pipefail", script];
                break;
            default:
                // In the page's folder so that `import ... from '@zilliz/milvus2-sdk-node'` finds node_modules there.
                var module = Path.Combine(folder, $".{name}.mjs");
                await File.WriteAllTextAsync(module, block.Text, cancellationToken);
                command = ["node", module];
                break;
        }
        var output = Path.Combine(work, name + ".out");

        // setsid: the block leads a process group of its own, so what it leaves running can be stopped by that id.
        // Output goes to a file, not a pipe: a background server keeps its output open long after the block ends.
        var start = Command.Start(["setsid", "bash", "-c", "exec >\"$0\" 2>&1 </dev/null; exec \"$@\"", output, .. command]);
        (start.WorkingDirectory, start.RedirectStandardOutput, start.RedirectStandardError, start.RedirectStandardInput) = (folder, false, false, true);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new DocsException($"{block.Where}: setsid did not start");
        _groups.Add(process.Id);
        process.StandardInput.Close();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(block.TimeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await StopGroupsAsync();
            throw new DocsException($"{block.Where}: still running after {block.TimeoutSeconds} s (stopped); it printed:\n{Tail(output)}{Logs(folder)}");
        }
        var printed = File.Exists(output) ? await File.ReadAllTextAsync(output, cancellationToken) : "";
        if (process.ExitCode != 0)
        {
            throw new DocsException($"{block.Where}: the {block.Kind} block exited with code {process.ExitCode}; it printed:\n{Tail(output)}{Logs(folder)}");
        }
        return printed;
    }

    private static string Tail(string file)
    {
        if (!File.Exists(file))
        {
            return "(nothing)";
        }
        var text = File.ReadAllText(file);
        return text.Length <= 6000 ? text : "…" + text[^6000..];
    }

    /// <summary>The last <see cref="LogLines"/> lines of each <c>*.log</c> file in the page's folder (a server a page starts
    /// in the background writes its output there, docs/cluster-deploy.md's <c>NAME.log</c>), for a failed block's report:
    /// the folder is deleted when the page ends, and a block refused by a server it started is explained by that
    /// server's log.</summary>
    internal static string Logs(string folder)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.GetFiles(folder, "*.log").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            text.Append(CultureInfo.InvariantCulture, $"\n--- {Path.GetFileName(file)} (the last {Math.Min(lines.Length, LogLines)} of {lines.Length} lines):\n");
            foreach (var line in lines.TakeLast(LogLines))
            {
                text.AppendLine(line.Length > MaxLogLine ? line[..MaxLogLine] + "…" : line);
            }
        }
        return text.ToString();
    }

    /// <summary>SIGTERM to every group the page started, then SIGKILL to what is still there after 15 s.</summary>
    private async Task StopGroupsAsync()
    {
        var live = await LiveAsync(_groups);
        foreach (var group in live)
        {
            await SignalAsync("-TERM", group);
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (live.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            live = await LiveAsync(live);
        }
        foreach (var group in live)
        {
            await SignalAsync("-KILL", group);
        }
        _groups.Clear();
    }

    private static async Task<List<int>> LiveAsync(IEnumerable<int> groups)
    {
        var live = new List<int>();
        foreach (var group in groups)
        {
            if (await SignalAsync("-0", group))
            {
                live.Add(group);
            }
        }
        return live;
    }

    private static async Task<bool> SignalAsync(string signal, int group) =>
        (await Command.RunAsync(["kill", signal, "--", $"-{group}"])).ExitCode == 0;

    /// <summary>A line of the report: the page and what ran.</summary>
    public static string ReportLine(string page, Dictionary<BlockKind, int> counts)
    {
        var text = new StringBuilder(page);
        foreach (var (kind, count) in counts)
        {
            text.Append(' ').Append(kind.ToString().ToLowerInvariant()).Append('=').Append(count);
        }
        return text.ToString();
    }
}
