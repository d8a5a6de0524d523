using Microsoft.Extensions.AI;
using Quiver.Embeddings;

namespace Quiver.AI;

/// <summary>
/// A Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a Quiver
/// <see cref="ITextEmbedder"/>: <see cref="CreateLocal"/> gives all-MiniLM-L6-v2 run in process (384 dimensions, unit
/// length, texts cut to 256 tokens; nothing is downloaded), the vectors Quiver's <c>TextEmbedding</c> functions with
/// <c>provider: local</c> store. Thread-safe when the embedder is (the local model is).
/// </summary>
public sealed class QuiverEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The <see cref="EmbeddingGeneratorMetadata.ProviderName"/>: <c>quiver</c>.</summary>
    public const string ProviderName = "quiver";

    private readonly ITextEmbedder _embedder;
    private readonly bool _ownsEmbedder;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>A generator over <paramref name="embedder"/>.</summary>
    /// <param name="embedder">The embedder; its <see cref="ITextEmbedder.Dimension"/> is the generator's.</param>
    /// <param name="modelId">The model's name for the metadata and each embedding; null: none.</param>
    /// <param name="ownsEmbedder">Dispose <paramref name="embedder"/> (when it is <see cref="IDisposable"/>) with the generator.</param>
    public QuiverEmbeddingGenerator(ITextEmbedder embedder, string? modelId = null, bool ownsEmbedder = false)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        _embedder = embedder;
        _ownsEmbedder = ownsEmbedder;
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, defaultModelId: modelId, defaultModelDimensions: embedder.Dimension);
    }

    /// <summary>all-MiniLM-L6-v2 run locally, loaded now (about 90 MB, a second or so) and disposed with the generator.</summary>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 (default) lets it choose.</param>
    public static QuiverEmbeddingGenerator CreateLocal(int threads = 0) =>
        new(new MiniLmEmbedder(threads), MiniLmEmbedder.ModelName, ownsEmbedder: true);

    /// <summary>One embedding per value, in order. <see cref="EmbeddingGenerationOptions.Dimensions"/>, when set, must be
    /// the embedder's dimension (the model has one); other options are ignored.</summary>
    /// <exception cref="ArgumentException">A null value, or another dimension asked for.</exception>
    /// <exception cref="EmbeddingException">The embedder failed (a remote service, a text beyond the model).</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToList();
        if (texts.Any(t => t is null))
        {
            throw new ArgumentException("a value to embed is null", nameof(values));
        }

        if (options?.Dimensions is { } dimensions && dimensions != _embedder.Dimension)
        {
            throw new ArgumentException($"{_metadata.DefaultModelId ?? "the embedder"} gives {_embedder.Dimension} dimensions; {dimensions} were asked for", nameof(options));
        }

        var vectors = texts.Count == 0 ? [] : await _embedder.EmbedAsync(texts, cancellationToken).ConfigureAwait(false);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = _metadata.DefaultModelId, CreatedAt = created }));
        if (_embedder is MiniLmEmbedder local)
        {
            // The model's own token count: what each text costs it ([CLS] and [SEP] included, after truncation).
            result.Usage = new UsageDetails { InputTokenCount = texts.Sum(t => (long)local.Tokenize(t).Length) };
        }

        return result;
    }

    /// <summary>The metadata (<see cref="EmbeddingGeneratorMetadata"/>), the embedder (<see cref="ITextEmbedder"/> or its
    /// own type) or this generator; null for anything else or a key.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_embedder) ? _embedder
            : null;
    }

    /// <summary>Disposes the embedder when the generator owns it.</summary>
    public void Dispose()
    {
        if (_ownsEmbedder && _embedder is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}
