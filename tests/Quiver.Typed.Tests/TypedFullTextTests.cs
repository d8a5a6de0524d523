using Microsoft.Extensions.AI;
using Quiver.Testing;

namespace Quiver.Typed.Tests;

public sealed class Article
{
    [QuiverKey]
    public long Id { get; set; }

    [QuiverField(FullTextSearch = true)]
    public string Body { get; set; } = "";

    [QuiverField(FullTextSearch = true, Name = "headline")]
    public string Title { get; set; } = "";

    public int Group { get; set; }

    [QuiverVector(3, Metric = MetricType.IP)]
    public float[] Dense { get; set; } = [];

    [QuiverVector(4, Metric = MetricType.L2, EmbedFrom = nameof(Title))]
    public float[] TitleVector { get; set; } = [];
}

public sealed class PlainText
{
    [QuiverKey]
    public long Id { get; set; }

    public string Text { get; set; } = "";

    [QuiverVector(2)]
    public float[] V { get; set; } = [];
}

public sealed class CountIndexed
{
    [QuiverKey]
    public long Id { get; set; }

    [QuiverField(FullTextSearch = true)]
    public int Count { get; set; }

    [QuiverVector(2)]
    public float[] V { get; set; } = [];
}

public sealed class AnalyzerWithoutFullText
{
    [QuiverKey]
    public long Id { get; set; }

    [QuiverField(AnalyzerParams = "{\"type\":\"standard\"}")]
    public string Text { get; set; } = "";

    [QuiverVector(2)]
    public float[] V { get; set; } = [];
}

/// <summary>
/// BM25 full-text search and hybrid search in the typed API, embedded and against the server. Every answer is checked
/// against an oracle computed here from the records alone: a reference Okapi BM25 (<see cref="Bm25Reference"/>) over
/// each full-text property, brute force over the dense vectors and over the generator's own vectors, fused by
/// <see cref="HybridOracle.Fuse"/> (reciprocal rank, or weights). Half the records are sealed, half growing.
/// </summary>
public abstract class TypedFullTextTests(bool remote)
{
    private static readonly string[] Keywords = ["kernel", "panic", "driver"];

    /// <summary>Article i holds 0..2 of each keyword and i filler words in its body (so no two BM25 scores tie), and a
    /// title of 1..3 words.</summary>
    private static List<Article> Articles(int count)
    {
        var random = new Random(23);
        string[] filler = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"];
        string[] titleWords = ["kernel", "news", "driver", "update", "panic", "report", "weekly"];
        return [.. Enumerable.Range(1, count).Select(i =>
        {
            var words = new List<string>();
            foreach (var k in Keywords)
            {
                words.AddRange(Enumerable.Repeat(k, random.Next(3) * (random.Next(3) == 0 ? 1 : 0)));
            }

            words.AddRange(Enumerable.Range(0, i).Select(_ => filler[random.Next(filler.Length)]));
            return new Article
            {
                Id = i,
                Body = string.Join(' ', words.OrderBy(_ => random.Next())),
                Title = string.Join(' ', Enumerable.Range(0, 1 + random.Next(3)).Select(_ => titleWords[random.Next(titleWords.Length)])) + $" n{i}",
                Group = i % 3,
                Dense = [(float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble()],
            };
        })];
    }

    private async Task<(Target Target, QuiverCollection<Article> Collection, List<Article> Articles, HashGenerator Generator)> OpenAsync()
    {
        var target = await Target.OpenAsync(remote);
        var generator = new HashGenerator();
        var collection = target.Client.Collection<Article>("articles", new QuiverCollectionOptions { EmbeddingGenerator = generator, VectorIndexType = "FLAT" });
        await collection.EnsureCreatedAsync();
        var articles = Articles(80);
        await collection.UpsertAsync(articles.Take(40));
        await target.Client.FlushAsync("articles");
        await collection.UpsertAsync(articles.Skip(40));
        return (target, collection, articles, generator);
    }

    /// <summary>One search's hits as the oracle sees them: the best <paramref name="limit"/> of the records the filter
    /// keeps, by BM25 over the property's texts of every record (zero scores left out).</summary>
    private static List<HybridOracle.Hit> TextOracle(List<Article> articles, Func<Article, string> text, string query, Func<Article, bool> filter, int limit)
    {
        var scores = Bm25Reference.Scores(articles.ToDictionary(a => a.Id, text), query.Split(' '));
        return [.. articles.Where(filter).Where(a => scores[a.Id] > 0).OrderByDescending(a => scores[a.Id]).ThenBy(a => a.Id).Take(limit)
            .Select(a => new HybridOracle.Hit(a.Id, scores[a.Id], ""))];
    }

    private static List<HybridOracle.Hit> VectorOracle(List<Article> articles, Func<Article, float[]> vector, float[] query, MetricType metric, Func<Article, bool> filter, int limit) =>
        HybridOracle.Search(articles.Where(filter).Select(a => new HybridOracle.Candidate(a.Id, vector(a), "")), query, metric, limit);

    public static TheoryData<string, int, int, bool> TextCases() => new()
    {
        { "kernel", 10, 0, false },
        { "kernel panic", 7, 3, true },
        { "panic driver", 5, 0, true },
        { "kernel panic driver", 12, 4, false },
    };

    [Theory]
    [MemberData(nameof(TextCases))]
    public async Task FullTextSearch_EqualsReferenceBm25_OnEitherProperty(string query, int limit, int offset, bool filtered)
    {
        var (target, collection, articles, _) = await OpenAsync();
        await using var _t = target;
        Func<Article, bool> keep = filtered ? a => a.Group != 1 : _ => true;
        var options = new QuiverSearchOptions { Limit = limit, Offset = offset, Filter = filtered ? "Group != {g}" : "", FilterParams = new Dictionary<string, object?> { ["g"] = 1 } };

        // The body is one of two full-text properties, so it is named; by property name here, by field name below.
        var expected = TextOracle(articles, a => a.Body, query, keep, limit + offset).Skip(offset).ToList();
        var hits = await collection.FullTextSearchAsync(query, options with { TextProperty = nameof(Article.Body) }).ToListAsync();
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Record.Id));
        for (var i = 0; i < hits.Count; i++)
        {
            Assert.Equal(expected[i].Score, hits[i].Score, expected[i].Score * 1e-5);
            var article = articles[(int)hits[i].Record.Id - 1];
            Assert.Equal(article.Body, hits[i].Record.Body);
            Assert.Equal(article.Title, hits[i].Record.Title);
            Assert.Empty(hits[i].Record.Dense);
        }

