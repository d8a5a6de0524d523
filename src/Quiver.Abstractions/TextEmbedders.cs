namespace Quiver;

/// <summary>Turns texts into vectors for a TextEmbedding function (<see cref="CollectionFunctionType.TextEmbedding"/>). The engine
/// calls it on insert (the function's input texts) and on search (query texts); implementations live outside the engine
/// (Quiver.Embeddings: a local model and an OpenAI-compatible HTTP service).</summary>
/// <remarks>Implementations must be safe to call concurrently. They split large inputs into batches themselves.</remarks>
public interface ITextEmbedder
{
    /// <summary>Length of every vector returned.</summary>
    int Dimension { get; }

    /// <summary>One vector per text, in order. Throws <see cref="EmbeddingException"/> when the texts cannot be embedded
    /// (<see cref="EmbeddingFailure.ProviderFailed"/>: the service failed or answered something malformed;
    /// <see cref="EmbeddingFailure.TextTooLong"/>: a text is beyond what the model takes).</summary>
    Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken);
}

/// <summary>Finds the embedder of a TextEmbedding function from its parameters (<c>provider</c>, <c>model_name</c>, ...).
/// Set on <c>QuiverOptions.TextEmbedders</c>; without one, collections with TextEmbedding functions are refused.</summary>
public interface ITextEmbedderProvider
{
    /// <summary>The embedder for <paramref name="function"/>, whose output field holds vectors of
    /// <paramref name="outputDimension"/> floats; may return a shared instance. Throws <see cref="EmbeddingException"/>
    /// (<see cref="EmbeddingFailure.Configuration"/>) naming the parameter when the provider is unknown or a parameter
    /// is wrong.</summary>
    ITextEmbedder Resolve(CollectionFunction function, int outputDimension);
}

/// <summary>Why a text could not be embedded.</summary>
public enum EmbeddingFailure
{
    /// <summary>The function's parameters name an unknown provider or model, or disagree with the schema.</summary>
    Configuration = 1,

    /// <summary>A text is longer than the input field or the model allows.</summary>
    TextTooLong = 2,

    /// <summary>The provider failed (an HTTP error, a timeout, a malformed answer).</summary>
    ProviderFailed = 3,
}

/// <summary>A TextEmbedding function could not compute its vectors. <see cref="Failure"/> says why.</summary>
public sealed class EmbeddingException : QuiverException
{
    /// <summary>Creates an embedding error.</summary>
    public EmbeddingException(EmbeddingFailure failure, string message, Exception? inner = null)
        : base(failure == EmbeddingFailure.ProviderFailed ? QuiverErrorCode.Unavailable : QuiverErrorCode.InvalidArgument, message, inner) =>
        Failure = failure;

    /// <summary>Why.</summary>
    public EmbeddingFailure Failure { get; }
}
