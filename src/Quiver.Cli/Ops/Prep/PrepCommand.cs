using System.CommandLine;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Prep;

namespace Quiver.Cli.Ops.Prep;

/// <summary><c>quiver prep text</c> and <c>quiver prep vectors</c>: data preparation on files (no target needed).</summary>
internal static class PrepCommand
{
    /// <summary>The <c>prep</c> command with its two subcommands.</summary>
    public static Command Create()
    {
        var prep = new Command("prep", "Prepare data before import: clean and chunk text, validate and normalize vectors.");
        prep.Subcommands.Add(CreateText());
        prep.Subcommands.Add(CreateVectors());
        return prep;
    }

    private static Command CreateText()
    {
        var input = new Argument<string>("input") { Description = "Input JSONL file, one JSON object per line." };
        var output = new Option<string>("--out") { Description = "Output JSONL file.", Required = true };
        var field = new Option<string>("--field") { Description = "The text field.", DefaultValueFactory = _ => "text" };
        var idField = new Option<string?>("--id-field") { Description = "The field naming the source document (string or number). Default: the line number." };
        var stripHtml = new Option<bool>("--strip-html") { Description = "Remove HTML: tags, scripts and styles with their content; decode entities; block tags become paragraph breaks." };
        var normalize = new Option<string>("--normalize") { Description = "Unicode normalization: NFC, NFKC, NFD, NFKD or none.", DefaultValueFactory = _ => "NFC" };
        var chunk = new Option<string>("--chunk") { Description = "Chunking: none, sentences or tokens.", DefaultValueFactory = _ => "none" };
        var size = new Option<int?>("--size") { Description = "Chunk size: characters for sentences (default 1000), tokens for tokens (default 256)." };
        var overlap = new Option<int?>("--overlap") { Description = "Overlap between chunks: sentences (default 1) or tokens (default 32)." };
        var minChars = new Option<int>("--min-chars") { Description = "Reject texts shorter than this after cleaning.", DefaultValueFactory = _ => 1 };
        var report = new Option<string?>("--report") { Description = "Also write the JSON report to this file." };
        var json = OpsCommand.JsonOption();
        var command = new Command("text", "Clean (HTML, control characters, Unicode normalization, whitespace) and chunk the text field of a JSONL file.")
        {
            input, output, field, idField, stripHtml, normalize, chunk, size, overlap, minChars, report, json,
        };
        SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new TextPrepOptions
            {
                Input = parse.GetValue(input)!,
                Output = parse.GetValue(output)!,
                Field = parse.GetValue(field)!,
                IdField = parse.GetValue(idField),
                Clean = new TextCleanOptions(parse.GetValue(stripHtml), ParseNormalization(parse.GetValue(normalize)!)),
                Chunk = ParseChunk(parse.GetValue(chunk)!),
                Size = parse.GetValue(size),
                Overlap = parse.GetValue(overlap),
                MinChars = parse.GetValue(minChars),
                ReportPath = parse.GetValue(report),
            };
            var result = await TextPrep.RunAsync(options, io, ct).ConfigureAwait(false);
            PrepOutput.WriteText(io, result);
            return result.Rejected > 0 ? ExitCodes.RowsRejected : ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateVectors()
    {
        var input = new Argument<string>("input") { Description = "Input vectors: .npy, .fvecs, .bvecs, or JSONL rows with a vector field." };
        var output = new Option<string>("--out") { Description = "Output file.", Required = true };
        var format = new Option<string?>("--format") { Description = "Output format: npy, fvecs or jsonl. Default: from the --out extension." };
        var field = new Option<string>("--field") { Description = "JSONL: the vector field.", DefaultValueFactory = _ => "vector" };
        var dim = new Option<int?>("--dim") { Description = "Expected dimension. Default: the file's (.npy, .fvecs) or the first row's (JSONL)." };
        var normalize = new Option<string>("--normalize") { Description = "none, l2 (per vector), minmax or zscore (per dimension).", DefaultValueFactory = _ => "none" };
        var outlierZ = new Option<double>("--outlier-z") { Description = "Flag vectors whose norm is more than this many robust deviations (1.4826 x MAD) from the median norm; 0 turns it off.", DefaultValueFactory = _ => 6 };
        var onInvalid = new Option<string>("--on-invalid") { Description = "reject: leave out zero vectors and outliers; keep: write them (reported). NaN/Inf and wrong dimensions are always left out.", DefaultValueFactory = _ => "reject" };
        var report = new Option<string?>("--report") { Description = "Also write the JSON report to this file." };
        var json = OpsCommand.JsonOption();
        var command = new Command("vectors", "Validate vectors (NaN/Inf, zero, wrong dimension, magnitude outliers) and normalize them (L2, min-max, z-score).")
        {
            input, output, format, field, dim, normalize, outlierZ, onInvalid, report, json,
        };
        SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new VectorPrepOptions
            {
                Input = parse.GetValue(input)!,
                Output = parse.GetValue(output)!,
                Format = VectorPrep.ResolveFormat(parse.GetValue(output)!, parse.GetValue(format)),
                Field = parse.GetValue(field)!,
                Dimension = parse.GetValue(dim),
                Normalization = ParseVectorNormalization(parse.GetValue(normalize)!),
                OutlierZ = parse.GetValue(outlierZ),
                KeepInvalid = ParseOnInvalid(parse.GetValue(onInvalid)!),
                ReportPath = parse.GetValue(report),
            };
            var result = await VectorPrep.RunAsync(options, io, ct).ConfigureAwait(false);
            PrepOutput.WriteVectors(io, result);
            return result.Rejected > 0 ? ExitCodes.RowsRejected : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>As <see cref="OpsCommand.SetAction"/>, with errors named <c>quiver prep NAME</c> rather than by the
    /// subcommand's name alone.</summary>
    private static void SetAction(Command command, Option<bool> json, Func<ParseResult, CliIo, CancellationToken, Task<int>> body)
    {
        command.SetAction((parse, ct) =>
        {
            var io = CliIo.ForProcess(parse.GetValue(json));
            return OpsCommand.GuardAsync("prep " + command.Name, io, () => body(parse, io, ct));
        });
    }

    /// <summary>NFC, NFKC, NFD, NFKD or none (any case).</summary>
    public static TextNormalization ParseNormalization(string value) => value.ToUpperInvariant() switch
    {
        "NFC" => TextNormalization.Nfc,
        "NFD" => TextNormalization.Nfd,
        "NFKC" => TextNormalization.Nfkc,
        "NFKD" => TextNormalization.Nfkd,
        "NONE" => TextNormalization.None,
        _ => throw new ToolboxException($"--normalize '{value}': expected NFC, NFKC, NFD, NFKD or none"),
    };

    /// <summary>none, sentences or tokens (any case).</summary>
    public static ChunkMode ParseChunk(string value) => value.ToUpperInvariant() switch
    {
        "NONE" => ChunkMode.None,
        "SENTENCES" => ChunkMode.Sentences,
        "TOKENS" => ChunkMode.Tokens,
        _ => throw new ToolboxException($"--chunk '{value}': expected none, sentences or tokens"),
    };

    /// <summary>none, l2, minmax or zscore (any case).</summary>
    public static VectorNormalization ParseVectorNormalization(string value) => value.ToUpperInvariant() switch
    {
        "NONE" => VectorNormalization.None,
        "L2" => VectorNormalization.L2,
        "MINMAX" or "MIN-MAX" => VectorNormalization.MinMax,
        "ZSCORE" or "Z-SCORE" => VectorNormalization.ZScore,
        _ => throw new ToolboxException($"--normalize '{value}': expected none, l2, minmax or zscore"),
    };

    private static bool ParseOnInvalid(string value) => value.ToUpperInvariant() switch
    {
        "REJECT" => false,
        "KEEP" => true,
        _ => throw new ToolboxException($"--on-invalid '{value}': expected reject or keep"),
    };
}
