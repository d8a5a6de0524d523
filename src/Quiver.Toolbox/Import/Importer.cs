using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Import;

/// <summary>What <see cref="QuiverToolbox.ImportAsync"/> imports, from where, into what (<c>quiver import</c>,
/// docs/operations-import-export.md).</summary>
public sealed record ImportOptions
{
    /// <summary>The folder or server written to (<see cref="TargetSpec.Folder"/> may name a folder that does not exist
    /// yet when <see cref="SchemaFile"/> is given).</summary>
    public TargetSpec? Target { get; init; }

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

/// <summary><see cref="QuiverToolbox.ImportAsync"/> (<c>quiver import FILE --collection C</c>): streams a JSONL, CSV,
/// Parquet, .npy or .fvecs file into a collection in all-or-nothing batches, resumable, with bad rows aborting or
/// skipped with a report.</summary>
internal static class Importer
{
    private static readonly JsonSerializerOptions BadRowJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs an import and returns what it did (the caller reports it). User errors throw
    /// <see cref="ToolboxException"/> before anything is written; a stop at a bad row or a refused batch throws
    /// <see cref="ImportAbortedException"/> with what was done; an interruption leaves the checkpoint for
    /// <see cref="ImportOptions.Resume"/>.</summary>
    public static async Task<ImportResult> RunAsync(ImportOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var targetSpec = TargetSpec.Required(options.Target, "ImportOptions.Target");
        if (options.BatchSize < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"ImportOptions.BatchSize {options.BatchSize}: must be at least 1");
        }

        if (!System.IO.File.Exists(options.File))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"'{options.File}': no such file");
        }

        var format = RowFormats.Resolve(options.File, options.Format, "ImportOptions.Format");
        var checkpointPath = options.CheckpointFile ?? ImportCheckpoint.DefaultPath(options.File);
        var fresh = ImportCheckpoint.Start(options.File, format, targetSpec.Database, options.Collection, options.Partition);
        var previous = ImportCheckpoint.Load(checkpointPath);
        if (options.Resume && previous is null)
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"ImportOptions.Resume: no checkpoint at '{checkpointPath}' (a finished import deletes it, and an import that wrote nothing leaves none)");
        }

        if (!options.Resume && previous is not null)
        {
            throw new ToolboxException(ToolboxErrorKind.Conflict, string.Create(CultureInfo.InvariantCulture,
                $"an unfinished import of '{options.File}' left checkpoint '{checkpointPath}' ({previous.RowsDone} rows committed): set ImportOptions.Resume to continue it, or delete the checkpoint to start over"));
        }

        previous?.CheckSameImport(fresh, checkpointPath);

        await using var target = await targetSpec.OpenAsync(createFolder: options.SchemaFile is not null, cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var database = target.Database;
        if (!await client.HasCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false))
        {
            if (options.SchemaFile is null)
            {
                throw new ToolboxException(ToolboxErrorKind.NotFound, $"collection '{options.Collection}' does not exist in database '{database}' of {target.Description} (give ImportOptions.SchemaFile to create it)");
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
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"partition '{p}' does not exist in collection '{options.Collection}' (create it first)");
        }

        var schema = (await client.DescribeCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false)).Schema;
        var autoId = schema.PrimaryKey.AutoId;
        if (previous is { InFlight: true } && previous.BatchSize != options.BatchSize)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, string.Create(CultureInfo.InvariantCulture,
                $"checkpoint '{checkpointPath}' was left during a write of {previous.BatchSize} rows: resume with ImportOptions.BatchSize {previous.BatchSize}, so that batch is re-sent whole"));
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
                        // no checkpoint behind to demand a resume. The mark says a batch is on its way.
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

            var final = result with
            {
                File = options.File,
                Format = format.ToString().ToLowerInvariant(),
                Target = target.Description,
                BadRowsFile = options.BadRowsFile,
                Checkpoint = kept ? checkpointPath : null,
            };
            return final.Aborted ? throw new ImportAbortedException(final) : final;
        }
        finally
        {
            if (badRows is not null)
            {
                await badRows.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteBadRowAsync(StreamWriter writer, RejectedRow row, CancellationToken cancellationToken)
    {
        var line = row.Raw is not null
            ? JsonSerializer.Serialize(new { number = row.Number, error = row.Error, raw = row.Raw }, BadRowJson)
            : JsonSerializer.Serialize(new { number = row.Number, error = row.Error, values = row.Values }, BadRowJson);
        await writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
    }
}
