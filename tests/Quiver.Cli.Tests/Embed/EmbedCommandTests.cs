using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Cli.Tests.Embed;

/// <summary><c>quiver embed</c> and <c>quiver import --embed</c> as a user runs them (the built quiver.dll as a process),
/// each against the all-MiniLM-L6-v2 vectors recorded in tests/Quiver.Embeddings.Tests/TestData (checked there against
/// vectors computed outside Quiver, FioriReferenceTests): every vector printed or stored has cosine ≥ 0.999 with its
/// sentence's recorded vector, and no other sentence's vector is as close (so a vector placed on the wrong row fails).</summary>
public sealed class EmbedCommandTests
{
    private static readonly string Sentences = Path.Combine(AppContext.BaseDirectory, "TestData", "minilm-sentences.txt");

    private static readonly (string Text, float[] Vector)[] Recorded = [.. JsonDocument.Parse(
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "minilm-reference.json"))).RootElement.EnumerateArray()
        .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))];

    [Fact]
    public async Task Embed_PrintsEachTextsRecordedVector_InOrder()
    {
        var (code, output, error) = await QuiverProcess.RunAsync("embed", "--file", Sentences, Recorded[5].Text);
        Assert.True(code == 0, error);
        var printed = JsonDocument.Parse(output).RootElement.EnumerateArray()
            .Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray()))
            .ToArray();
        // The arguments first, then the file's lines.
        string[] expected = [Recorded[5].Text, .. Recorded.Select(r => r.Text)];
        Assert.Equal(expected, printed.Select(p => p.Item1));
        foreach (var (text, vector) in printed)
        {
            AssertIsTheRecordedVector(text, vector);
        }
    }

    [Fact]
    public async Task ImportEmbed_StoresEachRowsRecordedVector()
    {
        using var folder = new TempFolder();
        var schema = folder.Sub("schema.json");
        await File.WriteAllTextAsync(schema, """
            {"Fields":[
              {"Name":"id","DataType":"Int64","IsPrimaryKey":true},
              {"Name":"overview","DataType":"VarChar","MaxLength":512},
              {"Name":"vector","DataType":"FloatVector","Dimension":384,"Metric":"Cosine"}],
             "Functions":[{"Name":"embed","Type":"TextEmbedding","InputFieldNames":["overview"],"OutputFieldNames":["vector"],
                           "Params":{"provider":"local"}}]}
            """);
        var rows = folder.Sub("rows.jsonl");
        await File.WriteAllLinesAsync(rows, Recorded.Select((r, i) => JsonSerializer.Serialize(new { id = i, overview = r.Text })));
        var data = folder.Sub("data");

        var (code, _, error) = await QuiverProcess.RunAsync("import", rows, "--collection", "movies", "--schema", schema, "--data", data, "--embed");
        Assert.True(code == 0, error);

        await using var engine = await QuiverEngine.OpenAsync(data, new QuiverOptions { BackgroundMaintenance = false });
        var stored = await engine.QueryAsync("movies", new QueryRequest { Filter = "id >= 0", OutputFields = ["overview", "vector"], Limit = 100 });
        Assert.Equal(Recorded.Length, stored.Count);
        foreach (var row in stored.OrderBy(r => (long)r["id"]!))
        {
            var id = (int)(long)row["id"]!;
            Assert.Equal(Recorded[id].Text, (string)row["overview"]!);
            AssertIsTheRecordedVector(Recorded[id].Text, (float[])row["vector"]!);
        }
    }

    private static void AssertIsTheRecordedVector(string text, float[] vector)
    {
        Assert.Equal(384, vector.Length);
        var own = Recorded.Single(r => r.Text == text).Vector;
        var cosine = BruteForce.Score(MetricType.Cosine, own, vector);
        Assert.True(cosine >= 0.999, $"'{text}': cosine {cosine:F6} to its recorded vector");
        foreach (var other in Recorded.Where(r => r.Text != text))
        {
            Assert.True(BruteForce.Score(MetricType.Cosine, other.Vector, vector) < 0.999, $"'{text}': as close to the vector of '{other.Text}'");
        }
    }
}
