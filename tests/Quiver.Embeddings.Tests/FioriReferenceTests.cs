using System.Text.Json;
using System.Text.RegularExpressions;
using Quiver.Testing;

namespace Quiver.Embeddings.Tests;

/// <summary>The local provider against vectors computed elsewhere: npm's @sap-ux/fiori-docs-embeddings 1.2.6 ships 778
/// documentation chunks with their all-MiniLM-L6-v2 embeddings, made by transformers.js (the Xenova ONNX export of the
/// model, unquantized, mean pooling, normalized). Its build script embedded each chunk's content with runs of newlines
/// and whitespace collapsed to one space, trimmed, cut to 8,192 characters, and the pipeline cut to 512 tokens; the test
/// prepares the text the same way. Installed by scripts/setup.sh into reference/node_modules.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed partial class FioriReferenceTests(LocalModel local)
{
    private static readonly string PackageDir = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..",
        "tests", "Quiver.Embeddings.Tests", "reference", "node_modules", "@sap-ux", "fiori-docs-embeddings", "data", "embeddings");

    [Fact]
    [Trait("Category", "Long")]
    public async Task LocalModel_AgreesWithTransformersJsVectors_OnRealChunks()
    {
        Assert.True(File.Exists(Path.Combine(PackageDir, "embeddings.bin")),
            $"reference vectors missing in {PackageDir}: run ./scripts/setup.sh (it installs tests/Quiver.Embeddings.Tests/reference)");
        var records = File.ReadLines(Path.Combine(PackageDir, "records.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("content").GetString()!).ToArray();
        var bytes = File.ReadAllBytes(Path.Combine(PackageDir, "embeddings.bin"));
        Assert.Equal(records.Length * 384 * sizeof(float), bytes.Length);

        // The short tier takes an evenly spread sample, the long tier every chunk.
        var count = TestTier.Pick(48, records.Length);
        var step = records.Length / count;
        var expected = new float[count][];
        var actual = new float[count][];
        for (var n = 0; n < count; n++)
        {
            var i = n * step;
            var text = Whitespace().Replace(records[i], " ").Trim();
            text = text.Length > 8192 ? text[..8192] : text;
            expected[n] = new float[384];
            Buffer.BlockCopy(bytes, i * 384 * sizeof(float), expected[n], 0, 384 * sizeof(float));
            actual[n] = (await local.Model512.EmbedAsync([text], CancellationToken.None))[0];
        }

        // The reference vectors are not ours to 0.999: on a sample of 49 chunks they sit at cosine 0.92..0.997 from ours
        // (mean about 0.98), even for a 63-token chunk that no truncation touches, so the difference is in the model run
        // (likely a quantized export of the same weights; not established). The test bounds that, and checks what a
        // search needs: each reference vector finds, among our vectors, the same chunk as its nearest. The 0.999 check
        // is LocalModelTests' against recorded vectors.
        var cosines = Enumerable.Range(0, count).Select(n => LocalModel.Cosine(expected[n], actual[n])).ToArray();
        Assert.True(cosines.Min() >= 0.9, $"lowest cosine to the reference vectors: {cosines.Min():F4}");
        Assert.True(cosines.Average() >= 0.97, $"mean cosine to the reference vectors: {cosines.Average():F4}");
        for (var n = 0; n < count; n++)
        {
            var nearest = Enumerable.Range(0, count).MaxBy(m => LocalModel.Cosine(expected[n], actual[m]));
            Assert.True(nearest == n, $"reference chunk {n * step}: nearest of our vectors is chunk {nearest * step}");
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

[CollectionDefinition(nameof(LocalModelCollection))]
public sealed class LocalModelCollection : ICollectionFixture<LocalModel>;
