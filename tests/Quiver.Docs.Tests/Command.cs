using System.Diagnostics;

namespace Quiver.Docs.Tests;

/// <summary>Child processes from an argument list (no shell quoting), run to their end with their output read.</summary>
public static class Command
{
    /// <summary>A start for <paramref name="command"/> (file, then arguments) with stdout and stderr redirected.</summary>
    public static ProcessStartInfo Start(IReadOnlyList<string> command)
    {
        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }
        return start;
    }

    /// <summary>Runs <paramref name="command"/> to its end; its exit code and what it printed on stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyList<string> command)
    {
        using var process = Process.Start(Start(command)) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
