using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Cli.Ops.Prep;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Prep;
using Quiver.Testing;
using Quiver.Toolbox;

namespace Quiver.Cli.Tests.Ops.Prep;

public sealed class TextPrepTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-prep-text");

    public void Dispose() => _dir.Dispose();

    private string Input(params string[] lines)
    {
        var path = _dir.Sub("in.jsonl");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    private static JsonObject[] ReadLines(string path) =>
        [.. File.ReadAllLines(path).Select(l => (JsonObject)JsonNode.Parse(l)!)];

    [Fact]
    public async Task PrepText_BadLinesRejected_GoodOnesCleanedAndChunked()
    {
        var input = Input(
            "{\"id\":\"a\",\"text\":\"<p>Cafe\\u0301 au lait.</p>\",\"lang\":\"fr\"}",
            "{\"id\":\"x\",\"text\":",
            "{\"id\":\"b\",\"text\":\"  <br> \"}",
            "{\"id\":\"c\",\"text\":42}",
            "",
            "{\"id\":\"d\",\"text\":\"One. Two. Three.\"}",
            "[1,2]",
            "{\"text\":\"no id\"}");
        var output = _dir.Sub("out.jsonl");
        var reportPath = _dir.Sub("report.json");
        var io = new CliIo(new StringWriter(), new StringWriter());

        var report = await TextPrep.RunAsync(new TextPrepOptions
        {
            Input = input,
            Output = output,
            IdField = "id",
            Clean = new TextCleanOptions(StripHtml: true),
            Chunk = ChunkMode.Sentences,
            Size = 13,
            Overlap = 0,
            ReportPath = reportPath,
        }, io, CancellationToken.None);

        Assert.Equal(7, report.Lines);
        Assert.Equal(2, report.Documents);
        Assert.Equal(3, report.Chunks);
        Assert.Equal(5, report.Rejected);
        Assert.Equal([2L, 3, 4, 7, 8], report.Rejections.Select(r => r.Number));
        Assert.StartsWith("not valid JSON", report.Rejections[0].Reason, StringComparison.Ordinal);
        Assert.Equal("field 'text' is empty after cleaning", report.Rejections[1].Reason);
        Assert.Equal("field 'text' is a number, expected a string", report.Rejections[2].Reason);
        Assert.Equal("not a JSON object (found an array)", report.Rejections[3].Reason);
        Assert.Equal("no id field 'id'", report.Rejections[4].Reason);
        Assert.Equal(new TextChangeCounts(1, 0, 0, 1, 1), report.Changes);
        Assert.Equal(new Distribution(2, 1, 1, 2, 1.5), report.ChunksPerDocument);
        Assert.Equal(3, report.ChunkChars.Count);
        Assert.Equal(6, report.ChunkChars.Min);
        Assert.Equal(13, report.ChunkChars.Max);

        var rows = ReadLines(output);
        Assert.Equal(3, rows.Length);
        Assert.Equal("a-0", (string)rows[0]["id"]!);
        Assert.Equal("Caf\u00E9 au lait.", (string)rows[0]["text"]!);
        Assert.Equal("fr", (string)rows[0]["lang"]!);
        Assert.Equal("a", (string)rows[0]["source_id"]!);
        Assert.Equal((0, 1), ((int)rows[0]["chunk_index"]!, (int)rows[0]["chunk_count"]!));
        Assert.Equal(["One. Two.", "Three."], rows[1..].Select(r => (string)r["text"]!));
        Assert.Equal(["d-0", "d-1"], rows[1..].Select(r => (string)r["id"]!));
        Assert.Equal([0, 1], rows[1..].Select(r => (int)r["chunk_index"]!));
        Assert.All(rows[1..], r => Assert.Equal(2, (int)r["chunk_count"]!));

        using var saved = JsonDocument.Parse(File.ReadAllText(reportPath));
        Assert.Equal(5, saved.RootElement.GetProperty("rejected").GetInt64());
        Assert.Equal(1, saved.RootElement.GetProperty("changes").GetProperty("htmlStripped").GetInt64());
        Assert.False(File.Exists(output + ".tmp"));
        PrepOutput.WriteText(io, report);
        var table = io.Out.ToString()!;
        Assert.Contains("html stripped", table, StringComparison.Ordinal);
        Assert.Contains("field 'text' is a number", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrepText_WithoutIdField_SourceIsLineNumber_TokenChunks()
    {
        var input = Input("{\"text\":\"a b c d e\"}", "{\"text\":\"\\u0000 f \\u200B g\",\"n\":1}");
        var output = _dir.Sub("out.jsonl");
        var io = new CliIo(new StringWriter(), new StringWriter(), json: true);

        var report = await TextPrep.RunAsync(new TextPrepOptions
        {
            Input = input, Output = output, Chunk = ChunkMode.Tokens, Size = 3, Overlap = 1, MinChars = 3,
        }, io, CancellationToken.None);

        Assert.Equal(0, report.Rejected);
        var rows = ReadLines(output);
        Assert.Equal(["a b c", "c d e", "f g"], rows.Select(r => (string)r["text"]!));
        Assert.Equal(["1-0", "1-1", "2-0"], rows.Select(r => (string)r["id"]!));
        Assert.Equal(2L, (long)rows[2]["source_id"]!);
        Assert.Equal(1, (int)rows[2]["n"]!);
        Assert.Equal(1, report.Changes.ControlCharsRemoved);
        Assert.Equal(1, report.Changes.ZeroWidthRemoved);
        Assert.Equal(new Distribution(3, 2, 3, 3, 8.0 / 3), report.ChunkTokens);

        PrepOutput.WriteText(io, report);
        using var json = JsonDocument.Parse(io.Out.ToString()!);
        Assert.Equal(3, json.RootElement.GetProperty("chunks").GetInt64());
        Assert.Equal("Tokens", json.RootElement.GetProperty("chunking").GetString());
    }

    [Fact]
    public async Task PrepText_TooShort_RejectedWithLength()
    {
        var input = Input("{\"text\":\"hi\"}", "{\"text\":\"hello there\"}");
        var output = _dir.Sub("out.jsonl");
        var report = await TextPrep.RunAsync(new TextPrepOptions { Input = input, Output = output, MinChars = 5 },
            new CliIo(new StringWriter(), new StringWriter()), CancellationToken.None);

        var rejection = Assert.Single(report.Rejections);
        Assert.Equal(new PrepIssue(1, "field 'text' has 2 characters after cleaning, fewer than TextPrepOptions.MinChars 5"), rejection);
        Assert.Single(File.ReadAllLines(output));
    }

    [Fact]
    public async Task PrepText_MissingInput_FailsWithoutOutput()
    {
        var output = _dir.Sub("out.jsonl");
        var e = await Assert.ThrowsAsync<ToolboxException>(() => TextPrep.RunAsync(
            new TextPrepOptions { Input = _dir.Sub("nope.jsonl"), Output = output },
            new CliIo(new StringWriter(), new StringWriter()), CancellationToken.None));
        Assert.Contains("nope.jsonl: no such file", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task PrepText_OverlapNotBelowTokenSize_Refused()
    {
        var e = await Assert.ThrowsAsync<ToolboxException>(() => TextPrep.RunAsync(
            new TextPrepOptions { Input = Input("{\"text\":\"a\"}"), Output = _dir.Sub("o.jsonl"), Chunk = ChunkMode.Tokens, Size = 4, Overlap = 4 },
            new CliIo(new StringWriter(), new StringWriter()), CancellationToken.None));
        Assert.Contains("TextPrepOptions.Overlap 4", e.Message, StringComparison.Ordinal);
        Assert.Contains("--overlap 4", CliWording.Flags(e.Message), StringComparison.Ordinal);
    }
}
