using System.Globalization;
using Quiver.Client;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Import;

/// <summary>What a server-side bulk-import job hands <see cref="FileJobImport.RunAsync"/>: where it writes, the files it
/// reads (opened only through <see cref="Open"/>, which confines them), its options and where progress goes.</summary>
internal sealed record FileJob
{
    /// <summary>The collection written to.</summary>
    public required string Collection { get; init; }

    /// <summary>Its database.</summary>
    public required string Database { get; init; }

    /// <summary>The partition written to, or null for the default one.</summary>
    public string? Partition { get; init; }

    /// <summary>The files, read in order.</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The job's options (<c>format</c>, <c>vector_field</c>, <c>id_start</c>, <c>batch_size</c>, <c>upsert</c>).</summary>
    public required IReadOnlyDictionary<string, string> Options { get; init; }

    /// <summary>Opens one of <see cref="Files"/> for reading; every open of the job goes through it.</summary>
    public required Func<string, FileStream> Open { get; init; }

    /// <summary>Called once with the rows of every file, after the checking pass.</summary>
    public required Action<long> SetTotalRows { get; init; }

    /// <summary>Called with the rows of each acknowledged batch.</summary>
    public required Func<long, CancellationToken, Task> AddImportedAsync { get; init; }
}

/// <summary>
/// A bulk-import job's two passes, whoever runs the job (the standalone server's <c>IBulkImporter</c>, a cluster node):
/// first every row of every file is read and checked without writing (format, types, dimension, keys repeated in a
/// file), so bad data fails the job with nothing imported and a reason naming file, line or row, and field; then the
/// files are imported one by one in batches through <c>client</c>. A failure during the second pass (a key that already
/// exists in the collection, the server stopping) keeps the batches acknowledged before it. Options: <c>format</c>
/// (jsonl, csv, parquet, npy, fvecs; default from each file's extension), <c>vector_field</c> and <c>id_start</c> (for
/// <c>.npy</c> / <c>.fvecs</c>), <c>batch_size</c> (default 1,000), <c>upsert</c> (<c>true</c>: replace rows with the
/// same key). Throws <see cref="ToolboxException"/> naming the file and the problem, never what the file holds.
/// </summary>
internal static class FileJobImport
{
    /// <summary>Runs <paramref name="job"/> into a collection whose schema is <paramref name="schema"/>, writing through
    /// <paramref name="client"/>.</summary>
    public static async Task RunAsync(IQuiverClient client, CollectionSchema schema, FileJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(job);
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

        // Every open goes through the job, which confines it and makes both passes read one file.
        RowSource Source(string file) => new(Path.GetFileName(file), () => job.Open(file));

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
                BatchCommittedAsync = async (progress, ct) =>
                {
                    var added = progress.Imported - done;
                    done = progress.Imported;
                    await job.AddImportedAsync(added, ct).ConfigureAwait(false);
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
