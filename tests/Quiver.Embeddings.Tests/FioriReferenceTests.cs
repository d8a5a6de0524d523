using System.Text.Json;
using System.Text.RegularExpressions;
using Quiver.Testing;

namespace Quiver.Embeddings.Tests;

/// <summary>The local provider against vectors computed elsewhere: npm's @sap-ux/fiori-docs-embeddings 1.2.6 ships 778
/// documentation chunks (records.jsonl) with their all-MiniLM-L6-v2 embeddings (embeddings.bin, float32, row i = record
/// i), made by transformers.js 4.2.0 (@huggingface/transformers) with the Xenova ONNX export of the model at fp32 (the
/// default dtype on Node's CPU device; the build script names no dtype), mean pooling, normalized. Its build script
/// (src/scripts/build-embeddings.ts in SAP/open-ux-tools, not in the package) embedded each record's <c>content</c> with
/// runs of whitespace collapsed to one space, trimmed, cut to 8,192 characters; the pipeline then cut the tokens at the
/// tokenizer's model_max_length, 512. transformers.js cuts after adding [CLS] and [SEP], so a cut text ends on a word
/// piece with no [SEP]; the test prepares the same tokens (our tokenizer gives transformers.js's ids: see
/// <see cref="WordPieceTokenizerTests"/>) and runs our model on them. What is compared: our ONNX model run, mean pooling
/// and normalization, given the same tokens, against an independent run; and our tokenizer's ids, since the reference
/// was made from text. Installed by scripts/setup.sh into reference/node_modules.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed partial class FioriReferenceTests(LocalModel local)
{
    private static readonly string PackageDir = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..",
        "tests", "Quiver.Embeddings.Tests", "reference", "node_modules", "@sap-ux", "fiori-docs-embeddings", "data", "embeddings");

    [Fact]
    [Trait("Category", "Long")]
    public void LocalModel_AgreesWithTransformersJsVectors_OnRealChunks()
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
        var tokens = new int[count][];
        for (var n = 0; n < count; n++)
        {
            var i = n * step;
            var text = Whitespace().Replace(records[i], " ").Trim();
            tokens[n] = TransformersJsTokens(text.Length > 8192 ? text[..8192] : text);
            expected[n] = new float[384];
            Buffer.BlockCopy(bytes, i * 384 * sizeof(float), expected[n], 0, 384 * sizeof(float));
        }

        var actual = local.Model.EmbedTokens(tokens, CancellationToken.None);
        var cosines = Enumerable.Range(0, count).Select(n => LocalModel.Cosine(expected[n], actual[n])).ToArray();
        for (var n = 0; n < count; n++)
        {
            Assert.True(cosines[n] >= 0.999, $"chunk {n * step} ({tokens[n].Length} tokens): cosine {cosines[n]:F6} to the reference vector");
        }
    }

    /// <summary>The ids transformers.js feeds the model for <paramref name="text"/>: [CLS], the word pieces, [SEP], then the
    /// whole cut to 512 (so a text of more than 510 pieces loses its [SEP]).</summary>
    private int[] TransformersJsTokens(string text)
    {
        var tokenizer = local.Model.Tokenizer;
        var ids = new List<int> { tokenizer.Classification };
        tokenizer.Encode(text, ids, MiniLmEmbedder.PositionLimit + 1);
        if (ids.Count < MiniLmEmbedder.PositionLimit)
        {
            ids.Add(tokenizer.Separator);
        }

        return [.. ids.Take(MiniLmEmbedder.PositionLimit)];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

[CollectionDefinition(nameof(LocalModelCollection))]
public sealed class LocalModelCollection : ICollectionFixture<LocalModel>;
