using System.CommandLine;
using Quiver.Cli.Bench;
using Quiver.Cli.Ops;
using Quiver.Cli.Quickstart;
using Quiver.Cli.Serve;

namespace Quiver.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        var root = new RootCommand("Quiver: a vector database. Embedded over a local folder, or as a Milvus-compatible server.");
        var serve = ServeCommand.Create();
        root.Subcommands.Add(serve);
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        OpsCommands.AddTo(root);
        root.Subcommands.Add(Embed.EmbedCommand.Create());
        Browse.BrowseCommands.AddTo(root);
        var node = Cluster.ClusterCommands.Node();
        root.Subcommands.Add(node);
        root.Subcommands.Add(Cluster.ClusterCommands.Cluster());
        var parse = root.Parse(args);
        // System.CommandLine's own SIGTERM/SIGINT handling gives an action two seconds and then ends the process with
        // its own exit code. The server's host handles those signals itself, draining calls for up to its configured
        // shutdown timeout and exiting 0, so for serve (and a cluster node) System.CommandLine stays out of it.
        var invocation = parse.CommandResult.Command == serve || parse.CommandResult.Command == node
            ? new InvocationConfiguration { ProcessTerminationTimeout = null }
            : new InvocationConfiguration();
        return parse.InvokeAsync(invocation);
    }
}
