using System.Globalization;
using System.Runtime.InteropServices;

namespace Quiver.Engine.Tests.Indexing;

/// <summary>A child memory cgroup of this process's own, with a hard limit on everything its processes charge: anonymous
/// memory, page cache they read in, kernel memory. v1 (<c>memory.limit_in_bytes</c>, OOM kills counted in
/// <c>memory.oom_control</c>) and v2 (<c>memory.max</c>, <c>memory.events</c>). A process joins it by writing its pid to
/// <c>cgroup.procs</c> before it starts the runtime (<see cref="Wrap"/>), so that .NET sees the limit too (its GC then
/// caps its heap at 75 % of it). <see cref="TryCreate"/> returns null with the reason where this process may not create
/// one (no memory controller, read-only cgroupfs, not root).</summary>
internal sealed partial class MemoryCgroup : IDisposable
{
    private readonly bool _v2;

    private MemoryCgroup(string path, bool v2, long limitBytes)
    {
        Path = path;
        _v2 = v2;
        LimitBytes = limitBytes;
    }

    public string Path { get; }

    public long LimitBytes { get; }

    /// <summary>Processes OOM-killed in the cgroup so far.</summary>
    public long OomKills => Counter(_v2 ? "memory.events" : "memory.oom_control", "oom_kill");

    /// <summary>The most the cgroup has charged at once (v1 <c>memory.max_usage_in_bytes</c>, v2 <c>memory.peak</c>);
    /// -1 where the kernel does not report it.</summary>
    public long PeakBytes => ReadLong(_v2 ? "memory.peak" : "memory.max_usage_in_bytes");

    public static MemoryCgroup? TryCreate(long limitBytes, out string why)
    {
        why = "";
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/cgroup"))
        {
            why = "not Linux: no cgroups";
            return null;
        }

        var lines = File.ReadAllLines("/proc/self/cgroup");
        string? parent = null;
        var v2 = false;
        var v1 = lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory"));
        if (v1 is not null && Directory.Exists("/sys/fs/cgroup/memory"))
        {
            parent = "/sys/fs/cgroup/memory" + v1[2];
        }
        else if (lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal)) is { } unified && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
        {
            parent = "/sys/fs/cgroup" + unified[3..];
            v2 = true;
            if (!File.ReadAllText(System.IO.Path.Combine(parent, "cgroup.subtree_control")).Split(' ', '\n').Contains("memory"))
            {
                why = $"cgroup v2: the memory controller is not enabled for children of {parent} (cgroup.subtree_control)";
                return null;
            }
        }

        if (parent is null)
        {
            why = "no memory cgroup controller mounted under /sys/fs/cgroup";
            return null;
        }

        var path = System.IO.Path.Combine(parent, $"quiver-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = $"cannot create a child cgroup under {parent}: {e.Message}";
            return null;
        }

        var group = new MemoryCgroup(path, v2, limitBytes);
        try
        {
            File.WriteAllText(System.IO.Path.Combine(path, v2 ? "memory.max" : "memory.limit_in_bytes"), limitBytes.ToString(CultureInfo.InvariantCulture));
            if (!v2 && File.Exists(System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes")))
            {
                // With swap, anonymous pages could leave for swap instead of the cap holding: cap memory plus swap too.
                File.WriteAllText(System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes"), limitBytes.ToString(CultureInfo.InvariantCulture));
            }

            if (v2 && File.Exists(System.IO.Path.Combine(path, "memory.swap.max")))
            {
                File.WriteAllText(System.IO.Path.Combine(path, "memory.swap.max"), "0");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            group.Dispose();
            why = $"cannot set the memory limit of {path}: {e.Message}";
            return null;
        }

        return group;
    }

    /// <summary>The shell command line that moves itself into this cgroup, then execs <paramref name="program"/>.</summary>
    public (string File, string[] Arguments) Wrap(string program, IEnumerable<string> arguments)
    {
        var procs = System.IO.Path.Combine(Path, "cgroup.procs");
        return ("/bin/sh", ["-c", "echo $$ > \"$0\" && exec \"$@\"", procs, program, .. arguments]);
    }

    /// <summary>Drops the clean page-cache pages of every file under <paramref name="folder"/>
    /// (<c>posix_fadvise(DONTNEED)</c>), so that a process in the cgroup reads them in and is charged for them: pages cached
    /// by the process that wrote them stay charged to that one's cgroup.</summary>
    public static void DropPageCache(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read);
            _ = PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, 4);
        }
    }

    public void Dispose()
    {
        // A cgroup is removed with rmdir once it has no processes; the child has exited by now.
        for (var attempt = 0; attempt < 50 && Directory.Exists(Path); attempt++)
        {
            try
            {
                Directory.Delete(Path);
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }

    private long Counter(string file, string key)
    {
        foreach (var line in File.ReadAllLines(System.IO.Path.Combine(Path, file)))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key)
            {
                return long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private long ReadLong(string file)
    {
        var full = System.IO.Path.Combine(Path, file);
        return File.Exists(full) ? long.Parse(File.ReadAllText(full).Trim(), CultureInfo.InvariantCulture) : -1;
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);
}
