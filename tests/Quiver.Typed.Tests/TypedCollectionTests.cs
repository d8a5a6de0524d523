using System.Text.Json;

namespace Quiver.Typed.Tests;

public sealed class AllTypes
{
    [QuiverKey]
    public long Id { get; set; }

    public bool Flag { get; set; }

    public sbyte Tiny { get; set; }

    public short Small { get; set; }

    public int Count { get; set; }

    public long Big { get; set; }

    public float Price { get; set; }

    public double Weight { get; set; }

    [QuiverField(Name = "title", MaxLength = 64)]
    public string Title { get; set; } = "";

    public string? Note { get; set; }

    public int? Rating { get; set; }

    public JsonElement Meta { get; set; }

    [QuiverField(MaxCapacity = 8, MaxLength = 16)]
    public string[] Tags { get; set; } = [];

    public List<long> Codes { get; set; } = [];

    [QuiverVector(4, Metric = MetricType.L2)]
    public float[] Embedding { get; set; } = [];

    [QuiverVector(2, Name = "second", Metric = MetricType.IP)]
    public ReadOnlyMemory<float> Second { get; set; }

    [QuiverIgnore]
    public string Ignored { get; set; } = "not stored";
}

public sealed class Product
{
    [QuiverKey]
    public long Id { get; set; }

    [QuiverField(MaxLength = 32)]
    public string Category { get; set; } = "";

    public double Price { get; set; }

    [QuiverVector(4, Metric = MetricType.L2)]
    public float[] Vector { get; set; } = [];
}

public sealed class Note
{
    [QuiverKey(AutoId = true)]
    public long Id { get; set; }

    public string Text { get; set; } = "";

    [QuiverVector(2, Metric = MetricType.L2)]
    public float[] Vector { get; set; } = [];
}

public sealed class Plain
{
    public string Code { get; set; } = "";

    public int Stock { get; set; }

    public float[] Features { get; set; } = [];
}

public sealed class NoKey
{
    public long Id { get; set; }
}

public sealed class BadType
{
    [QuiverKey]
    public long Id { get; set; }

    public TimeSpan When { get; set; }
}

public abstract class TypedCollectionTests(bool remote)
{
    private static AllTypes Sample(long id) => new()
    {
        Id = id,
        Flag = id % 2 == 0,
        Tiny = (sbyte)(-id),
        Small = (short)(1000 + id),
        Count = (int)(100_000 * id),
        Big = long.MaxValue - id,
        Price = 1.5f * id,
        Weight = Math.PI * id,
        Title = $"title {id}",
        Note = id % 2 == 0 ? null : $"note {id}",
        Rating = id % 2 == 0 ? null : (int)id,
        Meta = JsonDocument.Parse($$"""{"k":{{id}},"s":"v{{id}}"}""").RootElement,
        Tags = [$"t{id}", "common"],
        Codes = [id, -id, 7],
        Embedding = [id, 1, 2, 3],
        Second = new float[] { 0.5f, id },
    };

