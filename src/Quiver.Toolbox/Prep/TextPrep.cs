using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Toolbox.Prep;

/// <summary>What <see cref="QuiverToolbox.PrepTextAsync"/> cleans and chunks (<c>quiver prep text</c>).</summary>
public sealed record TextPrepOptions
{
    /// <summary>Input JSONL file, one JSON object per line.</summary>
    public required string Input { get; init; }

    /// <summary>Output JSONL file (written through a temporary file, so it is whole or absent).</summary>
    public required string Output { get; init; }

    /// <summary>The field holding the text (default <c>text</c>).</summary>
    public string Field { get; init; } = "text";

    /// <summary>The field whose value (string or integer) names the source document; default: the line number.</summary>
    public string? IdField { get; init; }

    /// <summary>Cleaning steps.</summary>
    public TextCleanOptions Clean { get; init; } = new();

    /// <summary>How to chunk (default: not at all).</summary>
    public ChunkMode Chunk { get; init; } = ChunkMode.None;

    /// <summary>Chunk size: characters for sentences (default 1000), tokens for tokens (default 256).</summary>
    public int? Size { get; init; }

    /// <summary>Overlap: sentences (default 1) or tokens (default 32) repeated between neighbouring chunks.</summary>
    public int? Overlap { get; init; }

    /// <summary>Texts shorter than this after cleaning (in characters) are rejected; default 1 (empty texts).</summary>
    public int MinChars { get; init; } = 1;

    /// <summary>Also write the JSON report to this file.</summary>
    public string? ReportPath { get; init; }
}

/// <summary>Documents per kind of change.</summary>
/// <param name="HtmlStripped">Documents whose HTML was removed or entities decoded.</param>
/// <param name="ControlCharsRemoved">Documents that lost control characters.</param>
/// <param name="ZeroWidthRemoved">Documents that lost zero-width characters or byte order marks.</param>
/// <param name="Normalized">Documents changed by Unicode normalization.</param>
/// <param name="WhitespaceCollapsed">Documents whose whitespace was collapsed or trimmed.</param>
public sealed record TextChangeCounts(long HtmlStripped, long ControlCharsRemoved, long ZeroWidthRemoved, long Normalized, long WhitespaceCollapsed);

/// <summary>What <see cref="QuiverToolbox.PrepTextAsync"/> did (<c>quiver prep text</c>).</summary>
public sealed record TextPrepReport
{
    /// <summary>Input file.</summary>
    public required string Input { get; init; }

    /// <summary>Output file.</summary>
    public required string Output { get; init; }

    /// <summary>Non-blank input lines.</summary>
    public long Lines { get; init; }

    /// <summary>Documents written (as one or more chunks).</summary>
    public long Documents { get; init; }

    /// <summary>Output lines (chunks).</summary>
    public long Chunks { get; init; }

    /// <summary>Lines rejected.</summary>
    public long Rejected { get; init; }

    /// <summary>The first rejected lines with reasons.</summary>
    public required IReadOnlyList<PrepIssue> Rejections { get; init; }

    /// <summary>Documents changed, per kind of change.</summary>
    public required TextChangeCounts Changes { get; init; }

    /// <summary>Normalization form applied.</summary>
    public TextNormalization Normalization { get; init; }

    /// <summary>Unicode version of the normalization tables.</summary>
    public string UnicodeVersion { get; init; } = UnicodeNormalizer.UnicodeVersion;

    /// <summary>Chunking mode.</summary>
    public ChunkMode Chunking { get; init; }

    /// <summary>Chunk size used (characters or tokens), null without chunking.</summary>
    public int? Size { get; init; }

    /// <summary>Overlap used (sentences or tokens), null without chunking.</summary>
    public int? Overlap { get; init; }

    /// <summary>Sentences longer than the size, cut between tokens.</summary>
    public long LongSentences { get; init; }

    /// <summary>Characters per chunk.</summary>
    public required Distribution ChunkChars { get; init; }

    /// <summary>Tokens per chunk (token chunking only).</summary>
    public Distribution? ChunkTokens { get; init; }

