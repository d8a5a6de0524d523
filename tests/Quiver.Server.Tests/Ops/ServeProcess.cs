using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Tests.Ops;

/// <summary>
/// <c>quiver serve</c> as a real child process (<c>dotnet quiver.dll serve ...</c>) on a free loopback port
/// (<c>--port 0</c>; the port is read from the ready line). Captures stdout and stderr; stops it by PID with SIGTERM
/// (<see cref="TerminateAsync"/>) or SIGKILL (<see cref="KillAsync"/>). Inherited <c>QUIVER_*</c> variables are removed so
/// that only the test's settings apply. Dispose kills it if still running.
/// </summary>
public sealed partial class ServeProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServeProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The bound port.</summary>
    public int Port { get; private set; }

    /// <summary>The child's PID.</summary>
    public int Pid => _process.Id;

    /// <summary>Stdout lines so far.</summary>
    public IReadOnlyList<string> Output => [.. _stdout];

    /// <summary>Stderr lines so far.</summary>
    public IReadOnlyList<string> Errors => [.. _stderr];

    /// <summary>Starts <c>quiver serve --data <paramref name="dataPath"/> --port 0</c> plus <paramref name="arguments"/>
    /// (later ones win in System.CommandLine, so a test can pass its own <c>--port</c>), with
    /// <paramref name="environment"/> added, and waits for the ready line.</summary>
    public static async Task<ServeProcess> StartAsync(string? dataPath, IEnumerable<string>? arguments = null,
        IReadOnlyDictionary<string, string>? environment = null, bool defaultPort = true)
    {
        var start = StartInfo(dataPath, arguments, environment, defaultPort, withoutPermissionOverride: false);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var serve = new ServeProcess(process);
        process.OutputDataReceived += (_, e) => serve.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                serve._stderr.Enqueue(e.Data);
            }
        };
        process.Exited += (_, _) =>
        {
            // Exited can come before the last redirected lines are read: wait for both streams to end first.
            process.WaitForExit();
            serve._ready.TrySetException(new InvalidOperationException(
                $"quiver serve exited before it was ready; stderr:\n{string.Join('\n', serve._stderr)}\nstdout:\n{string.Join('\n', serve._stdout)}"));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            serve.Port = await serve._ready.Task.WaitAsync(StartTimeout);
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
        return serve;
    }

    /// <summary>Runs <c>quiver serve</c> (as <see cref="StartAsync"/> does) expecting it to fail at start: waits for it
    /// to exit (killing it if it is still running after a generous hang guard, or if it became ready) and returns the
    /// exit code with its output. <paramref name="withoutPermissionOverride"/> runs it without the
    /// capabilities that let root ignore file permissions (CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, dropped from the
    /// bounding set through <c>setpriv</c>), so that a root test can see what a permission refusal does.</summary>
    public static async Task<ServeExit> RunToExitAsync(string? dataPath, IEnumerable<string>? arguments = null,
        IReadOnlyDictionary<string, string>? environment = null, bool defaultPort = true, bool withoutPermissionOverride = false)
    {
        using var process = new Process { StartInfo = StartInfo(dataPath, arguments, environment, defaultPort, withoutPermissionOverride) };
        var stdout = new ConcurrentQueue<string>();
        var stderr = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stdout.Enqueue(e.Data);
                if (ReadyLine().IsMatch(e.Data))
                {
                    process.Kill(); // it started: the caller's assertion on the exit code fails with the transcript
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var hangGuard = new CancellationTokenSource(StartTimeout);
        try
        {
            await process.WaitForExitAsync(hangGuard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        process.WaitForExit(); // drains the redirected streams
        return new ServeExit(process.ExitCode, [.. stdout], [.. stderr]);
    }

    private static ProcessStartInfo StartInfo(string? dataPath, IEnumerable<string>? arguments,
        IReadOnlyDictionary<string, string>? environment, bool defaultPort, bool withoutPermissionOverride)
    {
        var start = new ProcessStartInfo(withoutPermissionOverride ? "setpriv" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (withoutPermissionOverride)
        {
            foreach (var argument in new[] { "--bounding-set=-dac_override,-dac_read_search", "--", "dotnet" })
            {
                start.ArgumentList.Add(argument);
            }
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "quiver.dll"));
        start.ArgumentList.Add("serve");
        if (dataPath is not null)
        {
            start.ArgumentList.Add("--data");
            start.ArgumentList.Add(dataPath);
        }
        if (defaultPort)
        {
            start.ArgumentList.Add("--port");
            start.ArgumentList.Add("0");
        }
        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("QUIVER_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        return start;
    }

    /// <summary>A gRPC client of the child (dispose the channel).</summary>
    public (GrpcChannel Channel, MilvusService.MilvusServiceClient Client) Connect()
    {
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Port}");
        return (channel, new MilvusService.MilvusServiceClient(channel));
    }

    /// <summary>An HTTP/1.1 client of the child (dispose it).</summary>
    public HttpClient Http() => new() { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies at once, as in a crash.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>Stdout and stderr, for failure messages.</summary>
    public string Transcript()
    {
        var text = new StringBuilder();
        text.AppendLine("stdout:").AppendJoin('\n', _stdout).AppendLine().AppendLine("stderr:").AppendJoin('\n', _stderr);
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // never started
        }
        _process.Dispose();
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }
        _stdout.Enqueue(line);
        var match = ReadyLine().Match(line);
        if (match.Success)
        {
            _ready.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex(@"^quiver: serving .* on [^ ]+:(\d+) ")]
    private static partial Regex ReadyLine();
}

/// <summary>How a <c>quiver serve</c> that failed to start ended: its exit code and output.</summary>
public sealed record ServeExit(int ExitCode, IReadOnlyList<string> Stdout, IReadOnlyList<string> Stderr)
{
    /// <summary>Stdout and stderr, for failure messages.</summary>
    public string Transcript => $"exit code {ExitCode}\nstdout:\n{string.Join('\n', Stdout)}\nstderr:\n{string.Join('\n', Stderr)}";
}
