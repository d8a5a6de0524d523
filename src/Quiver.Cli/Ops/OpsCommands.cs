using System.CommandLine;
using Quiver.Cli.Ops.Export;
using Quiver.Cli.Ops.Import;
using Quiver.Cli.Ops.Eval;

namespace Quiver.Cli.Ops;

/// <summary>The operator toolbox (issue 6): import / export, backup / restore, prep, advise, tune, eval, health. Each
/// works against an embedded folder (<c>--data</c>) or a running server (<c>--uri</c>); see docs/operations.md.</summary>
internal static class OpsCommands
{
    /// <summary>Adds every operator command to <paramref name="root"/>.</summary>
    public static void AddTo(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        // In the order an operator meets them: data in and out, safety, preparation, index choice, quality, health.
        root.Subcommands.Add(ImportCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(Backup.BackupCommands.CreateBackup());
        root.Subcommands.Add(Backup.BackupCommands.CreateRestore());
        root.Subcommands.Add(Prep.PrepCommand.Create());
        root.Subcommands.Add(Advise.AdviseCommand.Create());
        root.Subcommands.Add(Index.IndexCommand.Create());
        root.Subcommands.Add(Tune.TuneCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(Health.HealthCommand.Create());
    }
}