    /// <summary>Chunks per written document.</summary>
    public required Distribution ChunksPerDocument { get; init; }
}

/// <summary><c>quiver prep text</c>: cleans and chunks the text field of a JSONL file (see docs/operations-prep.md).
/// Streams line by line; memory holds one document and the report's counters.</summary>
internal static class TextPrep
{
    private static readonly JsonSerializerOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs the preparation and returns the report (also written to <see cref="TextPrepOptions.ReportPath"/>
    /// when given). Bad lines are rejected and reported, never fatal; a missing input or bad option is a
    /// <see cref="ToolboxException"/>.</summary>
    public static async Task<TextPrepReport> RunAsync(TextPrepOptions options, ToolReporter io, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(io);
        var (size, overlap) = Validate(options);
        var temporary = options.Output + ".tmp";
        try
        {
            var report = await io.WithProgressAsync("prep text", null, "lines",
                handle => ProcessAsync(options, size, overlap, temporary, handle, cancellationToken)).ConfigureAwait(false);
            File.Move(temporary, options.Output, overwrite: true);
            PrepFiles.WriteReportFile(options.ReportPath, report);
            return report;
        }
        finally
        {
            PrepFiles.TryDelete(temporary);
        }
    }

    /// <summary>The size and overlap in force, after checking the options.</summary>
    private static (int? Size, int? Overlap) Validate(TextPrepOptions options)
    {
        if (!File.Exists(options.Input))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"{options.Input}: no such file");
        }

