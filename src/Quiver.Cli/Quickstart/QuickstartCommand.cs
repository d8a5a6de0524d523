using System.CommandLine;
using System.Globalization;

namespace Quiver.Cli.Quickstart;

/// <summary><c>quiver quickstart</c>: the tutorial's product-search example, run embedded over a local folder.</summary>
internal static class QuickstartCommand
{
    private const string Collection = "products";

    private static readonly (string Title, string Category, double Price)[] Products =
    [
        ("Wireless noise cancelling headphones with 30 hour battery", "tech", 179.99),
        ("Bluetooth wireless earbuds with charging case", "tech", 59.99),
        ("Wired studio headphones for mixing and monitoring", "tech", 99.00),
        ("Noise cancelling wireless headphones for kids", "tech", 45.50),
        ("4K ultra HD smart TV 55 inch", "tech", 499.00),
        ("Mechanical keyboard with wireless bluetooth", "tech", 129.00),
        ("Portable wireless speaker waterproof", "tech", 79.90),
        ("USB-C charging cable 2 pack", "tech", 12.99),
        ("Stainless steel chef knife 8 inch", "home", 64.00),
        ("Non-stick frying pan with glass lid", "home", 39.95),
        ("Robot vacuum cleaner with smart mapping", "home", 249.00),
        ("Memory foam pillow for side sleepers", "home", 49.00),
        ("Cotton bath towels set of 6", "home", 34.50),
        ("The art of computer programming volume 1", "books", 89.99),
        ("A beginner's guide to vector databases and similarity search", "books", 39.00),
        ("Cooking for one: simple recipes", "books", 19.99),
        ("Trail running shoes lightweight", "sports", 119.00),
        ("Yoga mat non-slip extra thick", "sports", 29.99),
        ("Adjustable dumbbells pair 24 kg", "sports", 299.00),
        ("Wireless sport earbuds sweat resistant", "sports", 69.00),
    ];

    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Data folder to use (kept afterwards). Default: a temporary folder, deleted at the end." };
        var command = new Command("quickstart", "Run the product-search tutorial embedded: create a collection, insert products, search with filters.");
        command.Options.Add(data);
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(data), Console.Out, ct));
        return command;
    }

    public static async Task<int> RunAsync(string? folder, TextWriter output, CancellationToken cancellationToken)
    {
        var temporary = folder is null;
        folder ??= Path.Combine(Path.GetTempPath(), $"quiver-quickstart-{Environment.ProcessId}");
        try
        {
            await using var db = await QuiverEngine.OpenAsync(folder, cancellationToken: cancellationToken);
            output.WriteLine($"Opened embedded Quiver at {folder}");
            var embedder = new HashingEmbedder(384);
            if (await db.HasCollectionAsync(Collection, cancellationToken: cancellationToken))
            {
                await db.DropCollectionAsync(Collection, cancellationToken: cancellationToken);
            }

            var schema = new CollectionSchema
            {
                Fields =
                [
                    FieldSchema.Int64Key("id", autoId: true),
                    FieldSchema.VarChar("title", 256),
                    FieldSchema.VarChar("category", 64),
                    FieldSchema.Scalar("price", DataType.Float),
                    FieldSchema.Vector("embedding", embedder.Dimension, MetricType.Cosine),
                ],
                Description = "Product catalog for semantic search",
            };
            await db.CreateCollectionAsync(Collection, schema, cancellationToken: cancellationToken);
            output.WriteLine($"Created collection '{Collection}': id (Int64, auto_id), title, category, price, embedding ({embedder.Dimension}-d, COSINE)");

            var rows = Products.Select(p => (IReadOnlyDictionary<string, object?>)new Row
            {
                ["title"] = p.Title,
                ["category"] = p.Category,
                ["price"] = p.Price,
                ["embedding"] = embedder.Embed(p.Title),
            }).ToList();
            var inserted = await db.InsertAsync(Collection, rows, cancellationToken: cancellationToken);
            output.WriteLine($"Inserted {inserted.Count} products (ids {inserted.Keys[0]}..{inserted.Keys[^1]})");

            // As the tutorial does: seal the rows into a segment and index it with HNSW. With 20 rows the planner still
            // scans the segment exactly (cheaper than a graph walk); collections of thousands of rows go through the index.
            await db.FlushAsync(Collection, cancellationToken: cancellationToken);
            await db.CreateIndexAsync(Collection, new IndexDefinition
            {
                FieldName = "embedding",
                IndexType = "HNSW",
                Params = new Dictionary<string, string> { ["M"] = "16", ["efConstruction"] = "200" },
            }, cancellationToken: cancellationToken);
            await db.WaitForIndexAsync(Collection, cancellationToken: cancellationToken);
            var index = (await db.DescribeIndexesAsync(Collection, cancellationToken: cancellationToken))[0];
            output.WriteLine($"Created index '{index.IndexName}': {index.IndexType} {index.Metric} M=16 efConstruction=200, {index.IndexedRows}/{index.TotalRows} rows indexed ({index.State})");

            const string question = "wireless headphones with noise cancelling";
            await SearchAsync(db, output, embedder, question, "", cancellationToken);
            await SearchAsync(db, output, embedder, question, "category == \"tech\"", cancellationToken);
            await SearchAsync(db, output, embedder, question, "price >= 50 and price <= 200", cancellationToken);
            await SearchAsync(db, output, embedder, "wireless earbuds", "category in [\"tech\", \"sports\"] and price < 100", cancellationToken);

            var count = await db.QueryAsync(Collection, new QueryRequest { Filter = "category == \"home\"", OutputFields = ["count(*)"] }, cancellationToken: cancellationToken);
            output.WriteLine();
            output.WriteLine($"Query: count(*) where category == \"home\" -> {count[0]["count(*)"]}");
            var cheap = await db.QueryAsync(Collection, new QueryRequest { Filter = "price < 30", OutputFields = ["title", "price"], Limit = 5 }, cancellationToken: cancellationToken);
            output.WriteLine("Query: price < 30 ->");
            foreach (var r in cheap)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r["title"],-45} {r["price"],8:0.00}"));
            }

            return 0;
        }
        finally
        {
            if (temporary && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static async Task SearchAsync(QuiverEngine db, TextWriter output, HashingEmbedder embedder, string text, string filter, CancellationToken cancellationToken)
    {
        var result = await db.SearchAsync(Collection, new SearchRequest
        {
            Vectors = [embedder.Embed(text)],
            Limit = 3,
            Filter = filter,
            OutputFields = ["title", "category", "price"],
            SearchParams = new Dictionary<string, string> { ["ef"] = "64" },
        }, cancellationToken: cancellationToken);
        output.WriteLine();
        output.WriteLine($"Search: \"{text}\"{(filter.Length > 0 ? $"  filter: {filter}" : "")}");
        foreach (var hit in result.Hits[0])
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {hit.Score,6:0.000}  {hit.Fields["title"],-60} {hit.Fields["category"],-7} {hit.Fields["price"],8:0.00}"));
        }
    }
}
