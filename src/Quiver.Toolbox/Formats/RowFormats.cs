
namespace Quiver.Toolbox.Formats;

/// <summary>The file formats <c>import</c> and <c>export</c> read and write (docs/operations-import-export.md).</summary>
internal enum RowFormat
{
    /// <summary>One JSON object per line; keys are field names (dynamic keys allowed), vectors are JSON arrays.</summary>
    Jsonl,

    /// <summary>RFC 4180 CSV with a header row of field names; vectors, arrays and JSON as JSON text in a cell.</summary>
    Csv,

    /// <summary>Apache Parquet; one column per field, vectors as lists of float.</summary>
    Parquet,

    /// <summary>NumPy <c>.npy</c> (2-D float32): the vectors of one field; keys come from the row index.</summary>
    Npy,

    /// <summary>TEXMEX <c>.fvecs</c>: the vectors of one field; keys come from the row index.</summary>
    Fvecs,
}

/// <summary>One row read from a file, numbered as the user finds it: the line for JSONL and CSV (1-based, the CSV
/// header is line 1), the row for Parquet, <c>.npy</c> and <c>.fvecs</c> (1-based). Either <see cref="Values"/> or
/// <see cref="Error"/> is set: a malformed row the reader could step over (a bad JSON line, a cell of the wrong type)
/// comes with the error naming the field and the problem, and reading goes on.</summary>
/// <param name="Number">Line or row number, 1-based.</param>
/// <param name="Values">Field values in forms the engine accepts (see <see cref="QuiverEngine.InsertAsync(string, IReadOnlyList{IReadOnlyDictionary{string, object}}, string?, string?, CancellationToken)"/>).</param>
/// <param name="Error">What is wrong with the row, naming the field.</param>
/// <param name="Raw">The row's text as it stands in the file (JSONL line, CSV record) where the format has one, for
/// the bad-rows report; null for binary formats.</param>
internal readonly record struct SourceRow(long Number, IReadOnlyDictionary<string, object?>? Values, string? Error, string? Raw = null);

/// <summary>How a file maps onto a collection.</summary>
internal sealed record FormatOptions
{
    /// <summary>Parquet: keep an auto_id key column (an upsert needs the keys; an insert would refuse them). Default
    /// false: the column is dropped and the collection generates keys.</summary>
    public bool KeepAutoIdKeys { get; init; }

    /// <summary><c>.npy</c> / <c>.fvecs</c>: the vector field the vectors belong to (default: the collection's only
    /// vector field).</summary>
    public string? VectorField { get; init; }

    /// <summary><c>.npy</c> / <c>.fvecs</c> import into a collection whose Int64 key is not auto-generated: the key of
    /// row r (0-based) is <c>IdStart + r</c>. Default 0.</summary>
    public long IdStart { get; init; }

    /// <summary>How messages name the vector-field option (default <c>ImportOptions.VectorField</c>).</summary>
    public string VectorFieldOption { get; init; } = "ImportOptions.VectorField";

    /// <summary>CSV: the separator (default ',').</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Export: the fields to write, in order (default: every field of the schema, plus dynamic keys where the
    /// format can hold them).</summary>
    public IReadOnlyList<string>? Fields { get; init; }
}

/// <summary>Where a reader's file comes from: the name messages give it, and how to open it. A reader calls
/// <see cref="Open"/> when it starts reading (JSONL, CSV) or when it is created (Parquet, <c>.npy</c>, <c>.fvecs</c>,
/// which read a header first) and owns the stream. The server's bulk import opens through its import root
/// (no links followed, hard links refused); <c>quiver import</c> opens the path.</summary>
/// <param name="Name">The file as messages name it.</param>
/// <param name="Open">Opens it for reading; errors name the file.</param>
internal sealed record RowSource(string Name, Func<FileStream> Open)
{
    /// <summary>The file at <paramref name="path"/>; throws <see cref="ToolboxException"/> when there is none.</summary>
    public static RowSource FromPath(string path) => File.Exists(path)
        ? new RowSource(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        : throw new ToolboxException(ToolboxErrorKind.NotFound, $"'{path}': no such file");
}

/// <summary>Reads rows from a file, streaming with bounded memory whatever the file's size.</summary>
internal interface IRowReader : IAsyncDisposable
{
    /// <summary>Rows in the file when known without reading it all (Parquet metadata, <c>.npy</c> header, <c>.fvecs</c>
    /// size); null for JSONL and CSV.</summary>
    long? TotalRows { get; }

