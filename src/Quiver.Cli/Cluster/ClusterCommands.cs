using System.CommandLine;
using Microsoft.Extensions.Logging;
using Quiver.Cluster.Nodes;

namespace Quiver.Cli.Cluster;

/// <summary><c>quiver node --config FILE</c> runs one cluster node (an Orleans silo serving the Milvus API over NATS
/// JetStream, docs/cluster.md) until SIGTERM or SIGINT; <c>quiver cluster status --config FILE</c> prints the cluster's
/// nodes and shards as its stores say, without joining it. Both are the <c>Quiver.Cluster</c> executable's commands.</summary>
internal static class ClusterCommands
{
    /// <summary><c>quiver node</c>: the caller leaves SIGTERM/SIGINT to the node (as for <c>serve</c>).</summary>
    public static Command Node()
    {
        var config = ConfigOption("The node's JSON configuration (docs/cluster.md).");
        var node = new Command("node", "Run one Quiver cluster node (Orleans silo + Milvus API over NATS JetStream) until SIGTERM or SIGINT.");
        node.Options.Add(config);
        node.SetAction(async (parse, ct) =>
        {
            NodeConfig settings;
            ClusterNode started;
            try
            {
                settings = NodeConfig.Load(parse.GetValue(config)!);
                started = await ClusterNode.StartAsync(settings, logging => logging.AddSimpleConsole(o => o.SingleLine = true)
                    .SetMinimumLevel(LogLevel.Warning).AddFilter("Quiver.Cluster", LogLevel.Information), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NodeConfigurationException or System.Text.Json.JsonException)
            {
                // A setting to change: one line naming it and exit 2, as `quiver serve` answers one.
                await Console.Error.WriteLineAsync($"quiver node: {e.Message}").ConfigureAwait(false);
                return 2;
            }

            await using var running = started;
            // The ready line scripts and tests wait for (the same as Quiver.Cluster node's).
            Console.WriteLine($"quiver node ready: milvus {settings.Host}:{running.MilvusPort}, silo {settings.Host}:{settings.SiloPort}, cluster {settings.Cluster}, pid {Environment.ProcessId}");
            // The node stops on SIGTERM/SIGINT itself (ProcessTerminationTimeout is off for this command).
            await running.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            return 0;
        });
        return node;
    }

    /// <summary><c>quiver cluster status</c>.</summary>
    public static Command Cluster()
    {
        var config = ConfigOption("Any node's JSON configuration: its cluster, nats and replicas settings are read.");
        var status = new Command("status", "Print the cluster's nodes (membership), every shard's node, state and log position, read from NATS without joining.");
        status.Options.Add(config);
        status.SetAction(async (parse, ct) =>
        {
            Console.Write(await ClusterStatus.ReadAsync(NodeConfig.Load(parse.GetValue(config)!), ct).ConfigureAwait(false));
            return 0;
        });
        var cluster = new Command("cluster", "A Quiver cluster's operations (docs/cluster.md).");
        cluster.Subcommands.Add(status);
        return cluster;
    }

    private static Option<string> ConfigOption(string description) => new("--config") { Description = description, Required = true };
}