        var titleQuery = query.Split(' ')[0] + " news";
        var expectedTitles = TextOracle(articles, a => a.Title, titleQuery, keep, limit + offset).Skip(offset).ToList();
        var titleHits = await collection.FullTextSearchAsync(titleQuery, options with { TextProperty = "headline", IncludeVectors = true }).ToListAsync();
        Assert.Equal(expectedTitles.Select(e => e.Id), titleHits.Select(h => h.Record.Id));
        Assert.Equal(expectedTitles.Select(e => e.Score), titleHits.Select(h => (double)h.Score), new Tolerance(1e-5));
        Assert.All(titleHits, h => Assert.Equal(articles[(int)h.Record.Id - 1].Dense, h.Record.Dense));
    }

    [Theory]
    [InlineData(10, 0, false)]
    [InlineData(6, 3, true)]
    public async Task HybridSearch_OfVectorFullTextAndEmbeddedText_EqualsRrfOfTheOracles(int limit, int offset, bool filtered)
    {
        var (target, collection, articles, generator) = await OpenAsync();
        await using var _t = target;
        Func<Article, bool> keep = filtered ? a => a.Group != 1 : _ => true;
        var filter = filtered ? "Group != 1" : "";
        float[] dense = [0.3f, 0.6f, 0.2f];
        const string text = "kernel panic";
        const string title = "driver update";

        // Per query: the dense search takes the options' candidates, the text search its own 7 and the title search its
        // own filter (every record of group 0).
        var queries = new[]
        {
            QuiverHybridQuery.Vector(dense, nameof(Article.Dense)),
            QuiverHybridQuery.FullText(text, nameof(Article.Body)) with { Limit = 7 },
            QuiverHybridQuery.EmbeddedText(title, nameof(Article.TitleVector)) with { Filter = "Group == 0" },
        };
        var perSearch = new List<List<HybridOracle.Hit>>
        {
            VectorOracle(articles, a => a.Dense, dense, MetricType.IP, keep, limit + offset),
            TextOracle(articles, a => a.Body, text, keep, 7),
            VectorOracle(articles, a => HashGenerator.Embed(a.Title), HashGenerator.Embed(title), MetricType.L2, a => a.Group == 0, limit + offset),
        };
        var expected = HybridOracle.Fuse(perSearch, [MetricType.IP, MetricType.BM25, MetricType.L2], 60, null, false, limit, offset);
        var calls = generator.Calls;
        var hits = await collection.HybridSearchAsync(queries, new QuiverHybridSearchOptions { Limit = limit, Offset = offset, Filter = filter }).ToListAsync();
        Assert.Equal(calls + 1, generator.Calls);
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Record.Id));
        Assert.Equal(expected.Select(e => e.Score), hits.Select(h => h.Score), new Tolerance(1e-6));
        Assert.All(hits, h => Assert.Equal(articles[(int)h.Record.Id - 1].Body, h.Record.Body));

        // Weighted: the dense search's inner products and the BM25 scores, weighted and summed.
        var weighted = await collection.HybridSearchAsync([QuiverHybridQuery.Vector(dense, "Dense"), QuiverHybridQuery.FullText(text, "Body")], new QuiverHybridSearchOptions
        {
            Limit = limit, Offset = offset, Filter = filter, Ranker = HybridRanker.Weighted([0.8f, 0.2f]),
        }).ToListAsync();
        var expectedWeighted = HybridOracle.Fuse(
            [VectorOracle(articles, a => a.Dense, dense, MetricType.IP, keep, limit + offset), TextOracle(articles, a => a.Body, text, keep, limit + offset)],
            [MetricType.IP, MetricType.BM25], null, [0.8f, 0.2f], false, limit, offset);
        Assert.Equal(expectedWeighted.Select(e => e.Id), weighted.Select(h => h.Record.Id));
        Assert.Equal(expectedWeighted.Select(e => e.Score), weighted.Select(h => h.Score), new Tolerance(1e-4));
    }

    [Fact]
    public async Task FullTextAndHybridMistakes_AreInvalidArgument_NamingTheProblem()
    {
        var (target, collection, _, _) = await OpenAsync();
        await using var _t = target;
        async Task<string> Refused(Func<Task> call)
        {
            var e = await Assert.ThrowsAsync<QuiverException>(call);
            Assert.Equal(QuiverErrorCode.InvalidArgument, e.Code);
            return e.Message;
        }

        Assert.Contains("name the one to search (TextProperty)", await Refused(() => collection.FullTextSearchAsync("kernel").ToListAsync().AsTask()), StringComparison.Ordinal);
        Assert.Contains("no full-text property Group", await Refused(() => collection.FullTextSearchAsync("kernel", new QuiverSearchOptions { TextProperty = "Group" }).ToListAsync().AsTask()), StringComparison.Ordinal);
        Assert.Contains("give at least one query", await Refused(() => collection.HybridSearchAsync([], null).ToListAsync().AsTask()), StringComparison.Ordinal);
        Assert.Contains("name the one to search (VectorProperty)", await Refused(() => collection.HybridSearchAsync([QuiverHybridQuery.Vector(new float[] { 1, 0, 0 })]).ToListAsync().AsTask()), StringComparison.Ordinal);

        var plain = target.Client.Collection<PlainText>("plaintext");
        await plain.EnsureCreatedAsync();
        Assert.Contains("has no full-text property; mark a string property [QuiverField(FullTextSearch = true)]",
            await Refused(() => plain.FullTextSearchAsync("x").ToListAsync().AsTask()), StringComparison.Ordinal);
        Assert.Contains("needs QuiverCollectionOptions.EmbeddingGenerator",
            await Refused(() => plain.HybridSearchAsync([QuiverHybridQuery.EmbeddedText("x")]).ToListAsync().AsTask()), StringComparison.Ordinal);

        Assert.Contains("CountIndexed.Count of type Int32 cannot be mapped: FullTextSearch applies to string properties only",
            Assert.Throws<QuiverException>(() => target.Client.Collection<CountIndexed>("c")).Message, StringComparison.Ordinal);
        Assert.Contains("AnalyzerParams applies with FullTextSearch only",
            Assert.Throws<QuiverException>(() => target.Client.Collection<AnalyzerWithoutFullText>("a")).Message, StringComparison.Ordinal);
    }

    /// <summary>The schema a full-text property implies: the text analysed, a BM25 function into a sparse field of
    /// its own named with <see cref="QuiverCollection{TRecord}.Bm25Suffix"/>, as the server describes it.</summary>
    [Fact]
    public async Task FullTextProperty_MakesAnAnalysedFieldABm25FunctionAndItsSparseField()
    {
        var (target, _, _, _) = await OpenAsync();
        await using var _t = target;
        var described = await target.Client.DescribeCollectionAsync("articles");
        Assert.True(described.Schema.Fields.Single(f => f.Name == "Body").EnableAnalyzer);
        Assert.True(described.Schema.Fields.Single(f => f.Name == "headline").EnableAnalyzer);
        Assert.Equal(DataType.SparseFloatVector, described.Schema.Fields.Single(f => f.Name == "headline_bm25").DataType);
        Assert.Equal(
            [("Body_bm25_fn", "Body", "Body_bm25"), ("headline_bm25_fn", "headline", "headline_bm25")],
            described.Schema.Functions.Select(f => (f.Name, f.InputFieldNames.Single(), f.OutputFieldNames.Single())).OrderBy(f => f.Item1));
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>, IEqualityComparer<float>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public bool Equals(float x, float y) => Equals((double)x, y);

        public int GetHashCode(double obj) => 0;

        public int GetHashCode(float obj) => 0;
    }
}

/// <summary>A deterministic generator whose vectors are pseudo-random per text (seeded by an FNV-1a hash of it), so
/// that distances between them do not tie as letter counts would.</summary>
public sealed class HashGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    public static float[] Embed(string text)
    {
        var hash = 2166136261u;
        foreach (var ch in text)
        {
            hash = (hash ^ ch) * 16777619u;
        }

        var random = new Random((int)hash);
        return [.. Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble())];
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(Embed(v)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

public sealed class EmbeddedTypedFullTextTests() : TypedFullTextTests(remote: false);

public sealed class RemoteTypedFullTextTests() : TypedFullTextTests(remote: true);
