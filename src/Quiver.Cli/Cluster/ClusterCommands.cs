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
            // The node program's GC setting (NodeGcSetting): this process is replaced by itself with it, unless it has one.
            NodeGcSetting.EnsureConservingMemory(Console.Error);
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

            // The ready line scripts and tests wait for (the same as Quiver.Cluster node's).
            Console.WriteLine($"quiver node ready: milvus {settings.Host}:{started.MilvusPort}, silo {settings.Host}:{settings.SiloPort}, cluster {settings.Cluster}, pid {Environment.ProcessId}");
            // The node stops on SIGTERM/SIGINT itself (ProcessTerminationTimeout is off for this command), within
            // ClusterNode.StopTimeout; a stop that did not finish leaves the process at once.
            var code = await started.RunUntilStoppedAsync(Console.Error).ConfigureAwait(false);
            if (code != 0)
            {
                Environment.Exit(code);
            }

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
        cluster.Subcommands.Add(Upload());
        cluster.Subcommands.Add(ApiKey());
        return cluster;
    }

    /// <summary><c>quiver cluster upload</c>: a file into the cluster's bucket of import objects (<see cref="ImportObjectUpload"/>).</summary>
    private static Command Upload()
    {
        var config = ConfigOption("Any node's JSON configuration: its cluster, nats and replicas settings are read.");
        var path = new Argument<string>("path") { Description = "The local file to upload." };
        var name = new Option<string?>("--name") { Description = "The object's name (default: the file's name); an import request names it as object:NAME." };
        var upload = new Command("upload", "Put a file into the cluster's bucket of import objects, which import requests name as object:NAME (docs/cluster.md, \"Bulk import\").");
        upload.Options.Add(config);
        upload.Options.Add(name);
        upload.Arguments.Add(path);
        upload.SetAction((parse, ct) => ImportObjectUpload.RunAsync(NodeConfig.Load(parse.GetValue(config)!), parse.GetValue(path)!, parse.GetValue(name), Console.Out, Console.Error, ct));
        return upload;
    }

    /// <summary><c>quiver cluster apikey create|list|revoke</c>: the cluster's API keys (<see cref="NodeApiKeys"/>),
    /// changed while the nodes run.</summary>
    private static Command ApiKey()
    {
        var config = ConfigOption("Any node's JSON configuration: its cluster, nats, replicas and authentication settings are read.");
        var user = new Option<string>("--user") { Description = "The user the key acts as.", Required = true };
        var name = new Option<string?>("--name") { Description = "What the key is for (shown in listings)." };
        var id = new Argument<string>("id") { Description = "The id of the key to revoke (see `quiver cluster apikey list`)." };
        var create = new Command("create", "Create an API key for a user of the cluster and print it (once).");
        create.Options.Add(config);
        create.Options.Add(user);
        create.Options.Add(name);
        create.SetAction((parse, ct) => NodeApiKeys.RunAsync(
            ["create", "--config", parse.GetValue(config)!, "--user", parse.GetValue(user)!, .. parse.GetValue(name) is { } n ? new[] { "--name", n } : []],
            Console.Out, Console.Error, ct));
        var list = new Command("list", "List the cluster's API keys (id, user, creation time, name; never the key).");
        list.Options.Add(config);
        list.SetAction((parse, ct) => NodeApiKeys.RunAsync(["list", "--config", parse.GetValue(config)!], Console.Out, Console.Error, ct));
        var revoke = new Command("revoke", "Revoke one of the cluster's API keys by id.");
        revoke.Options.Add(config);
        revoke.Arguments.Add(id);
        revoke.SetAction((parse, ct) => NodeApiKeys.RunAsync(["revoke", "--config", parse.GetValue(config)!, parse.GetValue(id)!], Console.Out, Console.Error, ct));
        var command = new Command("apikey", "Manage the API keys of a running cluster (docs/cluster.md, \"Security on a node\").");
        command.Subcommands.Add(create);
        command.Subcommands.Add(list);
        command.Subcommands.Add(revoke);
        return command;
    }

    private static Option<string> ConfigOption(string description) => new("--config") { Description = description, Required = true };
}
