using System.Collections;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.VectorData;
using Quiver.AI;
using Quiver.Client;
using Quiver.Testing;
using Quiver.VectorData;

namespace Quiver.Typed.Tests;

/// <summary>The <c>typed-</c>, <c>vectordata-</c> and <c>ai-</c> rows of docs/errors.md's "Library refusals": each row's
/// refusal made through the public API on the embedded engine (these refusals are the library's own, made before any
/// call leaves the process, so a server would give the same), and the exception's type, kind and message checked against
/// the row. A row without a case here, or a case without a row, fails.</summary>
public sealed class LibraryErrorTableTests
{
    private static readonly string[] Prefixes = ["typed-", "vectordata-", "ai-"];

    private static readonly Dictionary<string, Func<IQuiverClient, Task>> Cases = new(StringComparer.Ordinal)
    {
        ["typed-no-key"] = c => Sync(() => c.Collection<NoKey>("x")),
        ["typed-collection-name"] = c => Sync(() => c.Collection<Plain>(" ")),
        ["typed-no-constructor"] = c => Sync(() => c.Collection<NoConstructor>("x")),
        ["typed-unsupported-property"] = c => Sync(() => c.Collection<BadType>("x")),
        ["typed-key-type"] = c => Sync(() => c.Collection<DoubleKey>("x")),
        ["typed-vector-type"] = c => Sync(() => c.Collection<StringVector>("x")),
        ["typed-full-text-not-string"] = c => Sync(() => c.Collection<NumberText>("x")),
        ["typed-analyzer-without-full-text"] = c => Sync(() => c.Collection<LooseAnalyzer>("x")),
        ["typed-embed-from-missing"] = c => Sync(() => c.Collection<BadSource>("x")),
        ["typed-definition-unknown-property"] = c => Sync(() => c.Collection<Plain>("x", new QuiverCollectionOptions
        {
            Definition = new QuiverRecordDefinition { Properties = [new QuiverPropertyDefinition("Nope", QuiverPropertyKind.Key)] },
        })),
        ["typed-delete-key-type"] = async c => await (await PlainAsync(c)).DeleteAsync(["text"]),
        ["typed-query-batch-size"] = async c => await (await PlainAsync(c)).QueryAsync("", options: new QuiverQueryOptions { BatchSize = 0 }).ToListAsync(),
        ["typed-several-vectors"] = async c => await c.Collection<TwoVectors>("two").SearchAsync(new float[] { 1, 0, 0 }).ToListAsync(),
        ["typed-no-such-vector"] = async c => await (await PlainAsync(c)).SearchAsync(new float[] { 1, 0, 0 }, new QuiverSearchOptions { VectorProperty = "Nope" }).ToListAsync(),
        ["typed-no-full-text"] = async c => await (await PlainAsync(c)).FullTextSearchAsync("lamp").ToListAsync(),
        ["typed-hybrid-no-query"] = async c => await (await PlainAsync(c)).HybridSearchAsync([]).ToListAsync(),
        ["typed-no-embedding-generator"] = async c => await c.Collection<Memo>("memos").UpsertAsync([new Memo { Id = 1, Text = "a note" }]),
        ["typed-embed-source-null"] = async c =>
        {
            var memos = c.Collection<Memo>("memos", new QuiverCollectionOptions { EmbeddingGenerator = new Tiny().AsGenerator() });
            await memos.UpsertAsync([new Memo { Id = 1, Text = null }]);
        },
        ["typed-binary-bits"] = async c => await c.Collection<Bits>("bits").SearchAsync(new BitArray(5)).ToListAsync(),
        ["typed-connection-options"] = async c =>
        {
            await using var source = new QuiverDataSource(Options.Create(new QuiverConnectionOptions()));
            await source.GetClientAsync();
        },
        ["vectordata-key-type"] = c => Sync(() => new QuiverVectorStore(c).GetCollection<int, IntKey>("x")),
        ["vectordata-distance"] = c => new QuiverVectorStore(c).GetCollection<long, Manhattan>("manhattan").EnsureCollectionExistsAsync(),
        ["vectordata-index-kind"] = c => new QuiverVectorStore(c).GetCollection<long, QuantizedFlat>("quantized").EnsureCollectionExistsAsync(),
        ["vectordata-filter"] = async c =>
        {
            var books = new QuiverVectorStore(c).GetCollection<long, Book>("books");
            await books.EnsureCollectionExistsAsync();
            await books.SearchAsync(new float[] { 1, 0, 0 }, 3, new VectorSearchOptions<Book> { Filter = x => x.Title.StartsWith("a") }).ToListAsync();
        },
        ["vectordata-dynamic-records"] = c => Sync(() => new QuiverVectorStore(c).GetCollection<object, Dictionary<string, object?>>("x")),
        ["vectordata-search-input"] = async c =>
        {
            var books = new QuiverVectorStore(c).GetCollection<long, Book>("books");
            await books.EnsureCollectionExistsAsync();
            await books.SearchAsync("text", 3).ToListAsync();
        },
        ["vectordata-hybrid-no-keyword"] = async c =>
        {
            var books = new QuiverVectorStore(c).GetCollection<long, Book>("books");
            await books.EnsureCollectionExistsAsync();
            await books.HybridSearchAsync(new float[] { 1, 0, 0 }, ["", "  "], 3).ToListAsync();
        },
        ["vectordata-database-refusal"] = async c => await new QuiverVectorStore(c).GetCollection<long, Book>("nope").SearchAsync(new float[] { 1, 0, 0 }, 3).ToListAsync(),
        ["ai-dimensions"] = async _ => await new QuiverEmbeddingGenerator(new Tiny(), "tiny-model").GenerateAsync(["a"], new EmbeddingGenerationOptions { Dimensions = 100 }),
    };

