namespace Quiver.Cluster.Tests;

public sealed partial class QuiverNodes
{
    /// <summary>The local TCP ports node <paramref name="index"/> listens on, in order: its listening sockets (state
    /// LISTEN in /proc/net/tcp and tcp6) whose inodes are among its open file descriptors' sockets.</summary>
    public IReadOnlyList<int> ListeningPorts(int index)
    {
        var pid = _nodes[index].Process.Id;
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            // A descriptor closed between the listing and the read is no socket of the node any more.
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
            {
                sockets.Add(target["socket:[".Length..^1]);
            }
        }

        var ports = new List<int>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 9 && f[3] == "0A" && sockets.Contains(f[9]))
                {
                    ports.Add(Convert.ToInt32(f[1][(f[1].LastIndexOf(':') + 1)..], 16));
                }
            }
        }

        ports.Sort();
        return ports;
    }
}
