using System.Collections.Concurrent;
using System.Globalization;

namespace Quiver.Embeddings;

/// <summary>The providers a TextEmbedding function may name in its <c>provider</c> parameter: <c>local</c>
/// (all-MiniLM-L6-v2 in-process, <see cref="MiniLmEmbedder"/>) and <c>openai</c> (an OpenAI-compatible service,
/// <see cref="OpenAiEmbedder"/>). Set an instance on <c>QuiverOptions.TextEmbedders</c> (package QuiverVec.Engine). The local model is loaded
/// once, on first use, and shared; dispose to release it.</summary>
public sealed class EmbeddingProviders : ITextEmbedderProvider, IDisposable
{
    /// <summary>The <c>provider</c> value of the local model.</summary>
    public const string Local = "local";

    /// <summary>The <c>provider</c> value of an OpenAI-compatible service.</summary>
    public const string OpenAi = "openai";

    private readonly EmbeddingOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Lazy<MiniLmEmbedder> _local;
    private readonly ConcurrentDictionary<(string Model, int Dim, int? Requested), OpenAiEmbedder> _remote = new();

    /// <summary>Providers configured by <paramref name="options"/>; <paramref name="http"/> (default: one of its own)
    /// carries the OpenAI-compatible requests.</summary>
    public EmbeddingProviders(EmbeddingOptions? options = null, HttpClient? http = null)
    {
        _options = options ?? new EmbeddingOptions();
        if (_options.OpenAi.MaxBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "OpenAi.MaxBatch must be at least 1");
        }

        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _local = new Lazy<MiniLmEmbedder>(() => new MiniLmEmbedder(_options.LocalThreads), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The local all-MiniLM-L6-v2 embedder (loaded on first use).</summary>
    public MiniLmEmbedder LocalModel => _local.Value;

    /// <inheritdoc />
    public ITextEmbedder Resolve(CollectionFunction function, int outputDimension)
    {
        ArgumentNullException.ThrowIfNull(function);
        var provider = function.Param("provider")?.Trim().ToLowerInvariant();
        var dim = Dim(function);
        return provider switch
        {
            Local => ResolveLocal(function, dim),
            OpenAi => ResolveOpenAi(function, dim, outputDimension),
            _ => throw Configuration(function, $"unknown embedding provider '{function.Param("provider")}'; Quiver has '{Local}' (all-MiniLM-L6-v2 in-process) and '{OpenAi}' (an OpenAI-compatible service)"),
        };
    }

    private MiniLmEmbedder ResolveLocal(CollectionFunction function, int? dim)
    {
        if (!_options.LocalEnabled)
        {
            throw Configuration(function, "the local embedding provider is turned off on this server");
        }

        var model = function.Param("model_name");
        if (model is not null && !IsMiniLm(model))
        {
            throw Configuration(function, $"the local provider has only model '{MiniLmEmbedder.ModelName}', not '{model}'");
        }

        if (dim is { } d && d != MiniLmEmbedder.Dim)
        {
            throw Configuration(function, $"model '{MiniLmEmbedder.ModelName}' produces vectors of dim {MiniLmEmbedder.Dim}, not {d}");
        }

        return _local.Value;
    }

    private OpenAiEmbedder ResolveOpenAi(CollectionFunction function, int? dim, int outputDimension)
    {
        if (_options.OpenAi.BaseUrl is null)
        {
            throw Configuration(function, "provider 'openai' is not configured on this server (no base URL; see docs/embeddings.md)");
        }

        // Without dim the vectors have the model's own length, which the output field must match: every answer is
        // checked against the field's dim.
        var model = function.Param("model_name") ?? _options.OpenAi.DefaultModel;
        var length = dim ?? outputDimension;
        return _remote.GetOrAdd((model, length, dim), key => new OpenAiEmbedder(_http, _options.OpenAi, key.Model, key.Dim, key.Requested));
    }

    private static int? Dim(CollectionFunction function)
    {
        if (function.Param("dim") is not { } text)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d > 0
            ? d
            : throw Configuration(function, $"parameter dim '{text}' is not a positive integer");
    }

    private static bool IsMiniLm(string model) =>
        model.Equals(MiniLmEmbedder.ModelName, StringComparison.OrdinalIgnoreCase)
        || model.Equals("sentence-transformers/" + MiniLmEmbedder.ModelName, StringComparison.OrdinalIgnoreCase);

    private static EmbeddingException Configuration(CollectionFunction function, string detail) =>
        new(EmbeddingFailure.Configuration, $"function '{function.Name}': {detail}");

    /// <inheritdoc />
    public void Dispose()
    {
        if (_local.IsValueCreated)
        {
            _local.Value.Dispose();
        }

        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
