using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Formats;
using Quiver.Toolbox;

namespace Quiver.Cli.Ops.Import;

/// <summary>The options of <c>quiver import</c> (docs/operations-import-export.md).</summary>
internal sealed record ImportOptions
{
    /// <summary>The input file.</summary>
    public required string File { get; init; }

    /// <summary>The collection written to.</summary>
    public required string Collection { get; init; }

    /// <summary>jsonl, csv, parquet, npy or fvecs; null: from the extension.</summary>
    public string? Format { get; init; }

    /// <summary>Rows per batch; default 1,000.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Abort (default) or skip bad rows.</summary>
    public OnRowError OnError { get; init; } = OnRowError.Abort;

    /// <summary>Where rejected rows are written as JSON lines (number, error, raw text or values).</summary>
    public string? BadRowsFile { get; init; }

    /// <summary>Continue an interrupted import from its checkpoint.</summary>
    public bool Resume { get; init; }

    /// <summary>Write with upsert instead of insert.</summary>
    public bool Upsert { get; init; }

    /// <summary>The partition written to.</summary>
    public string? Partition { get; init; }

    /// <summary>A schema file to create the collection from when it does not exist.</summary>
    public string? SchemaFile { get; init; }

    /// <summary><c>.npy</c> / <c>.fvecs</c>: the vector field.</summary>
    public string? VectorField { get; init; }

    /// <summary><c>.npy</c> / <c>.fvecs</c>: the key of the first row.</summary>
    public long IdStart { get; init; }

    /// <summary>CSV separator; default ',' (a tab for .tsv).</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>The checkpoint file; default <c>FILE.quiver-import.json</c>.</summary>
    public string? CheckpointFile { get; init; }
}

