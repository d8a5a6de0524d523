using System.CommandLine;
using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Import;

namespace Quiver.Cli.Ops.Import;

/// <summary><c>quiver import FILE --collection C</c>: the command line over <see cref="QuiverToolbox.ImportAsync"/>
/// (<see cref="Importer"/>); this parses the options, prints the result and maps it to the exit code (0, 3 with
/// rejected rows, 1 when the import aborted).</summary>
internal static class ImportCommand
{
    /// <summary>The <c>import</c> command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The file to import (.jsonl, .csv, .tsv, .parquet, .npy, .fvecs)." };
        var collection = new Option<string>("--collection", "-c") { Description = "The collection to import into.", Required = true };
        var format = new Option<string?>("--format") { Description = "jsonl, csv, parquet, npy or fvecs (default: from the extension)." };
        var batch = new Option<int>("--batch") { Description = "Rows per batch; each batch is written all-or-nothing.", DefaultValueFactory = _ => 1000 };
        var onError = new Option<string>("--on-error") { Description = "abort: stop at the first bad row, before sending its batch; skip: leave bad rows out, report them, exit 3.", DefaultValueFactory = _ => "abort" };
        onError.AcceptOnlyFromAmong("abort", "skip");
        var badRows = new Option<string?>("--bad-rows") { Description = "Write rejected rows here as JSON lines: number, error, raw text (or values)." };
        var resume = new Option<bool>("--resume") { Description = "Continue an interrupted import of the same file from its checkpoint." };
        var upsert = new Option<bool>("--upsert") { Description = "Replace rows with the same primary key instead of refusing them." };
        var partition = new Option<string?>("--partition") { Description = "Import into this partition (it must exist)." };
        var schema = new Option<string?>("--schema") { Description = "Create the collection from this schema file (CollectionSchema JSON) when it does not exist." };
        var vectorField = new Option<string?>("--vector-field") { Description = ".npy / .fvecs: the vector field (default: the only one)." };
        var idStart = new Option<long>("--id-start") { Description = ".npy / .fvecs: primary key of the first row (keys count up from it) unless the key is auto_id." };
        var delimiter = new Option<char>("--delimiter") { Description = "CSV separator (default ',', a tab for .tsv).", DefaultValueFactory = _ => ',' };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Checkpoint file (default FILE.quiver-import.json)." };
        var embed = new Option<bool>("--embed") { Description = "Compute the vectors of the collection's TextEmbedding functions from the rows' text while importing into a --data folder (local model, or an OpenAI-compatible service from QUIVER_EMBEDDING_BASE_URL and QUIVER_EMBEDDING_API_KEY). A server computes them itself." };
        var json = OpsCommand.JsonOption();
        var target = new TargetOptions();

        var command = new Command("import", "Import rows from a JSONL, CSV, Parquet, .npy or .fvecs file into a collection: streaming, batched, resumable.");
        command.Arguments.Add(file);
        foreach (var o in new Option[] { collection, format, batch, onError, badRows, resume, upsert, partition, schema, vectorField, idStart, delimiter, checkpoint, embed, json })
        {
            command.Options.Add(o);
        }

        target.AddTo(command);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var spec = target.Read(parse);
            using var embedders = parse.GetValue(embed) ? Embed.EmbedCommand.FromEnvironment() : null;
            var options = new ImportOptions
            {
                Target = spec with { TextEmbedders = embedders },
                File = parse.GetValue(file)!,
                Collection = parse.GetValue(collection)!,
                Format = parse.GetValue(format),
                BatchSize = parse.GetValue(batch),
                OnError = parse.GetValue(onError) == "skip" ? OnRowError.Skip : OnRowError.Abort,
                BadRowsFile = parse.GetValue(badRows),
                Resume = parse.GetValue(resume),
                Upsert = parse.GetValue(upsert),
                Partition = parse.GetValue(partition),
                SchemaFile = parse.GetValue(schema),
                VectorField = parse.GetValue(vectorField),
                IdStart = parse.GetValue(idStart),
                Delimiter = parse.GetValue(delimiter),
                CheckpointFile = parse.GetValue(checkpoint),
            };
            ImportResult result;
            try
            {
                result = await Importer.RunAsync(options, io, ct).ConfigureAwait(false);
            }
            catch (ImportAbortedException e)
            {
                result = e.Result;
            }

            return await ReportAsync(result, io).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Writes the result (a summary table and the first rejected rows, or JSON) and returns the exit code:
    /// 0, 3 when rows were rejected, 1 when the import aborted (its error on stderr).</summary>
    public static async Task<int> ReportAsync(ImportResult result, CliIo io)
    {
        if (io.Json)
        {
            io.WriteJson(result);
        }
        else
        {
            var rows = new List<IReadOnlyList<string>>
            {
                new[] { "file", $"{result.File} ({result.Format})" },
                new[] { "into", $"collection '{result.Collection}', {result.Target}" },
                new[] { "rows read", N(result.RowsRead) },
                new[] { "imported", N(result.Imported) },
                new[] { "rejected", N(result.Rejected) },
                new[] { "batches", N(result.Batches) },
                new[] { "seconds", CliIo.Num(result.Seconds, "0.00") },
                new[] { "rows/s", CliIo.Num(result.RowsPerSecond, "#,0") },
            };
            if (result.ResumedAfter > 0)
            {
                rows.Add(["resumed after", N(result.ResumedAfter) + " rows"]);
            }

            if (result.BadRowsFile is not null && result.Rejected > 0)
            {
                rows.Add(["bad rows in", result.BadRowsFile]);
            }

            io.WriteTable(["import", "value"], rows);
            if (result.RejectedRows.Count > 0)
            {
                const int Shown = 20;
                var title = result.Rejected > Shown ? $"rejected rows (first {Shown} of {N(result.Rejected)})" : "rejected rows";
                io.WriteTable(["number", "error"], result.RejectedRows.Take(Shown).Select(r => (IReadOnlyList<string>)[N(r.Number), r.Error]), title);
            }
        }

        if (result.Aborted)
        {
            await io.Err.WriteLineAsync($"quiver import: error: {result.Error}").ConfigureAwait(false);
            if (result.Checkpoint is not null)
            {
                await io.Err.WriteLineAsync($"checkpoint kept at '{result.Checkpoint}': rerun with --resume (for example with --on-error skip) to continue after the rows already imported").ConfigureAwait(false);
            }
            return ExitCodes.Failed;
        }

        return result.Rejected > 0 ? ExitCodes.RowsRejected : ExitCodes.Ok;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
