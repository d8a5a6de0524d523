namespace Quiver.Testing;

/// <summary>Seeded data for tests: vectors, schemas and rows.</summary>
public static class TestData
{
    public static float[] Vector(Random rng, int dim)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return v;
    }

    /// <summary>id (Int64 key), title (VarChar 128), category (VarChar 32), price (Double), stock (Int32, nullable),
    /// tags (Array of VarChar), meta (JSON), embedding (FloatVector).</summary>
    public static CollectionSchema ProductSchema(int dim = 8, MetricType metric = MetricType.L2, bool autoId = false, bool dynamic = false) => new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id", autoId),
            FieldSchema.VarChar("title", 128),
            FieldSchema.VarChar("category", 32),
            FieldSchema.Scalar("price", DataType.Double),
            FieldSchema.Scalar("stock", DataType.Int32, nullable: true),
            FieldSchema.Array("tags", DataType.VarChar, maxCapacity: 8, maxLength: 16, nullable: true),
            FieldSchema.Json("meta", nullable: true),
            FieldSchema.Vector("embedding", dim, metric),
        ],
        EnableDynamicField = dynamic,
    };

    public static readonly string[] Categories = ["tech", "home", "books", "toys"];

    public static Row ProductRow(Random rng, long id, int dim = 8, bool withId = true)
    {
        var row = new Row
        {
            ["title"] = $"product {id}",
            ["category"] = Categories[rng.Next(Categories.Length)],
            ["price"] = Math.Round(rng.NextDouble() * 300, 2),
            ["stock"] = rng.Next(4) == 0 ? null : rng.Next(100),
            ["tags"] = rng.Next(3) == 0 ? null : new[] { "t" + rng.Next(5), "u" + rng.Next(3) },
            ["meta"] = $"{{\"color\": \"c{rng.Next(3)}\", \"size\": {rng.Next(10)}}}",
            ["embedding"] = Vector(rng, dim),
        };
        if (withId)
        {
            row["id"] = id;
        }

        return row;
    }
}