    /// <summary>The rows in file order after skipping the first <paramref name="skip"/> rows (a resumed import), each
    /// numbered as in the whole file. Damage the reader cannot step over (a truncated <c>.npy</c>, a CSV without a
    /// header, a corrupt Parquet page) ends the sequence with an <see cref="ToolboxException"/> naming the file and the
    /// row or byte offset.</summary>
    IAsyncEnumerable<SourceRow> ReadAsync(long skip, CancellationToken cancellationToken);
}

/// <summary>Writes rows to a file. Nothing is usable until <see cref="CompleteAsync"/>: a writer disposed without it
/// deletes what it wrote, so a failed export never leaves a file that looks whole.</summary>
internal interface IRowWriter : IAsyncDisposable
{
    /// <summary>Appends rows (as <see cref="QuiverEngine.QueryAsync"/> returns them).</summary>
    Task WriteAsync(IReadOnlyList<Row> rows, CancellationToken cancellationToken);

    /// <summary>Finishes the file (footer, flush to disk).</summary>
    Task CompleteAsync(CancellationToken cancellationToken);
}

/// <summary>Picks the reader or writer of a format.</summary>
internal static class RowFormats
{
    /// <summary>The format named by <paramref name="name"/> (jsonl, csv, parquet, npy, fvecs) or, when null, by the
    /// file's extension (<c>.jsonl</c>/<c>.json</c>/<c>.ndjson</c>, <c>.csv</c>/<c>.tsv</c>, <c>.parquet</c>,
    /// <c>.npy</c>, <c>.fvecs</c>).</summary>
    public static RowFormat Resolve(string path, string? name, string option = "ImportOptions.Format")
    {
        var token = (name ?? Path.GetExtension(path).TrimStart('.')).ToLowerInvariant();
        return token switch
        {
            "jsonl" or "json" or "ndjson" => RowFormat.Jsonl,
            "csv" or "tsv" => RowFormat.Csv,
            "parquet" => RowFormat.Parquet,
            "npy" => RowFormat.Npy,
            "fvecs" => RowFormat.Fvecs,
            _ => throw new ToolboxException(ToolboxErrorKind.InvalidOptions, name is null
                ? $"'{path}': cannot tell the format from the extension; give {option} jsonl|csv|parquet|npy|fvecs"
                : $"{option} '{name}': unknown; expected jsonl, csv, parquet, npy or fvecs"),
        };
    }

    /// <summary>Opens a reader of <paramref name="path"/> for rows of <paramref name="schema"/>.</summary>
    public static IRowReader OpenReader(string path, RowFormat format, CollectionSchema schema, FormatOptions options) =>
        OpenReader(RowSource.FromPath(path), format, schema, options);

    /// <summary>Opens a reader of <paramref name="source"/> for rows of <paramref name="schema"/>.</summary>
    public static IRowReader OpenReader(RowSource source, RowFormat format, CollectionSchema schema, FormatOptions options) => format switch
    {
        RowFormat.Jsonl => new JsonlReader(source),
        RowFormat.Csv => new CsvRowReader(source, schema, options),
        RowFormat.Parquet => ParquetFormat.OpenReader(source, schema, options),
        RowFormat.Npy or RowFormat.Fvecs => VectorRowFormat.OpenReader(source, format, schema, options),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "no reader for this format"),
    };

    /// <summary>Creates <paramref name="path"/> (replacing it only on <see cref="IRowWriter.CompleteAsync"/>) for rows of
    /// <paramref name="schema"/>.</summary>
    public static IRowWriter OpenWriter(string path, RowFormat format, CollectionSchema schema, FormatOptions options) => format switch
    {
        RowFormat.Jsonl => new JsonlWriter(path, schema, options),
        RowFormat.Csv => new CsvRowWriter(path, schema, options),
        RowFormat.Parquet => ParquetFormat.OpenWriter(path, schema, options),
        RowFormat.Npy or RowFormat.Fvecs => VectorRowFormat.OpenWriter(path, format, schema, options),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "no writer for this format"),
    };
}
