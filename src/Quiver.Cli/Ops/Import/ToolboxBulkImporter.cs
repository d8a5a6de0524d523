using System.Globalization;
using Quiver.Toolbox.Formats;
using Quiver.Toolbox.Import;
using Quiver.Client;
using Quiver.Server.Import;
using Quiver.Toolbox;

namespace Quiver.Cli.Ops.Import;

/// <summary>
/// The server's bulk importer (<see cref="IBulkImporter"/>, plugged in by <c>quiver serve</c>): the same reader and
/// <see cref="RowImporter"/> as <c>quiver import</c>. A job first reads and checks every row of every file without
/// writing (format, types, dimension, keys repeated in a file), so bad data fails the job with nothing imported and a
/// reason naming file, line or row, and field; then it imports file by file in batches. A failure during the second
/// pass (a key that already exists in the collection, the server stopping) keeps the batches acknowledged before it.
/// Job options: <c>format</c> (jsonl, csv, parquet, npy, fvecs; default from each file's extension),
/// <c>vector_field</c> and <c>id_start</c> (for <c>.npy</c> / <c>.fvecs</c>), <c>batch_size</c> (default 1,000),
/// <c>upsert</c> (<c>true</c>: replace rows with the same key). Files are opened only through
/// <see cref="BulkImportJob.OpenFile"/> (confined to the import root, checked at every open), and the reasons it gives
/// name file, line or row and field, never what the file holds.
/// </summary>
internal sealed class ToolboxBulkImporter : IBulkImporter
{
    /// <inheritdoc />
    public async Task ImportAsync(QuiverEngine engine, BulkImportJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(job);
        var client = QuiverClient.FromEngine(engine);
        var schema = (await engine.DescribeCollectionAsync(job.Collection, job.Database, cancellationToken).ConfigureAwait(false)).Schema;
        string? Option(string key) => job.Options.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        var batch = Option("batch_size") is { } b ? Number(b, "batch_size", 1, 100_000) : 1000;
        var upsert = Option("upsert") is { } u && (bool.TryParse(u, out var up) ? up : throw new ToolboxException($"option upsert: '{u}' is not true or false"));
        var formatOptions = new FormatOptions
        {
            VectorField = Option("vector_field"),
            IdStart = Option("id_start") is { } id ? Number(id, "id_start", 0, long.MaxValue) : 0,
            KeepAutoIdKeys = upsert,
            VectorFieldOption = "option vector_field",
        };

        ImportSettings SettingsFor(RowFormat format, bool checkOnly) => new()
        {
            Collection = job.Collection,
            Database = job.Database,
            Partition = job.Partition,
            BatchSize = (int)batch,
            OnError = OnRowError.Abort,
            Upsert = upsert,
            CheckOnly = checkOnly,
            NumberLabel = format is RowFormat.Jsonl or RowFormat.Csv ? "line" : "row",
        };

        static long Number(string text, string name, long min, long max) =>
            long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n
                : throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"option {name}: '{text}' is not a whole number in {min}..{max}"));

        // Every open goes through the job, which confines it to the import root and makes both passes read one file.
        RowSource Source(string file) => new(Path.GetFileName(file), () => job.OpenFile(file));

        long total = 0;
        foreach (var file in job.Files)
        {
            var format = RowFormats.Resolve(file, Option("format"), "option format");
            await using var reader = RowFormats.OpenReader(Source(file), format, schema, formatOptions);
            var checkedFile = await new RowImporter(client, schema, SettingsFor(format, checkOnly: true)).RunAsync(reader, cancellationToken).ConfigureAwait(false);
            if (checkedFile.Aborted)
            {
                throw new ToolboxException($"{Path.GetFileName(file)}: {checkedFile.Error} (nothing of the job was imported)");
            }

            total += checkedFile.Imported;
        }

        job.SetTotalRows(total);
        foreach (var file in job.Files)
        {
            var format = RowFormats.Resolve(file, Option("format"), "option format");
            await using var reader = RowFormats.OpenReader(Source(file), format, schema, formatOptions);
            long done = 0;
            var hooks = new ImportHooks
            {
                BatchCommittedAsync = (progress, _) =>
                {
                    job.AddImported(progress.Imported - done);
                    done = progress.Imported;
                    return Task.CompletedTask;
                },
            };
            var imported = await new RowImporter(client, schema, SettingsFor(format, checkOnly: false), hooks).RunAsync(reader, cancellationToken).ConfigureAwait(false);
            if (imported.Aborted)
            {
                throw new ToolboxException($"{Path.GetFileName(file)}: {imported.Error}");
            }
        }
    }
}
