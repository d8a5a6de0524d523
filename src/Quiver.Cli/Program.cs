using System.CommandLine;
using Quiver.Cli.Bench;
using Quiver.Cli.Quickstart;
using Quiver.Cli.Serve;

namespace Quiver.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        var root = new RootCommand("Quiver: a vector database. Embedded over a local folder, or as a Milvus-compatible server.");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root.Parse(args).InvokeAsync();
    }
}
