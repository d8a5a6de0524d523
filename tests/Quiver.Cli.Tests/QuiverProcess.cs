using System.Diagnostics;

namespace Quiver.Cli.Tests;

/// <summary>Runs the command line as a user does: <c>quiver ARGS</c> as a process (the built quiver.dll beside the
/// tests), with its exit code, stdout and stderr.</summary>
internal static class QuiverProcess
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quiver.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
