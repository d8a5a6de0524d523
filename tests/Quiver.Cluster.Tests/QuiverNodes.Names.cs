namespace Quiver.Cluster.Tests;

public sealed partial class QuiverNodes
{
    /// <summary>The cluster's name: the Orleans cluster id and the prefix of every stream and bucket.</summary>
    public string Cluster => _cluster;

    /// <summary>How many nodes were started.</summary>
    public int Count => _nodes.Count;

    /// <summary>The PID of node <paramref name="index"/>, or null once it exited.</summary>
    public int? Pid(int index) => _nodes[index].Process is { HasExited: false } p ? p.Id : null;

    /// <summary>Starts node <paramref name="index"/> again (after <see cref="Kill"/>) with its old data folder and a new
    /// configuration (new silo and Milvus ports), and waits for its ready line.</summary>
    public async Task RestartAsync(int index)
    {
        _nodes[index].Process.Dispose();
        _nodes[index] = Launch(index);
        await _nodes[index].Ready.Task.WaitAsync(ReadyTimeout);
    }
}
