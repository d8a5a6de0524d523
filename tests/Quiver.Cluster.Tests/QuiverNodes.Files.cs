namespace Quiver.Cluster.Tests;

/// <summary>Where each node's files are, for tests that read them (the audit log) or run a command with a node's
/// configuration (API keys).</summary>
public sealed partial class QuiverNodes
{
    /// <summary>Node <paramref name="index"/>'s configuration file.</summary>
    public string ConfigPath(int index) => _folder.Sub($"node{index}.json");

    /// <summary>Node <paramref name="index"/>'s data folder (<c>dataPath</c>).</summary>
    public string DataPath(int index) => _folder.Sub($"data{index}");
}