        if (options.MinChars < 0)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"TextPrepOptions.MinChars {options.MinChars}: must be 0 or more");
        }

        if (options.Chunk == ChunkMode.None)
        {
            if (options.Size is not null || options.Overlap is not null)
            {
                throw new ToolboxException(ToolboxErrorKind.InvalidOptions, "TextPrepOptions.Size and TextPrepOptions.Overlap need TextPrepOptions.Chunk sentences or tokens");
            }

            return (null, null);
        }

        var size = options.Size ?? (options.Chunk == ChunkMode.Sentences ? 1000 : 256);
        var overlap = options.Overlap ?? (options.Chunk == ChunkMode.Sentences ? 1 : Math.Min(32, size / 8));
        if (size < 1)
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"TextPrepOptions.Size {size}: must be 1 or more");
        }

        if (overlap < 0 || (options.Chunk == ChunkMode.Tokens && overlap >= size))
        {
            throw new ToolboxException(ToolboxErrorKind.InvalidOptions, options.Chunk == ChunkMode.Tokens
                ? $"TextPrepOptions.Overlap {overlap}: must be at least 0 and less than TextPrepOptions.Size {size} tokens"
                : $"TextPrepOptions.Overlap {overlap}: must be 0 or more sentences");
        }

        return (size, overlap);
    }

    private static async Task<TextPrepReport> ProcessAsync(
        TextPrepOptions options, int? size, int? overlap, string temporary, ProgressHandle progress, CancellationToken cancellationToken)
    {
        var rejections = new IssueLog();
        var chunkChars = new IntegerDistribution();
        var chunkTokens = new IntegerDistribution();
        var perDocument = new IntegerDistribution();
        long lines = 0, documents = 0, chunks = 0, longSentences = 0;
        long html = 0, control = 0, zeroWidth = 0, normalized = 0, whitespace = 0;
        using var reader = new StreamReader(options.Input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        await using var writer = new StreamWriter(temporary, append: false, new UTF8Encoding(false));
        long number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            progress.Advance(1);
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            lines++;
            if (!TryRead(line, options, number, out var row, out var text, out var sourceId, out var problem))
            {
                rejections.Add(number, problem);
                continue;
            }

            var cleaned = TextCleaner.Clean(text, options.Clean, out var changes);
            if (cleaned.Length < options.MinChars)
            {
                rejections.Add(number, cleaned.Length == 0
                    ? $"field '{options.Field}' is empty after cleaning"
                    : string.Create(CultureInfo.InvariantCulture, $"field '{options.Field}' has {cleaned.Length} characters after cleaning, fewer than TextPrepOptions.MinChars {options.MinChars}"));
                continue;
            }

            html += changes.HasFlag(TextChanges.HtmlStripped) ? 1 : 0;
            control += changes.HasFlag(TextChanges.ControlCharsRemoved) ? 1 : 0;
            zeroWidth += changes.HasFlag(TextChanges.ZeroWidthRemoved) ? 1 : 0;
            normalized += changes.HasFlag(TextChanges.Normalized) ? 1 : 0;
            whitespace += changes.HasFlag(TextChanges.WhitespaceCollapsed) ? 1 : 0;

            var spans = TextChunker.Chunk(cleaned, options.Chunk, size ?? 0, overlap ?? 0, out var cut);
            longSentences += cut;
            documents++;
            perDocument.Add(spans.Count);
            var sourceText = sourceId.GetValueKind() == JsonValueKind.String ? sourceId.GetValue<string>() : sourceId.ToJsonString(LineOptions);
            for (var n = 0; n < spans.Count; n++)
            {
                var chunkText = spans[n].Of(cleaned);
                chunkChars.Add(chunkText.Length);
                if (options.Chunk == ChunkMode.Tokens)
                {
                    chunkTokens.Add(TextSegmenter.Tokens(chunkText).Count);
                }

                var output = (JsonObject)row.DeepClone();
                output[options.Field] = chunkText;
                output["chunk_index"] = n;
                output["chunk_count"] = spans.Count;
                output["source_id"] = sourceId.DeepClone();
                output["id"] = string.Create(CultureInfo.InvariantCulture, $"{sourceText}-{n}");
                await writer.WriteLineAsync(output.ToJsonString(LineOptions).AsMemory(), cancellationToken).ConfigureAwait(false);
                chunks++;
            }
        }

        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new TextPrepReport
        {
            Input = options.Input,
            Output = options.Output,
            Lines = lines,
            Documents = documents,
            Chunks = chunks,
            Rejected = rejections.Count,
            Rejections = rejections.Kept,
            Changes = new TextChangeCounts(html, control, zeroWidth, normalized, whitespace),
            Normalization = options.Clean.Normalization,
            Chunking = options.Chunk,
            Size = size,
            Overlap = overlap,
            LongSentences = longSentences,
            ChunkChars = chunkChars.Summarize(),
            ChunkTokens = options.Chunk == ChunkMode.Tokens ? chunkTokens.Summarize() : null,
            ChunksPerDocument = perDocument.Summarize(),
        };
    }

    /// <summary>Parses one line: the object, its text and its source id, or the problem.</summary>
    private static bool TryRead(string line, TextPrepOptions options, long number, out JsonObject row, out string text, out JsonNode sourceId, out string problem)
    {
        row = null!;
        text = string.Empty;
        sourceId = null!;
        problem = string.Empty;
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line);
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON: {e.Message}";
            return false;
        }

        if (node is not JsonObject obj)
        {
            problem = $"not a JSON object (found {Kind(node)})";
            return false;
        }

        row = obj;
        if (!obj.TryGetPropertyValue(options.Field, out var field) || field is null)
        {
            problem = field is null && obj.ContainsKey(options.Field) ? $"field '{options.Field}' is null" : $"no field '{options.Field}'";
            return false;
        }

        if (field.GetValueKind() != JsonValueKind.String)
        {
            problem = $"field '{options.Field}' is {Kind(field)}, expected a string";
            return false;
        }

        text = field.GetValue<string>();
        if (options.IdField is null)
        {
            sourceId = JsonValue.Create(number);
            return true;
        }

        if (!obj.TryGetPropertyValue(options.IdField, out var id) || id is null)
        {
            problem = $"no id field '{options.IdField}'";
            return false;
        }

        var kind = id.GetValueKind();
        if (kind is not (JsonValueKind.String or JsonValueKind.Number) || (kind == JsonValueKind.String && id.GetValue<string>().Length == 0))
        {
            problem = $"id field '{options.IdField}' is {Kind(id)}, expected a non-empty string or a number";
            return false;
        }

        sourceId = id.DeepClone();
        return true;
    }

    private static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.String => node.GetValue<string>().Length == 0 ? "an empty string" : "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };
}
