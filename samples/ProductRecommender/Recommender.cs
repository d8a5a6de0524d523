using System.Globalization;

namespace Quiver.Samples.ProductRecommender;

/// <summary>A "more like this one" question: the product looked at, and what the shop can sell ("" for anything).</summary>
internal sealed record Question(long ProductId, string Filter);

/// <summary>The answer to a <see cref="Question"/>: the recommended products, most similar first.</summary>
internal sealed record Recommendation(Question Question, IReadOnlyList<SearchHit> Hits);

/// <summary>The tutorial's flow over the embedded engine: a products collection, the catalogue inserted, and for each
/// question the product's stored vector read back and searched with, the product itself left out by the filter.</summary>
internal static class Recommender
{
    /// <summary>How many products each recommendation shows.</summary>
    public const int Limit = 5;

    /// <summary>The questions the sample asks: anything like product 17; only what is in stock under 100; and, for
    /// product 503 (a toy), only other categories (the shop's "complete the look"); for product 1200 (a book), books and
    /// toys in stock.</summary>
    public static readonly Question[] Questions =
    [
        new(17, ""),
        new(17, "in_stock and price < 100"),
        new(503, "category != \"toys\""),
        new(1_200, "category in [\"books\", \"toys\"] and in_stock"),
    ];

    public static CollectionSchema Schema(int dimensions) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.VarChar("title", 128),
            FieldSchema.VarChar("category", 32),
            FieldSchema.Scalar("price", DataType.Double),
            FieldSchema.Scalar("in_stock", DataType.Bool),
            FieldSchema.Vector("embedding", dimensions, MetricType.Cosine),
        ],
    };

    /// <summary>Creates the collection in <paramref name="folder"/>, inserts <paramref name="catalog"/>, answers
    /// <paramref name="questions"/> and writes the answers to <paramref name="output"/>.</summary>
    public static async Task<IReadOnlyList<Recommendation>> RunAsync(string folder, IReadOnlyList<Product> catalog, IReadOnlyList<Question> questions, TextWriter output)
    {
        await using var db = await QuiverEngine.OpenAsync(folder);
        await db.CreateCollectionAsync("products", Schema(catalog[0].Embedding.Length));
        await db.InsertAsync("products", [.. catalog.Select(p => new Row
        {
            ["id"] = p.Id, ["title"] = p.Title, ["category"] = p.Category, ["price"] = p.Price, ["in_stock"] = p.InStock, ["embedding"] = p.Embedding,
        })]);
        output.WriteLine($"{db.CountRows("products")} products in the catalogue");

        var answers = new List<Recommendation>();
        foreach (var question in questions)
        {
            var item = (await db.GetAsync("products", [question.ProductId], outputFields: ["title", "category", "embedding"]))[0];
            var similar = await db.SearchAsync("products", new SearchRequest
            {
                Vectors = [(float[])item["embedding"]!],
                Limit = Limit,
                Filter = question.Filter.Length == 0 ? "id != {id}" : $"id != {{id}} and ({question.Filter})",
                FilterParams = new Dictionary<string, object?> { ["id"] = question.ProductId },
                OutputFields = ["title", "category", "price", "in_stock"],
            });
            output.WriteLine();
            output.WriteLine($"more like #{question.ProductId} '{item["title"]}' ({item["category"]}){(question.Filter.Length == 0 ? "" : $" where {question.Filter}")}:");
            foreach (var hit in similar.Hits[0])
            {
                var stock = (bool)hit.Fields["in_stock"]! ? "in stock" : "sold out";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  #{hit.Id,-5} {hit.Fields["title"],-26} {hit.Fields["category"],-8} {(double)hit.Fields["price"]!,7:F2}  {stock,-8}  similarity {hit.Score:F3}"));
            }

            answers.Add(new Recommendation(question, similar.Hits[0]));
        }

        return answers;
    }
}
