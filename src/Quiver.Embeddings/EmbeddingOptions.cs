namespace Quiver.Embeddings;

/// <summary>Configuration of the embedding providers (<see cref="EmbeddingProviders"/>). Secrets and addresses come from
/// here, never from a function's parameters, so a client cannot point the server at a host of its choosing.</summary>
public sealed record EmbeddingOptions
{
    /// <summary>The local provider (<c>provider: "local"</c>): all-MiniLM-L6-v2 run in-process; default on.</summary>
    public bool LocalEnabled { get; init; } = true;

    /// <summary>ONNX Runtime threads of the local model; default 0 (one per core).</summary>
    public int LocalThreads { get; init; }

    /// <summary>The OpenAI-compatible provider (<c>provider: "openai"</c>); unset (no <see cref="OpenAiOptions.BaseUrl"/>)
    /// means functions naming it are refused.</summary>
    public OpenAiOptions OpenAi { get; init; } = new();
}

/// <summary>Where and how to reach an OpenAI-compatible embedding service.</summary>
public sealed record OpenAiOptions
{
    /// <summary>The service's base URL (ending in '/'); <c>v1/embeddings</c> is resolved against it. Default null: not
    /// configured.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>Bearer key sent as <c>Authorization</c>; default none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Model used when a function gives no <c>model_name</c>; default <c>text-embedding-3-small</c>.</summary>
    public string DefaultModel { get; init; } = "text-embedding-3-small";

    /// <summary>Texts per request; default 128 (larger inputs are split into several requests, in order). At least 1.</summary>
    public int MaxBatch { get; init; } = 128;

    /// <summary>Time allowed for one request; default 30 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}
