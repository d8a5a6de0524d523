using System.Runtime.InteropServices;

namespace Quiver.Cluster.Nodes;

/// <summary>A node runs with <c>System.GC.ConserveMemory</c> 7 (the garbage collector compacts its heap, the large object
/// heap too, rather than keep growing it: docs/cluster-deploy.md, "Processes"). The node program (Quiver.Cluster) has it
/// in its runtime configuration; <c>quiver node</c> runs in the CLI's process, whose runtime configuration is the
/// standalone server's, and the collector reads its settings only when a process starts. So <c>quiver node</c> first
/// replaces its process image with itself under <c>DOTNET_GCConserveMemory=7</c> (<c>execve</c>: the same process id,
/// arguments and standard streams; nothing has run yet). An environment that sets <c>DOTNET_GCConserveMemory</c> (any
/// value, 0 too) is kept as it is. Linux only (the arguments come from <c>/proc/self/cmdline</c>); elsewhere, or if the
/// exec fails, the node runs as it is and says so.</summary>
internal static partial class NodeGcSetting
{
    /// <summary>The environment variable that sets the level (hexadecimal, as every <c>DOTNET_GC*</c> setting).</summary>
    public const string Variable = "DOTNET_GCConserveMemory";

    /// <summary>The level, as in Quiver.Cluster.csproj's <c>RuntimeHostConfigurationOption</c>.</summary>
    public const int Level = 7;

    /// <summary>Returns when the process already runs with a conserve-memory level (or the environment sets one), or
    /// when it cannot be restarted with one (then a line on <paramref name="error"/> says why); otherwise the process
    /// image is replaced and this never returns.</summary>
    public static void EnsureConservingMemory(TextWriter error)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not null || InEffect() != 0)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            error.WriteLine($"quiver node: runs without {Variable}={Level} (set it in the environment to have the node's heap compacted)");
            return;
        }

        // /proc/self/cmdline: the arguments as the process got them, each ended by a NUL (the host, `dotnet quiver.dll`
        // or the apphost, included).
        var args = File.ReadAllText("/proc/self/cmdline").Split('\0');
        var argv = args.AsSpan(0, args.Length - 1).ToArray();
        var environment = Environment.GetEnvironmentVariables();
        var envp = new List<string>(environment.Count + 1) { $"{Variable}={Level}" };
        foreach (System.Collections.DictionaryEntry e in environment)
        {
            envp.Add($"{e.Key}={e.Value}");
        }

        var argvPtrs = Utf8Strings(argv);
        var envpPtrs = Utf8Strings(envp);
        try
        {
            error.Flush();
            Console.Out.Flush();
            Exec("/proc/self/exe", argvPtrs, envpPtrs);

            // Only a failed exec returns.
            error.WriteLine($"quiver node: could not restart with {Variable}={Level} ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}); runs without it");
        }
        finally
        {
            foreach (var p in argvPtrs.Concat(envpPtrs))
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    /// <summary>The conserve-memory level the collector runs with, 0 when none is set.</summary>
    public static long InEffect() =>
        GC.GetConfigurationVariables().TryGetValue("GCConserveMem", out var value) ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>NUL-terminated UTF-8 copies of <paramref name="strings"/> and a null pointer after them (execve's
    /// argv and envp).</summary>
    private static IntPtr[] Utf8Strings(IReadOnlyList<string> strings)
    {
        var pointers = new IntPtr[strings.Count + 1];
        for (var i = 0; i < strings.Count; i++)
        {
            pointers[i] = Marshal.StringToCoTaskMemUTF8(strings[i]);
        }

        return pointers;
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Exec(string path, IntPtr[] argv, IntPtr[] envp);
}
