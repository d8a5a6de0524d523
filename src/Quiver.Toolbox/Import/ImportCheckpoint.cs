using System.Globalization;
using System.Text.Json;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Import;

/// <summary>
/// The resume point of an import, kept next to the input as <c>FILE.quiver-import.json</c> (or at <see cref="ImportOptions.CheckpointFile"/>):
/// which file (path, size, last-write time), where it goes (database, collection, partition), and how many source rows
/// are fully committed. Rewritten atomically (temporary file, fsync, rename) after every acknowledged batch, written
/// with 0 rows just before an import's first write, and deleted when it finishes, so its presence means "an import of
/// this file wrote something and did not finish".
/// </summary>
internal sealed record ImportCheckpoint
{
    /// <summary>Format version of the file.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Full path of the input.</summary>
    public required string Input { get; init; }

    /// <summary>Its size in bytes when the import started.</summary>
    public required long InputBytes { get; init; }

    /// <summary>Its last-write time (UTC) when the import started.</summary>
    public required DateTime InputLastWriteUtc { get; init; }

    /// <summary>The format it was read as.</summary>
    public required string Format { get; init; }

    /// <summary>The database written to.</summary>
    public required string Database { get; init; }

    /// <summary>The collection written to.</summary>
    public required string Collection { get; init; }

    /// <summary>The partition written to, or null.</summary>
    public string? Partition { get; init; }

    /// <summary>Source rows fully committed (imported or rejected) from the start of the file.</summary>
    public long RowsDone { get; init; }

    /// <summary>Line or row number of the last of them (0 before the first batch).</summary>
    public long LastNumber { get; init; }

    /// <summary>Rows imported by every run so far.</summary>
    public long Imported { get; init; }

    /// <summary>Rows rejected by every run so far.</summary>
    public long Rejected { get; init; }

    /// <summary>When it was written (UTC).</summary>
    public DateTime UpdatedUtc { get; init; }

    /// <summary>True while a batch is being written: set just before the write, cleared once the target answered
    /// (acknowledged or refused). A checkpoint left with it set means the batch after <see cref="RowsDone"/> may or may
    /// not have landed, so a resume sends that batch as upsert; otherwise a resume inserts as the first run did.</summary>
    public bool InFlight { get; init; }

    /// <summary>Rows per batch of the run that wrote the checkpoint; a resume of an in-flight batch must use the same
    /// size, so that the upserted first batch covers exactly the rows that may have landed.</summary>
    public int BatchSize { get; init; }

    /// <summary>The default place of the checkpoint of <paramref name="input"/>.</summary>
    public static string DefaultPath(string input) => input + ".quiver-import.json";

    /// <summary>A fresh checkpoint (0 rows done) for <paramref name="input"/>.</summary>
    public static ImportCheckpoint Start(string input, RowFormat format, string database, string collection, string? partition)
    {
        var file = new FileInfo(input);
        return new ImportCheckpoint
        {
            Input = file.FullName,
            InputBytes = file.Length,
            InputLastWriteUtc = file.LastWriteTimeUtc,
            Format = format.ToString(),
            Database = database,
            Collection = collection,
            Partition = partition,
            UpdatedUtc = DateTime.UtcNow,
        };
    }

    /// <summary>The checkpoint at <paramref name="path"/>, or null when there is none.</summary>
    public static ImportCheckpoint? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ImportCheckpoint>(File.ReadAllBytes(path), ToolboxJson.Options)
                   ?? throw new ToolboxException($"checkpoint '{path}' is empty");
        }
        catch (JsonException e)
        {
            throw new ToolboxException($"checkpoint '{path}' is damaged ({e.Message}); delete it to import from the start", e);
        }
    }

    /// <summary>Writes the checkpoint atomically.</summary>
    public void Save(string path) => PendingFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this with { UpdatedUtc = DateTime.UtcNow }, ToolboxJson.Options));

    /// <summary>Throws unless this checkpoint (read from <paramref name="path"/>) is of the same input and target as
    /// <paramref name="current"/>: resuming against a changed file or another collection would skip the wrong rows.</summary>
    public void CheckSameImport(ImportCheckpoint current, string path)
    {
        string? mismatch = null;
        if (!string.Equals(Input, current.Input, StringComparison.Ordinal))
        {
            mismatch = $"it is of '{Input}'";
        }
        else if (InputBytes != current.InputBytes || InputLastWriteUtc != current.InputLastWriteUtc)
        {
            mismatch = string.Create(CultureInfo.InvariantCulture,
                $"the file changed since ({InputBytes} bytes, written {InputLastWriteUtc:O}; now {current.InputBytes} bytes, written {current.InputLastWriteUtc:O})");
        }
        else if (Format != current.Format)
        {
            mismatch = $"it read the file as {Format}";
        }
        else if (Database != current.Database || Collection != current.Collection || Partition != current.Partition)
        {
            mismatch = $"it imported into collection '{Collection}' of database '{Database}'{(Partition is null ? "" : $", partition '{Partition}'")}";
        }

        if (mismatch is not null)
        {
            throw new ToolboxException($"cannot resume from checkpoint '{path}': {mismatch}. Delete it to import from the start (with ImportOptions.Upsert to replace rows an earlier run wrote).");
        }
    }
}
