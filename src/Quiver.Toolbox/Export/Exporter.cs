using System.Globalization;
using Quiver.Toolbox.Formats;

namespace Quiver.Toolbox.Export;

/// <summary>What <see cref="QuiverToolbox.ExportAsync"/> writes, from where (<c>quiver export</c>,
/// docs/operations-import-export.md).</summary>
public sealed record ExportOptions
{
    /// <summary>The folder or server read.</summary>
    public TargetSpec? Target { get; init; }

    /// <summary>The collection read.</summary>
    public required string Collection { get; init; }

    /// <summary>The output file (replaced only when the export completes).</summary>
    public required string Out { get; init; }

    /// <summary>jsonl, csv, parquet, npy or fvecs; null: from the extension.</summary>
    public string? Format { get; init; }

    /// <summary>The fields written, in order (default every field, plus dynamic keys where the format holds them).</summary>
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>Only rows of this partition.</summary>
    public string? Partition { get; init; }

    /// <summary>Only rows matching this filter expression.</summary>
    public string? Filter { get; init; }

    /// <summary><c>.npy</c> / <c>.fvecs</c>: the vector field written.</summary>
    public string? VectorField { get; init; }

    /// <summary>CSV separator; default ',' (a tab for .tsv).</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Rows read per page; default 1,000.</summary>
    public int PageSize { get; init; } = 1000;

    /// <summary>Also write the collection's schema here (the file <see cref="Import.ImportOptions.SchemaFile"/> takes).</summary>
    public string? SchemaOut { get; init; }
}

/// <summary>What an export did.</summary>
public sealed record ExportResult
{
    /// <summary>The collection read.</summary>
    public required string Collection { get; init; }

    /// <summary>"folder ./data" or "server http://...".</summary>
    public required string Target { get; init; }

    /// <summary>The file written.</summary>
    public required string File { get; init; }

    /// <summary>Its format.</summary>
    public required string Format { get; init; }

    /// <summary>Rows written.</summary>
    public long Rows { get; init; }

    /// <summary>Size of the file in bytes.</summary>
    public long Bytes { get; init; }

    /// <summary>Seconds the export took.</summary>
    public double Seconds { get; init; }

    /// <summary>Rows written per second.</summary>
    public double RowsPerSecond { get; init; }

    /// <summary>The schema file written, if asked.</summary>
    public string? SchemaFile { get; init; }
}

/// <summary><see cref="QuiverToolbox.ExportAsync"/> (<c>quiver export --collection C --out FILE</c>): writes a
/// collection's rows (all, one partition's, or those matching a filter) in primary-key order to JSONL, CSV, Parquet,
/// .npy or .fvecs, streaming page by page through <see cref="CollectionScanner"/>; the file appears only when
/// complete.</summary>
internal static class Exporter
{
    /// <summary>Runs an export. The output file is replaced only when every row is written; on any failure it is left
    /// as it was.</summary>
    public static async Task<ExportResult> RunAsync(ExportOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var targetSpec = TargetSpec.Required(options.Target, "ExportOptions.Target");
        if (options.PageSize < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"ExportOptions.PageSize {options.PageSize}: must be at least 1");
        }

        if (options.Fields is { Count: 0 })
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "ExportOptions.Fields: give at least one field");
        }

        var format = RowFormats.Resolve(options.Out, options.Format, "ExportOptions.Format");
        await using var target = await targetSpec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var database = target.Database;
        if (!await client.HasCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"collection '{options.Collection}' does not exist in database '{database}' of {target.Description}");
        }

        if (options.Partition is { } p && !await client.HasPartitionAsync(options.Collection, p, database, cancellationToken).ConfigureAwait(false))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"partition '{p}' does not exist in collection '{options.Collection}'");
        }

        var info = await client.DescribeCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false);
        if (!target.IsEmbedded)
        {
            // A server answers queries only on a loaded collection (Milvus's rule); loading is immediate in Quiver.
            await client.LoadCollectionAsync(options.Collection, database, cancellationToken).ConfigureAwait(false);
        }

        long total;
        if (options.Filter is null && options.Partition is null)
        {
            total = info.RowCount;
        }
        else
        {
            var counted = await client.QueryAsync(options.Collection, new QueryRequest
            {
                Filter = options.Filter ?? "",
                OutputFields = ["count(*)"],
                Partitions = options.Partition is null ? [] : [options.Partition],
            }, database, cancellationToken).ConfigureAwait(false);
            total = Convert.ToInt64(counted[0]["count(*)"], CultureInfo.InvariantCulture);
        }

        var formatOptions = new FormatOptions { Fields = options.Fields, VectorField = options.VectorField, Delimiter = options.Delimiter, VectorFieldOption = "ExportOptions.VectorField" };
        var started = System.Diagnostics.Stopwatch.StartNew();
        long rows;
        await using (var writer = RowFormats.OpenWriter(options.Out, format, info.Schema, formatOptions))
        {
            rows = await io.WithProgressAsync("export", total, "rows", async progress =>
            {
                long written = 0;
                await foreach (var page in CollectionScanner.ScanAsync(client, options.Collection, database, options.Partition, options.PageSize,
                                   options.Fields, options.Filter, cancellationToken).ConfigureAwait(false))
                {
                    await writer.WriteAsync(page, cancellationToken).ConfigureAwait(false);
                    written += page.Count;
                    progress.Advance(page.Count);
                }

                await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                return written;
            }).ConfigureAwait(false);
        }

        if (options.SchemaOut is { } schemaPath)
        {
            SchemaFile.Write(schemaPath, info.Schema);
        }

        var seconds = started.Elapsed.TotalSeconds;
        return new ExportResult
        {
            Collection = options.Collection,
            Target = target.Description,
            File = options.Out,
            Format = format.ToString().ToLowerInvariant(),
            Rows = rows,
            Bytes = new FileInfo(options.Out).Length,
            Seconds = seconds,
            RowsPerSecond = seconds > 0 ? rows / seconds : 0,
            SchemaFile = options.SchemaOut,
        };
    }
}
