using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Quiver.Embeddings;

/// <summary>An OpenAI-compatible embedding service: <c>POST {BaseUrl}/v1/embeddings</c> with
/// <c>{"model", "input": [texts], "encoding_format": "float"}</c> (and <c>"dimensions"</c> when the function sets
/// <c>dim</c>), a bearer key, inputs split into batches of <see cref="OpenAiOptions.MaxBatch"/>. Every failure (HTTP
/// status, timeout, malformed or short answer) is an <see cref="EmbeddingException"/> with
/// <see cref="EmbeddingFailure.ProviderFailed"/> naming the service's answer. Thread-safe.</summary>
public sealed class OpenAiEmbedder : ITextEmbedder
{
    private readonly HttpClient _http;
    private readonly OpenAiOptions _options;
    private readonly string _model;
    private readonly int? _requestedDimensions;

    /// <summary>An embedder for <paramref name="model"/> returning vectors of <paramref name="dimension"/> floats;
    /// <paramref name="requestedDimensions"/>, when set, is sent as <c>dimensions</c> (models that can shorten vectors).</summary>
    public OpenAiEmbedder(HttpClient http, OpenAiOptions options, string model, int dimension, int? requestedDimensions)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options;
        _model = model;
        Dimension = dimension;
        _requestedDimensions = requestedDimensions;
    }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new float[texts.Count][];
        for (var start = 0; start < texts.Count; start += _options.MaxBatch)
        {
            var count = Math.Min(_options.MaxBatch, texts.Count - start);
            var batch = new string[count];
            for (var i = 0; i < count; i++)
            {
                batch[i] = texts[start + i];
            }

            var vectors = await PostAsync(batch, cancellationToken).ConfigureAwait(false);
            vectors.CopyTo(result, start);
        }

        return result;
    }

    private async Task<float[][]> PostAsync(string[] batch, CancellationToken cancellationToken)
    {
        var body = new EmbeddingsRequest(_model, batch, "float", _requestedDimensions);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.BaseUrl!, "v1/embeddings"))
        {
            Content = JsonContent.Create(body, OpenAiJson.Default.EmbeddingsRequest),
        };
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            request.Headers.Authorization = new("Bearer", _options.ApiKey);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failed($"no answer within {_options.Timeout.TotalSeconds:0.###} s", e);
        }
        catch (HttpRequestException e)
        {
            throw Failed($"the request failed: {e.Message}", e);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw Failed($"HTTP {(int)response.StatusCode}: {Snippet(text)}", null);
            }

            EmbeddingsResponse? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize(text, OpenAiJson.Default.EmbeddingsResponse);
            }
            catch (JsonException e)
            {
                throw Failed($"the answer is not an embeddings response: {e.Message}", e);
            }

            return Vectors(parsed, batch.Length);
        }
    }

    /// <summary>The answer's vectors in input order (the service may list them in any order; <c>index</c> places them).</summary>
    private float[][] Vectors(EmbeddingsResponse? parsed, int count)
    {
        if (parsed?.Data is not { } data || data.Count != count)
        {
            throw Failed($"the answer has {parsed?.Data?.Count ?? 0} embeddings for {count} inputs", null);
        }

        var vectors = new float[count][];
        foreach (var item in data)
        {
            if (item.Index < 0 || item.Index >= count || vectors[item.Index] is not null)
            {
                throw Failed($"the answer has a missing, repeated or out-of-range index {item.Index}", null);
            }

            if (item.Embedding is not { } v || v.Length != Dimension)
            {
                throw Failed($"embedding {item.Index} has {item.Embedding?.Length ?? 0} floats, expected {Dimension} (model '{_model}')", null);
            }

            vectors[item.Index] = v;
        }

        return vectors;
    }

    private EmbeddingException Failed(string detail, Exception? inner) =>
        new(EmbeddingFailure.ProviderFailed, $"embedding provider 'openai' ({_options.BaseUrl}, model '{_model}'): {detail}", inner);

    private static string Snippet(string text) => text.Length <= 300 ? text : text[..300] + "...";
}

internal sealed record EmbeddingsRequest(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("input")] string[] Input,
    [property: JsonPropertyName("encoding_format")] string EncodingFormat,
    [property: JsonPropertyName("dimensions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Dimensions);

internal sealed record EmbeddingsResponse([property: JsonPropertyName("data")] List<EmbeddingItem>? Data);

internal sealed record EmbeddingItem(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("embedding")] float[]? Embedding);

[JsonSerializable(typeof(EmbeddingsRequest))]
[JsonSerializable(typeof(EmbeddingsResponse))]
internal sealed partial class OpenAiJson : JsonSerializerContext;