    public static TheoryData<string> Rows() => [.. LibraryErrorTable.Read(Prefixes).Select(r => r.Case)];

    [Fact]
    public void Table_HasACaseForEveryRow_AndARowForEveryCase()
    {
        var names = LibraryErrorTable.Read(Prefixes).Select(r => r.Case).ToList();
        Assert.NotEmpty(names);
        Assert.Equal(names.Distinct(StringComparer.Ordinal).Count(), names.Count);
        Assert.True(names.Except(Cases.Keys).ToList() is [], "rows without a case: " + string.Join(", ", names.Except(Cases.Keys)));
        Assert.True(Cases.Keys.Except(names).ToList() is [], "cases without a row: " + string.Join(", ", Cases.Keys.Except(names)));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public async Task Row_IsTheRefusalTheCallMakes(string name)
    {
        var row = LibraryErrorTable.Read(Prefixes).Single(r => r.Case == name);
        using var folder = new TempFolder("quiver-library-errors");
        await using var client = await QuiverClient.OpenEmbeddedAsync(folder.Path, new QuiverOptions { BackgroundMaintenance = false });
        Exception? thrown = null;
        try
        {
            await Cases[name](client);
        }
        catch (Exception e)
        {
            thrown = e;
        }

        var mismatch = LibraryErrorTable.Mismatch(row, thrown);
        Assert.True(mismatch is null, mismatch);
        if (name == "vectordata-database-refusal")
        {
            Assert.Equal(QuiverErrorCode.NotFound, Assert.IsType<QuiverException>(thrown!.InnerException, exactMatch: false).Code);
        }
    }

    private static Task Sync(Func<object> call)
    {
        call();
        return Task.CompletedTask;
    }

    private static async Task<QuiverCollection<Plain>> PlainAsync(IQuiverClient client)
    {
        var plain = client.Collection<Plain>("plain");
        await plain.EnsureCreatedAsync();
        return plain;
    }

    /// <summary>A 3-dimensional embedder (each text's length in the first coordinate).</summary>
    private sealed class Tiny : ITextEmbedder
    {
        public int Dimension => 3;

        public Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken) =>
            Task.FromResult(texts.Select(t => new float[] { t.Length, 1, 0 }).ToArray());

        public IEmbeddingGenerator<string, Embedding<float>> AsGenerator() => new QuiverEmbeddingGenerator(this, "tiny-model");
    }

    public sealed class NoKey
    {
        [QuiverVector(3)]
        public float[] V { get; set; } = [];
    }

    public sealed class NoConstructor(long id)
    {
        [QuiverKey]
        public long Id { get; set; } = id;
    }

    public sealed class BadType
    {
        [QuiverKey]
        public long Id { get; set; }

        public TimeSpan When { get; set; }
    }

    public sealed class DoubleKey
    {
        [QuiverKey]
        public double Id { get; set; }
    }

    public sealed class StringVector
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverVector(3)]
        public string Embedding { get; set; } = "";
    }

    public sealed class NumberText
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverField(FullTextSearch = true)]
        public int Count { get; set; }
    }

    public sealed class LooseAnalyzer
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverField(AnalyzerParams = """{"type": "standard"}""")]
        public string Body { get; set; } = "";
    }

    public sealed class BadSource
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverVector(3, EmbedFrom = "Missing")]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class Plain
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverVector(3)]
        public float[] Features { get; set; } = [];
    }

    public sealed class TwoVectors
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverVector(3)]
        public float[] A { get; set; } = [];

        [QuiverVector(3)]
        public float[] B { get; set; } = [];
    }

    public sealed class Memo
    {
        [QuiverKey]
        public long Id { get; set; }

        public string? Text { get; set; }

        [QuiverVector(3, EmbedFrom = nameof(Text))]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class Bits
    {
        [QuiverKey]
        public long Id { get; set; }

        [QuiverVector(8, Metric = MetricType.Hamming)]
        public BitArray Embedding { get; set; } = new(8);
    }

    public sealed class IntKey
    {
        [VectorStoreKey]
        public int Key { get; set; }

        [VectorStoreVector(3)]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class Manhattan
    {
        [VectorStoreKey]
        public long Key { get; set; }

        [VectorStoreVector(3, DistanceFunction = DistanceFunction.ManhattanDistance)]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class QuantizedFlat
    {
        [VectorStoreKey]
        public long Key { get; set; }

        [VectorStoreVector(3, IndexKind = IndexKind.QuantizedFlat)]
        public float[] Embedding { get; set; } = [];
    }

    public sealed class Book
    {
        [VectorStoreKey]
        public long Key { get; set; }

        [VectorStoreData(IsFullTextIndexed = true)]
        public string Title { get; set; } = "";

        [VectorStoreVector(3)]
        public float[] Embedding { get; set; } = [];
    }
}
