using System.CommandLine;
using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Backup;

namespace Quiver.Cli.Ops.Backup;

/// <summary>The command lines of <c>quiver backup</c> and <c>quiver restore</c> (docs/operations-backup.md).</summary>
internal static class BackupCommands
{
    /// <summary><c>quiver backup --out PATH [--collections a,b] [--archive]</c>.</summary>
    public static Command CreateBackup()
    {
        var target = new TargetOptions();
        var json = OpsCommand.JsonOption();
        var output = new Option<string>("--out") { Description = "The backup: a new folder, or an archive with --archive or a path ending .tar, .tar.gz or .tgz.", Required = true };
        var collections = CollectionsOption("Collections to back up, comma-separated (default: every collection of the database).");
        var archive = new Option<bool>("--archive") { Description = "Write one tar archive instead of a folder (gzip-compressed when the path ends .gz or .tgz)." };
        var rowsPerFile = new Option<int>("--rows-per-file") { Description = "Rows per Parquet data file at most.", DefaultValueFactory = _ => 100_000 };
        var command = new Command("backup", "Back up collections of a folder or a running server: Parquet files and a manifest with checksums.");
        target.AddTo(command);
        foreach (var o in new Option[] { output, collections, archive, rowsPerFile, json })
        {
            command.Options.Add(o);
        }

        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new BackupOptions(target.Read(parse), parse.GetValue(output)!, Split(parse.GetValue(collections)), parse.GetValue(archive), parse.GetValue(rowsPerFile));
            var result = await BackupTool.RunAsync(options, io, ct).ConfigureAwait(false);
            if (io.Json)
            {
                io.WriteJson(result);
            }
            else
            {
                io.WriteTable(
                    ["collection", "rows", "partitions", "files", "indexes"],
                    result.Collections.Select(c => (IReadOnlyList<string>)[c.Name, Count(c.Rows), Count(c.Partitions), Count(c.Files), Count(c.Indexes)]));
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"backup {result.Path}: {result.Rows:N0} rows, {result.Bytes:N0} bytes of data, {result.Seconds:0.0} s"));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>quiver restore PATH [--collections a,b] [--rename old=new] [--verify-only]</c>.</summary>
    public static Command CreateRestore()
    {
        var target = new TargetOptions();
        var json = OpsCommand.JsonOption();
        var path = new Argument<string>("PATH") { Description = "The backup folder or archive." };
        var collections = CollectionsOption("Collections to restore, comma-separated (default: all in the backup).");
        var rename = new Option<string[]>("--rename") { Description = "Restore collection OLD as NEW (OLD=NEW; repeat, or comma-separate).", AllowMultipleArgumentsPerToken = true };
        var verifyOnly = new Option<bool>("--verify-only") { Description = "Only check the backup's manifest, sizes and checksums; create nothing." };
        var batch = new Option<int>("--batch") { Description = "Rows per insert call.", DefaultValueFactory = _ => 1000 };
        var command = new Command("restore", "Verify a backup and restore its collections into a folder or a running server; a damaged backup is refused (exit 2).");
        target.AddTo(command);
        command.Arguments.Add(path);
        foreach (var o in new Option[] { collections, rename, verifyOnly, batch, json })
        {
            command.Options.Add(o);
        }

        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new RestoreOptions(
                target.Read(parse), parse.GetValue(path)!, Split(parse.GetValue(collections)), ParseRenames(parse.GetValue(rename)), parse.GetValue(verifyOnly), parse.GetValue(batch));
            RestoreResult result;
            try
            {
                result = await RestoreTool.RunAsync(options, io, ct).ConfigureAwait(false);
            }
            catch (BackupDamagedException damaged)
            {
                // The command line's report of a damaged backup is unchanged: its JSON keeps the shape it had when the
                // library returned a flag, and the problems are notes, exit 2.
                if (io.Json)
                {
                    io.WriteJson(new { damaged.Path, Damaged = true, damaged.Problems, damaged.FilesVerified, damaged.BytesVerified, Collections = Array.Empty<RestoredCollection>() });
                }
                else
                {
                    foreach (var problem in damaged.Problems)
                    {
                        io.Note($"quiver restore: damaged backup: {problem}");
                    }

                    io.Note($"quiver restore: '{damaged.Path}' is damaged; nothing was restored");
                }

                return ExitCodes.CheckFailed;
            }

            if (io.Json)
            {
                io.WriteJson(new { result.Path, Damaged = false, Problems = Array.Empty<string>(), result.FilesVerified, result.BytesVerified, result.Collections, result.Seconds });
            }
            else if (options.VerifyOnly)
            {
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"backup {result.Path} is whole: manifest checksum and {result.FilesVerified} data files ({result.BytesVerified:N0} bytes) verified"));
            }
            else
            {
                io.WriteTable(
                    ["collection", "restored as", "rows", "partitions", "indexes", "aliases"],
                    result.Collections.Select(c => (IReadOnlyList<string>)[c.Source, c.Name, Count(c.Rows), Count(c.Partitions), Count(c.Indexes), string.Join(", ", c.Aliases)]));
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"restore {result.Path}: {result.Collections.Sum(c => c.Rows):N0} rows, checksums of {result.FilesVerified} files verified first, {result.Seconds:0.0} s"));
                foreach (var note in result.Collections.SelectMany(c => c.Notes.Select(n => $"{c.Name}: {n}")))
                {
                    io.Note($"note: {note}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>OLD=NEW pairs (each value may hold several, comma-separated).</summary>
    internal static Dictionary<string, string> ParseRenames(IEnumerable<string>? values)
    {
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == pair.Length - 1)
            {
                throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"--rename '{pair}': expected OLD=NEW");
            }

            if (!renames.TryAdd(pair[..eq], pair[(eq + 1)..]))
            {
                throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"--rename: '{pair[..eq]}' is renamed twice");
            }
        }

        return renames;
    }

    private static Option<string?> CollectionsOption(string description) => new("--collections") { Description = description };

    private static List<string>? Split(string? list) =>
        list is null ? null : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
