using System.Text.Json;
using Quiver.Cli.Browse;
using Quiver.Server.Hosting;
using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Cli.Ops.Cli;

namespace Quiver.Cli.Tests.Browse;

/// <summary>
/// <c>quiver collections / describe / count / query / search / indexes</c> on a folder and on a server, against the
/// seeded rows the test keeps itself: counts and filtered rows computed here, search hits from a brute-force top-k.
/// </summary>
public sealed class BrowseCommandsTests
{
    private const int Dim = 8;
    private const int Rows = 300;

    /// <summary>Two collections: "products" (the test's product schema, exact search) and "empty".</summary>
    private static async Task<List<Row>> SeedAsync(QuiverEngine engine)
    {
        await engine.CreateCollectionAsync("products", TestData.ProductSchema(Dim, MetricType.L2) with { Description = "things to buy" });
        await engine.CreateCollectionAsync("empty", new CollectionSchema
        {
            Fields = [FieldSchema.VarCharKey("key", 16), FieldSchema.SparseVector("terms")],
        });
        var rng = new Random(11);
        var rows = Enumerable.Range(0, Rows).Select(i => TestData.ProductRow(rng, i)).ToList();
        await engine.InsertAsync("products", rows);
        return rows;
    }

    public static TheoryData<bool> Targets => new() { false, true };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task EveryBrowseCommand_MatchesTheSeededRows(bool server)
    {
        using var dir = new TempFolder();
        List<Row> rows;
        QuiverServer? host = null;
        TargetSpec spec;
        if (server)
        {
            host = await QuiverServer.StartAsync(new ServerOptions { DataPath = dir.Path, Port = 0 });
            rows = await SeedAsync(host.Engine);
            spec = TargetSpec.Server($"http://127.0.0.1:{host.Port}");
        }
        else
        {
            await using (var engine = await QuiverEngine.OpenAsync(dir.Path))
            {
                rows = await SeedAsync(engine);
            }

            spec = TargetSpec.Folder(dir.Path);
        }

        try
        {
            await CheckAsync(spec, rows);
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static async Task CheckAsync(TargetSpec spec, List<Row> rows)
    {
        var ct = CancellationToken.None;
        var collections = await BrowseCommands.CollectionsAsync(spec, ct);
        Assert.Equal(["empty", "products"], collections.Select(c => c.Name));
        Assert.Equal((0L, 2, "terms SPARSE_FLOAT_VECTOR"), (collections[0].Rows, collections[0].Fields, Assert.Single(collections[0].Vectors)));
        Assert.Equal((Rows, 8, "embedding FLOAT_VECTOR(8) L2", "things to buy"),
            ((int)collections[1].Rows, collections[1].Fields, Assert.Single(collections[1].Vectors), collections[1].Description));

        var described = await BrowseCommands.DescribeAsync(spec, "products", ct);
        Assert.Equal(Rows, described.Rows);
        Assert.Equal(["id", "title", "category", "price", "stock", "tags", "meta", "embedding"], described.Fields.Select(f => f.Name));
        var key = described.Fields[0];
        Assert.True(key.PrimaryKey && !key.AutoId && !key.Nullable);
        Assert.Equal(("VARCHAR", "max_length=128"), (described.Fields[1].Type, described.Fields[1].Params));
        Assert.Equal(("ARRAY<VARCHAR>", true), (described.Fields[5].Type, described.Fields[5].Nullable));
        Assert.Equal(("FLOAT_VECTOR", "dim=8, metric=L2"), (described.Fields[7].Type, described.Fields[7].Params));
        Assert.Contains("_default", described.Partitions);
        Assert.Empty(described.Indexes);

        // count: all rows, and a filter whose answer the test computes from the rows it inserted.
        Assert.Equal(Rows, (await BrowseCommands.CountAsync(spec, "products", "", [], ct)).Count);
        var cheapTech = rows.Where(r => (string)r["category"]! == "tech" && (double)r["price"]! < 100).Select(r => (long)r["id"]!).Order().ToList();
        Assert.Equal(cheapTech.Count, (await BrowseCommands.CountAsync(spec, "products", "category == \"tech\" and price < 100", [], ct)).Count);

        // query: the filtered rows, limited and paged, every scalar field by default, no vectors unless named.
        var page = await BrowseCommands.QueryAsync(spec, new BrowseQueryOptions("products", "category == \"tech\" and price < 100", null, 5, 2, []), ct);
        Assert.Equal(["id", "title", "category", "price", "stock", "tags", "meta"], page.Columns);
        Assert.Equal(cheapTech.Skip(2).Take(5), page.Rows.Select(r => Convert.ToInt64(r["id"], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(page.Rows, r => Assert.False(r.ContainsKey("embedding")));
        var withVector = await BrowseCommands.QueryAsync(spec, new BrowseQueryOptions("products", "id == 7", ["title", "embedding"], 10, 0, []), ct);
        var seven = Assert.Single(withVector.Rows);
        Assert.Equal("product 7", seven["title"]);
        Assert.Equal((float[])rows[7]["embedding"]!, (float[])seven["embedding"]!);

        // search by vector and by id: the brute-force top-k of the same query, in order.
        var query = TestData.Vector(new Random(5), Dim);
        var expected = BruteForce.TopK(rows.Select(r => ((long)r["id"]!, (float[])r["embedding"]!)), query, MetricType.L2, 7).Select(h => h.Key).ToList();
        var byVector = await BrowseCommands.SearchAsync(spec, new BrowseSearchOptions("products", JsonSerializer.Serialize(query), null, null, null, "", ["title"], 7, null), ct);
        Assert.Equal(["rank", "id", "score", "title"], byVector.Columns);
        Assert.Equal(expected, byVector.Rows.Select(r => (long)r["id"]!));
        Assert.Equal(Enumerable.Range(1, 7), byVector.Rows.Select(r => (int)r["rank"]!));
        Assert.Equal($"product {expected[0]}", byVector.Rows[0]["title"]);

        var row42 = (float[])rows[42]["embedding"]!;
        var nearest42 = BruteForce.TopK(rows.Where(r => (double)r["price"]! > 150).Select(r => ((long)r["id"]!, (float[])r["embedding"]!)), row42, MetricType.L2, 5).Select(h => h.Key);
        var byId = await BrowseCommands.SearchAsync(spec, new BrowseSearchOptions("products", null, "42", null, "embedding", "price > 150", null, 5, null), ct);
        Assert.Equal(nearest42, byId.Rows.Select(r => (long)r["id"]!));

        // Mistakes name the problem.
        async Task<string> Refused(BrowseSearchOptions o) => (await Assert.ThrowsAsync<ToolboxException>(() => BrowseCommands.SearchAsync(spec, o, ct))).Message;
        Assert.Contains("exactly one of --vector", await Refused(new BrowseSearchOptions("products", "[1]", "3", null, null, "", null, 5, null)), StringComparison.Ordinal);
        Assert.Contains("has dimension 8", await Refused(new BrowseSearchOptions("products", "[1, 2]", null, null, null, "", null, 5, null)), StringComparison.Ordinal);
        Assert.Contains("no row with that id", await Refused(new BrowseSearchOptions("products", null, "100000", null, null, "", null, 5, null)), StringComparison.Ordinal);
        Assert.Contains("--field 'nope'", await Refused(new BrowseSearchOptions("products", null, "1", null, "nope", "", null, 5, null)), StringComparison.Ordinal);
        Assert.Contains("--limit 0", await Refused(new BrowseSearchOptions("products", null, "1", null, null, "", null, 0, null)), StringComparison.Ordinal);
        var noField = await Assert.ThrowsAsync<ToolboxException>(() => BrowseCommands.QueryAsync(spec, new BrowseQueryOptions("products", "", ["colour"], 5, 0, []), ct));
        Assert.Contains("no field 'colour'", noField.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SearchByText_EmbedsTheQueryWithTheCollectionsFunction()
    {
        string[] docs =
        [
            "A man is playing a guitar on stage.",
            "The stock market fell sharply after the interest rate announcement.",
            "A cat sleeps on a warm windowsill in the afternoon sun.",
            "Quiver is a vector database written in C#.",
        ];
        using var dir = new TempFolder();
        using var providers = new Quiver.Embeddings.EmbeddingProviders();
        await using (var engine = await QuiverEngine.OpenAsync(dir.Path, new QuiverOptions { TextEmbedders = providers }))
        {
            await engine.CreateCollectionAsync("docs", new CollectionSchema
            {
                Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("doc", 256), FieldSchema.Vector("vec", 384, MetricType.Cosine)],
                Functions = [CollectionFunction.TextEmbedding("embed", "doc", "vec", new Dictionary<string, string> { ["provider"] = "local" })],
            });
            await engine.InsertAsync("docs", [.. docs.Select((d, i) => new Row { ["id"] = (long)i, ["doc"] = d })]);
        }

        const string Query = "someone performs music with a guitar";
        var vectors = await providers.LocalModel.EmbedAsync([.. docs, Query], CancellationToken.None);
        var expected = BruteForce.TopK(vectors.Take(docs.Length).Select((v, i) => ((long)i, v)), vectors[^1], MetricType.Cosine, 3).Select(h => h.Key);
        var hits = await BrowseCommands.SearchAsync(TargetSpec.Folder(dir.Path), new BrowseSearchOptions("docs", null, null, Query, null, "", null, 3, null), CancellationToken.None);
        Assert.Equal(expected, hits.Rows.Select(r => (long)r["id"]!));
        Assert.Equal(docs[0], hits.Rows[0]["doc"]);
    }

    [Fact]
    public async Task CommandLine_WritesTablesAndJson()
    {
        using var dir = new TempFolder();
        await using (var engine = await QuiverEngine.OpenAsync(dir.Path))
        {
            await SeedAsync(engine);
        }

        var (code, table, _) = await RunAsync("query", "products", "--data", dir.Path, "--filter", "id < 3", "--fields", "title,price,embedding");
        Assert.Equal(0, code);
        Assert.Contains("product 2", table, StringComparison.Ordinal);
        Assert.Contains("(8 dims)", table, StringComparison.Ordinal);

        (code, var json, _) = await RunAsync("count", "products", "--data", dir.Path, "--filter", "id < 3", "--json");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(3, doc.RootElement.GetProperty("count").GetInt64());
        }

        (code, json, _) = await RunAsync("collections", "--data", dir.Path, "--json");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(["empty", "products"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        }

        (code, _, var err) = await RunAsync("describe", "missing", "--data", dir.Path);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("quiver describe: error:", err, StringComparison.Ordinal);
        Assert.Contains("missing", err, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => QuiverProcess.RunAsync(args);
}