/// <summary><c>quiver import FILE --collection C</c>: streams a JSONL, CSV, Parquet, .npy or .fvecs file into a
/// collection in all-or-nothing batches, resumable, with bad rows aborting or skipped with a report.</summary>
internal static class ImportCommand
{
    private static readonly JsonSerializerOptions BadRowJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
            var options = new ImportOptions
            {
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
            var spec = target.Read(parse);
            using var embedders = parse.GetValue(embed) ? Embed.EmbedCommand.FromEnvironment() : null;
            var result = await RunAsync(spec with { TextEmbedders = embedders }, options, io, ct).ConfigureAwait(false);
            return await ReportAsync(result, io).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Runs an import and returns what it did (the caller reports it). User errors throw
    /// <see cref="ToolboxException"/> before anything is written; an interruption leaves the checkpoint for <c>--resume</c>.</summary>
    public static async Task<ImportResult> RunAsync(TargetSpec targetSpec, ImportOptions options, CliIo io, CancellationToken cancellationToken)
    {
        if (options.BatchSize < 1)
        {
            throw new ToolboxException($"--batch {options.BatchSize}: must be at least 1");
        }

        if (!System.IO.File.Exists(options.File))
        {
            throw new ToolboxException($"'{options.File}': no such file");
        }

        var format = RowFormats.Resolve(options.File, options.Format);
        var checkpointPath = options.CheckpointFile ?? ImportCheckpoint.DefaultPath(options.File);
        var fresh = ImportCheckpoint.Start(options.File, format, targetSpec.Database, options.Collection, options.Partition);
        var previous = ImportCheckpoint.Load(checkpointPath);
        if (options.Resume && previous is null)
        {
            throw new ToolboxException($"--resume: no checkpoint at '{checkpointPath}' (a finished import deletes it, and an import that wrote nothing leaves none)");
        }

        if (!options.Resume && previous is not null)
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                $"an unfinished import of '{options.File}' left checkpoint '{checkpointPath}' ({previous.RowsDone} rows committed): give --resume to continue it, or delete the checkpoint to start over"));
        }

        previous?.CheckSameImport(fresh, checkpointPath);

        await using var target = await targetSpec.OpenAsync(createFolder: options.SchemaFile is not null, cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var database = target.Database;
        if (!await client.HasCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false))
        {
            if (options.SchemaFile is null)
            {
                throw new ToolboxException($"collection '{options.Collection}' does not exist in database '{database}' of {target.Description} (give --schema FILE to create it)");
            }

            var created = SchemaFile.Read(options.SchemaFile);
            await client.CreateCollectionAsync(options.Collection, created, database, cancellationToken).ConfigureAwait(false);
            io.Note($"created collection '{options.Collection}' from '{options.SchemaFile}'");
        }
        else if (options.SchemaFile is not null)
        {
            io.Note($"collection '{options.Collection}' exists; its own schema is used and '{options.SchemaFile}' is not");
        }

        if (options.Partition is { } p && !await client.HasPartitionAsync(options.Collection, p, database, cancellationToken).ConfigureAwait(false))
        {
            throw new ToolboxException($"partition '{p}' does not exist in collection '{options.Collection}' (create it first)");
        }

        var schema = (await client.DescribeCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false)).Schema;
        var autoId = schema.PrimaryKey.AutoId;
        if (previous is { InFlight: true } && previous.BatchSize != options.BatchSize)
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture,
                $"checkpoint '{checkpointPath}' was left during a write of {previous.BatchSize} rows: resume with --batch {previous.BatchSize}, so that batch is re-sent whole"));
        }

        var checkpoint = (previous ?? fresh) with { BatchSize = options.BatchSize, InFlight = false };
        if (previous is not null)
        {
            io.Note(string.Create(CultureInfo.InvariantCulture, $"resuming after {previous.RowsDone} rows ({(format is RowFormat.Jsonl or RowFormat.Csv ? "line" : "row")} {previous.LastNumber}) from '{checkpointPath}'"));
            if (autoId && !options.Upsert)
            {
                io.Note("note: the key is auto_id, so a batch acknowledged just before the interruption but not yet in the checkpoint would be inserted again with new ids");
            }
        }

        var settings = new ImportSettings
        {
            Collection = options.Collection,
            Database = database,
            Partition = options.Partition,
            BatchSize = options.BatchSize,
            OnError = options.OnError,
            Upsert = options.Upsert,
            SkipRows = checkpoint.RowsDone,
            UpsertFirstBatch = previous is { InFlight: true } && !autoId,
            NumberLabel = format is RowFormat.Jsonl or RowFormat.Csv ? "line" : "row",
        };
        var formatOptions = new FormatOptions { VectorField = options.VectorField, IdStart = options.IdStart, Delimiter = options.Delimiter, KeepAutoIdKeys = options.Upsert };
        await using var reader = RowFormats.OpenReader(options.File, format, schema, formatOptions);
        StreamWriter? badRows = null;
        if (options.BadRowsFile is { } badPath)
        {
            badRows = new StreamWriter(badPath, append: previous is not null, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }

        try
        {
            var total = reader.TotalRows is { } t ? Math.Max(0, t - checkpoint.RowsDone) : (long?)null;
            var result = await io.WithProgressAsync("import", total, "rows", async progress =>
            {
                var hooks = new ImportHooks
                {
                    WritingAsync = _ =>
                    {
                        // Written before each write, not at the start: a file refused before anything was sent leaves
                        // no checkpoint behind to demand --resume. The mark says a batch is on its way.
                        checkpoint = checkpoint with { InFlight = true };
                        checkpoint.Save(checkpointPath);
                        return Task.CompletedTask;
                    },
                    RowsRead = progress.SetValue,
                    RejectedAsync = badRows is null ? null : (row, ct) => WriteBadRowAsync(badRows, row, ct),
                    BatchCommittedAsync = async (done, ct) =>
                    {
                        if (badRows is not null)
                        {
                            // Rejected rows reach the disk before the checkpoint moves past them.
                            await badRows.FlushAsync(ct).ConfigureAwait(false);
                        }

                        checkpoint = checkpoint with
                        {
                            RowsDone = done.RowsDone,
                            LastNumber = done.LastNumber,
                            Imported = (previous?.Imported ?? 0) + done.Imported,
                            Rejected = (previous?.Rejected ?? 0) + done.Rejected,
                            InFlight = false,
                        };
                        checkpoint.Save(checkpointPath);
                    },
                };
                return await new RowImporter(client, schema, settings, hooks).RunAsync(reader, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);

            if (!result.Aborted)
            {
                System.IO.File.Delete(checkpointPath);
            }
            else if (System.IO.File.Exists(checkpointPath) && checkpoint.InFlight)
            {
                // The run ended on a refusal (or a bad row), not mid-write: the target answered, nothing is in flight.
                (checkpoint with { InFlight = false }).Save(checkpointPath);
            }

            var kept = result.Aborted && System.IO.File.Exists(checkpointPath);

            return result with
            {
                File = options.File,
                Format = format.ToString().ToLowerInvariant(),
                Target = target.Description,
                BadRowsFile = options.BadRowsFile,
                Checkpoint = kept ? checkpointPath : null,
            };
        }
        finally
        {
            if (badRows is not null)
            {
                await badRows.DisposeAsync().ConfigureAwait(false);
            }
        }
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

    private static async Task WriteBadRowAsync(StreamWriter writer, RejectedRow row, CancellationToken cancellationToken)
    {
        var line = row.Raw is not null
            ? JsonSerializer.Serialize(new { number = row.Number, error = row.Error, raw = row.Raw }, BadRowJson)
            : JsonSerializer.Serialize(new { number = row.Number, error = row.Error, values = row.Values }, BadRowJson);
        await writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
