using System.Collections.Immutable;
using Quiver.Testing;

namespace Quiver.Embeddings.Tests;

/// <summary>TextEmbedding functions through the embedded API: text in on insert, vectors computed; text in on search,
/// embedded by the same function; refusals named.</summary>
[Collection(nameof(LocalModelCollection))]
public sealed class TextEmbeddingEngineTests(LocalModel local)
{
    private static readonly string[] Docs =
    [
        "A man is playing a guitar on stage.",
        "The stock market fell sharply after the interest rate announcement.",
        "A cat sleeps on a warm windowsill in the afternoon sun.",
        "Quiver is a vector database written in C#.",
    ];

    private sealed class SharedModel(MiniLmEmbedder model) : ITextEmbedderProvider
    {
        private readonly EmbeddingProviders _others = new();

        public ITextEmbedder Resolve(CollectionFunction function, int outputDimension) =>
            function.Param("provider") == EmbeddingProviders.Local && function.Param("model_name") is null && function.Param("dim") is null
                ? model
                : _others.Resolve(function, outputDimension);
    }

    private static CollectionSchema Schema(int dim = 384, string provider = "local", ImmutableDictionary<string, string>? extra = null) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("doc", 512),
            FieldSchema.Scalar("year", DataType.Int64),
            FieldSchema.Vector("vec", dim, MetricType.Cosine),
        ],
        Functions = [CollectionFunction.TextEmbedding("embed_doc", "doc", "vec", (extra ?? ImmutableDictionary<string, string>.Empty).SetItem("provider", provider))],
    };

    private async Task<QuiverEngine> OpenAsync(TempFolder folder, ITextEmbedderProvider? provider = null) =>
        await QuiverEngine.OpenAsync(folder.Path, new QuiverOptions { TextEmbedders = provider ?? new SharedModel(local.Model), BackgroundMaintenance = false });

    private static IReadOnlyDictionary<string, object?>[] Rows() =>
        [.. Docs.Select((d, i) => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = (long)i, ["doc"] = d, ["year"] = 2000L + i })];

    [Fact]
    public async Task Insert_Text_StoresTheModelsVector_AndSearchByText_FindsTheParaphrase()
    {
        using var folder = new TempFolder();
        await using (var engine = await OpenAsync(folder))
        {
            await engine.CreateCollectionAsync("docs", Schema());
            await engine.InsertAsync("docs", Rows());
            var expected = await local.Model.EmbedAsync(Docs, CancellationToken.None);
            var stored = await engine.GetAsync("docs", [0L, 1L, 2L, 3L], ["vec"]);
            for (var i = 0; i < Docs.Length; i++)
            {
                Assert.Equal(expected[i], (float[])stored[i]["vec"]!);
            }

            var byText = await engine.SearchAsync("docs", new SearchRequest
            {
                Vectors = [],
                QueryTexts = ["someone performs music with a guitar", "shares dropped when rates went up"],
                Limit = 4,
            });
            Assert.Equal(0L, byText.Hits[0][0].Id);
            Assert.Equal(1L, byText.Hits[1][0].Id);

            // The oracle: the same search with the query vectors computed by the model directly.
            var queryVectors = await local.Model.EmbedAsync(["someone performs music with a guitar", "shares dropped when rates went up"], CancellationToken.None);
            var byVector = await engine.SearchAsync("docs", new SearchRequest { Vectors = queryVectors, Limit = 4 });
            for (var q = 0; q < 2; q++)
            {
                Assert.Equal(byVector.Hits[q].Select(h => (h.Id, h.Score)), byText.Hits[q].Select(h => (h.Id, h.Score)));
            }
        }

        // The function is part of the schema on disk: after a restart, inserts still compute vectors.
        await using (var engine = await OpenAsync(folder))
        {
            Assert.Single(engine.GetCollection("docs").Schema.Functions);
            await engine.InsertAsync("docs", [new Dictionary<string, object?> { ["id"] = 9L, ["doc"] = "a kitten naps in the sunshine", ["year"] = 2020L }]);
            var hits = await engine.SearchAsync("docs", new SearchRequest { Vectors = [], QueryTexts = ["cat sleeping in the sun"], Limit = 2 });
            Assert.Equal([2L, 9L], hits.Hits[0].Select(h => h.Id).Order());
        }
    }

    [Fact]
    public async Task InsertColumns_Text_ComputesTheVectorColumn()
    {
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder);
        await engine.CreateCollectionAsync("docs", Schema());
        var batch = new ColumnBatch(2)
            .Add(new FieldColumn { Name = "id", Longs = [1, 2] })
            .Add(new FieldColumn { Name = "doc", Strings = [Docs[0], Docs[2]] })
            .Add(new FieldColumn { Name = "year", Longs = [1999, 2001] });
        await engine.InsertAsync("docs", batch);
        Assert.Equal(3, batch.Columns.Count);
        var stored = await engine.GetAsync("docs", [2L], ["vec"]);
        Assert.Equal((await local.Model.EmbedAsync([Docs[2]], CancellationToken.None))[0], (float[])stored[0]["vec"]!);
    }

    [Fact]
    public async Task Insert_WithTheOutputField_IsRefused()
    {
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder);
        await engine.CreateCollectionAsync("docs", Schema());
        var row = new Dictionary<string, object?> { ["id"] = 1L, ["doc"] = "x", ["year"] = 1L, ["vec"] = new float[384] };
        var e = await Assert.ThrowsAsync<QuiverException>(() => engine.InsertAsync("docs", [row]));
        Assert.Contains("field 'vec' is the output of function 'embed_doc'", e.Message, StringComparison.Ordinal);
        var missing = new Dictionary<string, object?> { ["id"] = 1L, ["year"] = 1L };
        e = await Assert.ThrowsAsync<QuiverException>(() => engine.InsertAsync("docs", [missing]));
        Assert.Contains("needs text in field 'doc'", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.CountRows("docs"));
    }

    [Fact]
    public async Task Create_BadFunctions_AreRefusedByName()
    {
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder);
        var unknown = await Assert.ThrowsAsync<EmbeddingException>(() => engine.CreateCollectionAsync("a", Schema(provider: "cohere")));
        Assert.Equal(EmbeddingFailure.Configuration, unknown.Failure);
        var dimParam = await Assert.ThrowsAsync<EmbeddingException>(() =>
            engine.CreateCollectionAsync("b", Schema(extra: ImmutableDictionary<string, string>.Empty.Add("dim", "768"))));
        Assert.Contains("dim '768' does not match the dim 384 of output field 'vec'", dimParam.Message, StringComparison.Ordinal);
        var dimField = await Assert.ThrowsAsync<EmbeddingException>(() => engine.CreateCollectionAsync("c", Schema(dim: 128)));
        Assert.Contains("produces vectors of dim 384, but output field 'vec' has dim 128", dimField.Message, StringComparison.Ordinal);
        var wrongInput = Schema() with { Functions = [CollectionFunction.TextEmbedding("f", "year", "vec", ImmutableDictionary<string, string>.Empty.Add("provider", "local"))] };
        var e = await Assert.ThrowsAsync<QuiverException>(() => engine.CreateCollectionAsync("d", wrongInput));
        Assert.Contains("input field 'year' is Int64", e.Message, StringComparison.Ordinal);
        Assert.Empty(await engine.ListCollectionsAsync());
    }

    [Fact]
    public async Task Create_WithoutProviders_IsRefused()
    {
        using var folder = new TempFolder();
        await using var engine = await QuiverEngine.OpenAsync(folder.Path, new QuiverOptions { BackgroundMaintenance = false });
        var e = await Assert.ThrowsAsync<EmbeddingException>(() => engine.CreateCollectionAsync("docs", Schema()));
        Assert.Contains("no embedding providers are configured", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchText_LongerThanTheInputField_IsTextTooLong()
    {
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder);
        await engine.CreateCollectionAsync("docs", Schema());
        var e = await Assert.ThrowsAsync<EmbeddingException>(() =>
            engine.SearchAsync("docs", new SearchRequest { Vectors = [], QueryTexts = [new string('a', 513)] }));
        Assert.Equal(EmbeddingFailure.TextTooLong, e.Failure);
        Assert.Contains("513 bytes of text, more than the max_length 512 of input field 'doc'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Insert_ProviderFails_WritesNothing()
    {
        await using var fake = await FakeOpenAi.StartAsync();
        fake.Respond = _ => (503, """{"error":"busy"}""");
        using var providers = new EmbeddingProviders(new EmbeddingOptions { OpenAi = new OpenAiOptions { BaseUrl = fake.BaseUrl } });
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder, providers);
        await engine.CreateCollectionAsync("docs", Schema(dim: 8, provider: "openai"));
        var e = await Assert.ThrowsAsync<EmbeddingException>(() => engine.InsertAsync("docs", Rows()));
        Assert.Equal(EmbeddingFailure.ProviderFailed, e.Failure);
        Assert.Contains("HTTP 503", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.CountRows("docs"));

        // Once the service answers, the same rows go in with its vectors.
        fake.Respond = null;
        await engine.InsertAsync("docs", Rows());
        var stored = await engine.GetAsync("docs", [3L], ["vec"]);
        Assert.Equal(FakeOpenAi.VectorOf(Docs[3], 8), (float[])stored[0]["vec"]!);
    }

    [Fact]
    public async Task HybridSearch_TextSubRequest_EqualsTheSameSearchWithItsVectors()
    {
        using var folder = new TempFolder();
        await using var engine = await OpenAsync(folder);
        var schema = Schema() with { Fields = [.. Schema().Fields, FieldSchema.Vector("mood", 2, MetricType.L2)] };
        await engine.CreateCollectionAsync("docs", schema);
        await engine.InsertAsync("docs", [.. Rows().Select((r, i) => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>(r) { ["mood"] = new[] { i * 0.5f, 1f - (i * 0.25f) } })]);

        string[] texts = ["someone making music", "money and markets"];
        float[][] moods = [[0.4f, 0.9f], [1.2f, 0.3f]];
        SearchRequest byText = new() { Vectors = [], QueryTexts = texts, AnnsField = "vec", Limit = 3, Filter = "year >= 2000" };
        SearchRequest byMood = new() { Vectors = moods, AnnsField = "mood", Limit = 3 };
        var oracle = new HybridRequest
        {
            Requests = [byText with { Vectors = await engine.EmbedQueriesAsync("docs", "vec", texts), QueryTexts = null }, byMood],
            Ranker = HybridRanker.Rrf(10),
            Limit = 4,
            OutputFields = ["doc"],
        };
        var expected = await engine.HybridSearchAsync("docs", oracle);
        var actual = await engine.HybridSearchAsync("docs", oracle with { Requests = [byText, byMood] });
        Assert.Equal(texts.Length, actual.Hits.Length);
        for (var q = 0; q < texts.Length; q++)
        {
            Assert.NotEmpty(expected.Hits[q]);
            Assert.Equal(expected.Hits[q].Select(h => (h.Id, h.Score)), actual.Hits[q].Select(h => (h.Id, h.Score)));
        }

        var columns = await engine.HybridSearchColumnsAsync("docs", oracle with { Requests = [byText, byMood] });
        Assert.Equal(expected.Hits.Sum(h => h.Count), columns.Counts.Sum());

        // Text against a field no function writes has no vectors to become.
        var e = await Assert.ThrowsAsync<QuiverException>(() => engine.HybridSearchAsync("docs",
            oracle with { Requests = [byText, byMood with { Vectors = [], QueryTexts = texts }] }));
        Assert.Contains("field 'mood' is not the output of a TextEmbedding function", e.Message, StringComparison.Ordinal);
    }
}