    private static void AssertSame(AllTypes expected, AllTypes actual, bool vectors)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Flag, actual.Flag);
        Assert.Equal(expected.Tiny, actual.Tiny);
        Assert.Equal(expected.Small, actual.Small);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Big, actual.Big);
        Assert.Equal(expected.Price, actual.Price);
        Assert.Equal(expected.Weight, actual.Weight);
        Assert.Equal(expected.Title, actual.Title);
        Assert.Equal(expected.Note, actual.Note);
        Assert.Equal(expected.Rating, actual.Rating);
        Assert.Equal(expected.Meta.GetProperty("k").GetInt64(), actual.Meta.GetProperty("k").GetInt64());
        Assert.Equal(expected.Meta.GetProperty("s").GetString(), actual.Meta.GetProperty("s").GetString());
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Codes, actual.Codes);
        Assert.Equal("not stored", actual.Ignored);
        if (vectors)
        {
            Assert.Equal(expected.Embedding, actual.Embedding);
            Assert.Equal(expected.Second.ToArray(), actual.Second.ToArray());
        }
        else
        {
            Assert.Empty(actual.Embedding);
            Assert.True(actual.Second.IsEmpty);
        }
    }

    [Fact]
    public void Schema_FromAttributes_MapsEveryType()
    {
        var schema = RecordMapper<AllTypes>.For(null).Schema;
        DataType Type(string name) => schema.Find(name)!.DataType;
        Assert.True(schema.Find("Id")!.IsPrimaryKey);
        Assert.Equal(
            [DataType.Int64, DataType.Bool, DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64, DataType.Float, DataType.Double, DataType.VarChar,
             DataType.VarChar, DataType.Int32, DataType.Json, DataType.Array, DataType.Array, DataType.FloatVector, DataType.FloatVector],
            schema.Fields.Select(f => f.DataType));
        Assert.Equal(64, schema.Find("title")!.MaxLength);
        Assert.True(schema.Find("Note")!.Nullable);
        Assert.False(schema.Find("title")!.Nullable);
        Assert.True(schema.Find("Rating")!.Nullable);
        Assert.Equal(DataType.VarChar, schema.Find("Tags")!.ElementType);
        Assert.Equal(8, schema.Find("Tags")!.MaxCapacity);
        Assert.Equal(DataType.Int64, schema.Find("Codes")!.ElementType);
        Assert.Equal(MetricType.IP, schema.Find("second")!.Metric);
        Assert.Equal(2, schema.Find("second")!.Dimension);
        Assert.Null(schema.Find("Ignored"));
        Assert.Equal(DataType.Int32, Type("Count"));
    }

    [Fact]
    public async Task EveryType_RoundTripsThroughUpsertGetAndQuery()
    {
        await using var target = await Target.OpenAsync(remote);
        var things = target.Client.Collection<AllTypes>("things", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await things.EnsureCreatedAsync();
        Assert.True(await things.ExistsAsync());
        var records = Enumerable.Range(1, 6).Select(i => Sample(i)).ToList();
        var written = await things.UpsertAsync(records);
        Assert.Equal(6, written.Count);

        var got = await things.GetAsync(3L);
        Assert.NotNull(got);
        AssertSame(records[2], got, vectors: true);
        Assert.Null(await things.GetAsync(99L));

        var queried = await things.QueryAsync("Big > 0", new QuiverQueryOptions { BatchSize = 4 }).ToListAsync();
        Assert.Equal([1L, 2, 3, 4, 5, 6], queried.Select(r => r.Id));
        for (var i = 0; i < 6; i++)
        {
            AssertSame(records[i], queried[i], vectors: true);
        }

        var light = await things.GetAsync([2L, 5L], new QuiverGetOptions { IncludeVectors = false }).ToListAsync();
        Assert.Equal([2L, 5L], light.Select(r => r.Id));
        AssertSame(records[4], light[1], vectors: false);
    }

    [Fact]
    public async Task Search_EqualsBruteForce_WithFilterAndOffset()
    {
        await using var target = await Target.OpenAsync(remote);
        var products = target.Client.Collection<Product>("products", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await products.EnsureCreatedAsync();
        var random = new Random(15);
        var records = Enumerable.Range(0, 300).Select(i => new Product
        {
            Id = i,
            Category = i % 3 == 0 ? "tech" : "home",
            Price = random.Next(0, 1000),
            Vector = [.. Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble())],
        }).ToList();
        await products.InsertAsync(records);

        for (var q = 0; q < 5; q++)
        {
            float[] query = [.. Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble())];
            var hits = await products.SearchAsync(query, new QuiverSearchOptions
            {
                Limit = 7,
                Offset = 2,
                Filter = "Category == {c} and Price < 700",
                FilterParams = new Dictionary<string, object?> { ["c"] = "tech" },
            }).ToListAsync();
            var expected = records.Where(r => r.Category == "tech" && r.Price < 700)
                .Select(r => (r.Id, Distance: r.Vector.Zip(query, (a, b) => (a - b) * (a - b)).Sum()))
                .OrderBy(x => x.Distance).ThenBy(x => x.Id).Skip(2).Take(7).ToList();
            Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Record.Id));
            for (var i = 0; i < hits.Count; i++)
            {
                Assert.Equal(expected[i].Distance, hits[i].Score, 4);
                var source = records[(int)hits[i].Record.Id];
                Assert.Equal(source.Category, hits[i].Record.Category);
                Assert.Equal(source.Price, hits[i].Record.Price);
                Assert.Empty(hits[i].Record.Vector);
            }
        }

        var withVectors = await products.SearchAsync(records[10].Vector, new QuiverSearchOptions { Limit = 1, IncludeVectors = true }).ToListAsync();
        Assert.Equal(10, withVectors[0].Record.Id);
        Assert.Equal(records[10].Vector, withVectors[0].Record.Vector);
    }

    [Fact]
    public async Task Query_WithoutLimit_IteratesEveryMatchInKeyOrder_AndCountAgrees()
    {
        await using var target = await Target.OpenAsync(remote);
        var products = target.Client.Collection<Product>("products", new QuiverCollectionOptions { VectorIndexType = "FLAT" });
        await products.EnsureCreatedAsync();
        var ids = Enumerable.Range(0, 250).Select(i => (long)(i * 7919 % 1000)).ToList();
        await products.InsertAsync(ids.Select(id => new Product { Id = id, Category = id % 2 == 0 ? "even" : "odd", Price = id, Vector = [id, 1, 0, 0] }));
        await products.DeleteAsync([ids[0], ids[1]]);
        var live = ids.Skip(2).ToHashSet();

        var all = await products.QueryAsync(options: new QuiverQueryOptions { BatchSize = 16, IncludeVectors = false }).ToListAsync();
        Assert.Equal(live.Order(), all.Select(p => p.Id));
        var odd = await products.QueryAsync("Category == \"odd\"", new QuiverQueryOptions { BatchSize = 9 }).ToListAsync();
        Assert.Equal(live.Where(i => i % 2 == 1).Order(), odd.Select(p => p.Id));
        Assert.All(odd, p => Assert.Equal([p.Id, 1, 0, 0], p.Vector));
        Assert.Equal(live.Count, await products.CountAsync());
        Assert.Equal(live.Count(i => i % 2 == 1), await products.CountAsync("Category == \"odd\""));

        var page = await products.QueryAsync("Price >= 0", new QuiverQueryOptions { Limit = 5 }).ToListAsync();
        Assert.Equal(5, page.Count);
        Assert.All(page, p => Assert.Contains(p.Id, live));

        var removed = await products.DeleteWhereAsync("Category == \"even\"");
        Assert.Equal(live.Count(i => i % 2 == 0), removed.Count);
        Assert.Equal(live.Count(i => i % 2 == 1), await products.CountAsync());
    }

    [Fact]
    public async Task Insert_WithAutoId_WritesGeneratedKeysBack()
    {
        await using var target = await Target.OpenAsync(remote);
        var notes = target.Client.Collection<Note>("notes");
        await notes.EnsureCreatedAsync();
        var batch = new[] { new Note { Text = "a", Vector = [1, 0] }, new Note { Text = "b", Vector = [0, 1] } };
        var result = await notes.InsertAsync(batch);
        Assert.Equal(result.Keys, batch.Select(n => (object)n.Id));
        Assert.NotEqual(batch[0].Id, batch[1].Id);
        Assert.Equal("b", (await notes.GetAsync(batch[1].Id))!.Text);
    }

    [Fact]
    public async Task Definition_MapsARecordWithoutAttributes()
    {
        await using var target = await Target.OpenAsync(remote);
        var definition = new QuiverRecordDefinition
        {
            Properties =
            [
                new QuiverPropertyDefinition(nameof(Plain.Code), QuiverPropertyKind.Key) { FieldName = "code", MaxLength = 20 },
                new QuiverPropertyDefinition(nameof(Plain.Stock), QuiverPropertyKind.Field) { FieldName = "stock" },
                new QuiverPropertyDefinition(nameof(Plain.Features), QuiverPropertyKind.Vector) { FieldName = "features", Dimension = 3, Metric = MetricType.IP },
            ],
        };
        var plain = target.Client.Collection<Plain>("plain", new QuiverCollectionOptions { Definition = definition, VectorIndexType = "FLAT" });
        Assert.Equal(["code", "stock", "features"], plain.Schema.Fields.Select(f => f.Name));
        await plain.EnsureCreatedAsync();
        var info = await target.Client.DescribeCollectionAsync("plain");
        Assert.Equal(DataType.VarChar, info.Schema.PrimaryKey.DataType);
        await plain.UpsertAsync([new Plain { Code = "b", Stock = 2, Features = [0, 1, 0] }, new Plain { Code = "a", Stock = 1, Features = [1, 0, 0] }]);
        Assert.Equal(["a", "b"], await plain.QueryAsync().Select(p => p.Code).ToListAsync());
        var hit = Assert.Single(await plain.SearchAsync(new float[] { 0.9f, 0.1f, 0 }, new QuiverSearchOptions { Limit = 1 }).ToListAsync());
        Assert.Equal("a", hit.Record.Code);
        Assert.Equal(1, hit.Record.Stock);
        Assert.Equal(0.9f, hit.Score, 4);
        await plain.DeleteAsync(["a"]);
        Assert.Equal(["b"], await plain.QueryAsync().Select(p => p.Code).ToListAsync());
        await plain.DropAsync();
        Assert.False(await plain.ExistsAsync());
    }

    [Fact]
    public async Task MappingMistakes_AreInvalidArgument()
    {
        await using var target = await Target.OpenAsync(remote);
        Assert.Equal(QuiverErrorCode.InvalidArgument, Assert.Throws<QuiverException>(() => target.Client.Collection<NoKey>("x")).Code);
        var bad = Assert.Throws<QuiverException>(() => target.Client.Collection<BadType>("x"));
        Assert.Contains("BadType.When", bad.Message, StringComparison.Ordinal);
        var products = target.Client.Collection<Product>("products");
        var wrongKey = await Assert.ThrowsAsync<QuiverException>(() => products.DeleteAsync(["text"]));
        Assert.Equal(QuiverErrorCode.InvalidArgument, wrongKey.Code);
        var missing = await Assert.ThrowsAnyAsync<QuiverException>(() => products.CountAsync());
        Assert.Equal(QuiverErrorCode.NotFound, missing.Code);
    }
}

public sealed class EmbeddedTypedCollectionTests() : TypedCollectionTests(remote: false);

public sealed class RemoteTypedCollectionTests() : TypedCollectionTests(remote: true);
