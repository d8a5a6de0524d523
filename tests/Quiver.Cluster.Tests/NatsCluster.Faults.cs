namespace Quiver.Cluster.Tests;

public sealed partial class NatsCluster
{
    /// <summary>The PID of server <paramref name="index"/>, or null while it is killed.</summary>
    public int? Pid(int index) => _processes[index] is { HasExited: false } p ? p.Id : null;
}
