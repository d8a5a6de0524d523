using System.Runtime.InteropServices;

namespace Quiver.Cluster.Tests;

public sealed partial class QuiverNodes
{
    /// <summary>Sends SIGTERM to node <paramref name="index"/> by its PID (as an operator's <c>kill</c> or a service
    /// manager's stop does), without waiting.</summary>
    public void Terminate(int index)
    {
        const int SigTerm = 15;
        if (SendSignal(_nodes[index].Process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_nodes[index].Process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Node <paramref name="index"/>'s exit code once it has exited; <paramref name="safety"/> is a safety net
    /// only (a <see cref="TimeoutException"/> when the process is still running then).</summary>
    public async Task<int> ExitCodeAsync(int index, TimeSpan safety)
    {
        var process = _nodes[index].Process;
        await process.WaitForExitAsync().WaitAsync(safety);
        return process.ExitCode;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
