using System.CommandLine;

namespace Quiver.Cli.Ops;

/// <summary>The operator toolbox (issue 6): import / export, backup / restore, prep, advise, tune, eval, health. Each
/// works against an embedded folder (<c>--data</c>) or a running server (<c>--uri</c>); see docs/operations.md.</summary>
internal static class OpsCommands
{
    /// <summary>Adds every operator command to <paramref name="root"/>.</summary>
    public static void AddTo(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        root.Subcommands.Add(Tune.TuneCommand.Create());
        root.Subcommands.Add(Advise.AdviseCommand.Create());
    }
}
