using System.CommandLine;
using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Export;

namespace Quiver.Cli.Ops.Export;

/// <summary><c>quiver export --collection C --out FILE</c>: the command line over <see cref="QuiverToolbox.ExportAsync"/>
/// (<see cref="Exporter"/>), which writes a collection's rows in primary-key order; this parses the options and prints
/// the result.</summary>
internal static class ExportCommand
{
    /// <summary>The <c>export</c> command.</summary>
    public static Command Create()
    {
        var collection = new Option<string>("--collection", "-c") { Description = "The collection to export.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "The file to write (.jsonl, .csv, .tsv, .parquet, .npy, .fvecs); replaced only when the export completes.", Required = true };
        var format = new Option<string?>("--format") { Description = "jsonl, csv, parquet, npy or fvecs (default: from the extension)." };
        var fields = new Option<string?>("--fields") { Description = "Comma-separated fields to write, in order (default: every field and dynamic key)." };
        var partition = new Option<string?>("--partition") { Description = "Only rows of this partition." };
        var filter = new Option<string?>("--filter") { Description = "Only rows matching this filter expression, e.g. 'price > 10 && tag == \"a\"'." };
        var vectorField = new Option<string?>("--vector-field") { Description = ".npy / .fvecs: the vector field to write (default: the only one)." };
        var delimiter = new Option<char>("--delimiter") { Description = "CSV separator (default ',', a tab for .tsv).", DefaultValueFactory = _ => ',' };
        var page = new Option<int>("--page") { Description = "Rows read per page.", DefaultValueFactory = _ => 1000 };
        var schemaOut = new Option<string?>("--schema-out") { Description = "Also write the collection's schema (the file 'import --schema' takes)." };
        var json = OpsCommand.JsonOption();
        var target = new TargetOptions();

        var command = new Command("export", "Export a collection's rows to a JSONL, CSV, Parquet, .npy or .fvecs file, in primary-key order.");
        foreach (var o in new Option[] { collection, output, format, fields, partition, filter, vectorField, delimiter, page, schemaOut, json })
        {
            command.Options.Add(o);
        }

        target.AddTo(command);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new ExportOptions
            {
                Target = target.Read(parse),
                Collection = parse.GetValue(collection)!,
                Out = parse.GetValue(output)!,
                Format = parse.GetValue(format),
                Fields = parse.GetValue(fields) is { } list
                    ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : null,
                Partition = parse.GetValue(partition),
                Filter = parse.GetValue(filter),
                VectorField = parse.GetValue(vectorField),
                Delimiter = parse.GetValue(delimiter),
                PageSize = parse.GetValue(page),
                SchemaOut = parse.GetValue(schemaOut),
            };
            var result = await Exporter.RunAsync(options, io, ct).ConfigureAwait(false);
            Report(result, io);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Writes the result as a table, or JSON.</summary>
    public static void Report(ExportResult result, CliIo io)
    {
        if (io.Json)
        {
            io.WriteJson(result);
            return;
        }

        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "collection", $"'{result.Collection}', {result.Target}" },
            new[] { "file", $"{result.File} ({result.Format})" },
            new[] { "rows", result.Rows.ToString("N0", CultureInfo.InvariantCulture) },
            new[] { "bytes", result.Bytes.ToString("N0", CultureInfo.InvariantCulture) },
            new[] { "seconds", CliIo.Num(result.Seconds, "0.00") },
            new[] { "rows/s", CliIo.Num(result.RowsPerSecond, "#,0") },
        };
        if (result.SchemaFile is not null)
        {
            rows.Add(["schema", result.SchemaFile]);
        }

        io.WriteTable(["export", "value"], rows);
    }
}
