using System.Collections.Immutable;

namespace Quiver.Embeddings.Tests;

/// <summary>The OpenAI-compatible provider against <see cref="FakeOpenAi"/> on loopback (never a real service).</summary>
public sealed class OpenAiProviderTests
{
    private static CollectionFunction Function(params (string Key, string Value)[] extra)
    {
        var p = ImmutableDictionary.CreateBuilder<string, string>();
        p["provider"] = "openai";
        foreach (var (k, v) in extra)
        {
            p[k] = v;
        }

        return CollectionFunction.TextEmbedding("f", "text", "vec", p.ToImmutable());
    }

    private static EmbeddingProviders Providers(FakeOpenAi fake, int maxBatch = 128, TimeSpan? timeout = null) => new(new EmbeddingOptions
    {
        OpenAi = new OpenAiOptions { BaseUrl = fake.BaseUrl, ApiKey = "sk-test", MaxBatch = maxBatch, Timeout = timeout ?? TimeSpan.FromSeconds(30) },
    });

    [Fact]
    public async Task Embed_SendsOpenAiRequest_AndPlacesAnswersByIndex()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        using var providers = Providers(fake);
        var embedder = providers.Resolve(Function(("model_name", "text-embedding-3-small"), ("dim", "8")), 8);
        var vectors = await embedder.EmbedAsync(["alpha", "beta"], CancellationToken.None);

        var (path, auth, body) = Assert.Single(fake.Requests);
        Assert.Equal("/v1/embeddings", path);
        Assert.Equal("Bearer sk-test", auth);
        Assert.Equal("text-embedding-3-small", body["model"]!.GetValue<string>());
        Assert.Equal(["alpha", "beta"], body["input"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("float", body["encoding_format"]!.GetValue<string>());
        Assert.Equal(8, body["dimensions"]!.GetValue<int>());
        // The fake lists data in reverse; the provider puts each vector back at its input's index.
        Assert.Equal(FakeOpenAi.VectorOf("alpha", 8), vectors[0]);
        Assert.Equal(FakeOpenAi.VectorOf("beta", 8), vectors[1]);
    }

    [Fact]
    public async Task Embed_WithoutDim_SendsNoDimensions_AndUsesDefaultModel()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        using var providers = Providers(fake);
        await providers.Resolve(Function(), 8).EmbedAsync(["x"], CancellationToken.None);
        var (_, _, body) = Assert.Single(fake.Requests);
        Assert.Null(body["dimensions"]);
        Assert.Equal(new OpenAiOptions().DefaultModel, body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task Embed_SplitsIntoBatches_InOrder()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        using var providers = Providers(fake, maxBatch: 2);
        string[] texts = ["t0", "t1", "t2", "t3", "t4"];
        var vectors = await providers.Resolve(Function(("dim", "8")), 8).EmbedAsync(texts, CancellationToken.None);
        Assert.Equal([2, 2, 1], fake.Requests.Select(r => r.Body["input"]!.AsArray().Count));
        Assert.Equal(texts, fake.Requests.SelectMany(r => r.Body["input"]!.AsArray().Select(n => n!.GetValue<string>())));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(FakeOpenAi.VectorOf(texts[i], 8), vectors[i]);
        }
    }

    [Theory]
    [InlineData(500, """{"error":{"message":"model overloaded"}}""", "HTTP 500")]
    [InlineData(401, """{"error":{"message":"invalid api key"}}""", "invalid api key")]
    [InlineData(200, """not json""", "not an embeddings response")]
    [InlineData(200, """{"data":[]}""", "0 embeddings for 1 inputs")]
    [InlineData(200, """{"data":[{"index":0,"embedding":[1,2,3]}]}""", "has 3 floats, expected 8")]
    [InlineData(200, """{"data":[{"index":5,"embedding":[1,2,3,4,5,6,7,8]}]}""", "out-of-range index 5")]
    public async Task Embed_ServiceFailure_IsProviderFailed(int status, string answer, string expected)
    {
        await using var fake = await FakeOpenAi.StartAsync();
        fake.Respond = _ => (status, answer);
        using var providers = Providers(fake);
        var e = await Assert.ThrowsAsync<EmbeddingException>(() => providers.Resolve(Function(("dim", "8")), 8).EmbedAsync(["x"], CancellationToken.None));
        Assert.Equal(EmbeddingFailure.ProviderFailed, e.Failure);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embed_NoAnswerInTime_IsProviderFailed()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        fake.Delay = TimeSpan.FromSeconds(30);
        using var providers = Providers(fake, timeout: TimeSpan.FromMilliseconds(200));
        var e = await Assert.ThrowsAsync<EmbeddingException>(() => providers.Resolve(Function(("dim", "8")), 8).EmbedAsync(["x"], CancellationToken.None));
        Assert.Equal(EmbeddingFailure.ProviderFailed, e.Failure);
        Assert.Contains("no answer within", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_OpenAiNotConfigured_IsConfigurationError()
    {
        using var providers = new EmbeddingProviders();
        var e = Assert.Throws<EmbeddingException>(() => providers.Resolve(Function(), 8));
        Assert.Equal(EmbeddingFailure.Configuration, e.Failure);
        Assert.Contains("not configured", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cohere", null, null, "unknown embedding provider 'cohere'")]
    [InlineData("local", "bge-small", null, "has only model 'all-MiniLM-L6-v2'")]
    [InlineData("local", null, "768", "produces vectors of dim 384, not 768")]
    [InlineData("local", null, "x", "dim 'x' is not a positive integer")]
    public void Resolve_BadParameters_AreConfigurationErrors(string provider, string? model, string? dim, string expected)
    {
        using var providers = new EmbeddingProviders();
        var p = ImmutableDictionary.CreateBuilder<string, string>();
        p["provider"] = provider;
        if (model is not null)
        {
            p["model_name"] = model;
        }

        if (dim is not null)
        {
            p["dim"] = dim;
        }

        var e = Assert.Throws<EmbeddingException>(() => providers.Resolve(CollectionFunction.TextEmbedding("f", "t", "v", p.ToImmutable()), 384));
        Assert.Equal(EmbeddingFailure.Configuration, e.Failure);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
