namespace Quiver.Samples.ProductRecommender;

/// <summary>One product: what the shop shows and sells, and its embedding (what a shop's model would have made of it).</summary>
internal sealed record Product(long Id, string Title, string Category, double Price, bool InStock, float[] Embedding);

/// <summary>A synthetic catalogue, the same for the same seed: each category has a random centre in embedding space and
/// its products lie around it, so that "more like this one" mostly finds the same kind of product, as a real model's
/// vectors would.</summary>
internal static class ProductCatalog
{
    /// <summary>The categories, each with the nouns its titles are made of.</summary>
    public static readonly (string Name, string[] Nouns)[] Categories =
    [
        ("audio", ["headphones", "earbuds", "speaker", "soundbar", "turntable"]),
        ("kitchen", ["chef knife", "frying pan", "kettle", "blender", "cutting board"]),
        ("outdoor", ["tent", "camping stove", "sleeping bag", "head torch", "water filter"]),
        ("books", ["cookbook", "travel guide", "novel", "field guide", "atlas"]),
        ("toys", ["puzzle", "kite", "building set", "board game", "yo-yo"]),
    ];

    private static readonly string[] Adjectives = ["compact", "classic", "deluxe", "lightweight", "rugged", "smart", "vintage", "eco"];

    /// <summary><paramref name="count"/> products with embeddings of <paramref name="dimensions"/>, ids 1 to count.</summary>
    public static Product[] Generate(int seed = 27, int count = 2_000, int dimensions = 32)
    {
        var random = new Random(seed);
        var centres = Categories.Select(_ => Gaussian(random, dimensions, 1.0)).ToArray();
        var products = new Product[count];
        for (var i = 0; i < count; i++)
        {
            var category = random.Next(Categories.Length);
            var noise = Gaussian(random, dimensions, 0.6);
            var embedding = new float[dimensions];
            for (var d = 0; d < dimensions; d++)
            {
                embedding[d] = (float)(centres[category][d] + noise[d]);
            }

            var (name, nouns) = Categories[category];
            var title = $"{Adjectives[random.Next(Adjectives.Length)]} {nouns[random.Next(nouns.Length)]}";
            var price = Math.Round(5 + (random.NextDouble() * 295), 2);
            products[i] = new Product(i + 1, title, name, price, random.NextDouble() < 0.8, embedding);
        }

        return products;
    }

    private static double[] Gaussian(Random random, int dimensions, double scale)
    {
        var values = new double[dimensions];
        for (var d = 0; d < dimensions; d++)
        {
            // Box-Muller: two uniforms make one standard normal.
            var u = 1.0 - random.NextDouble();
            values[d] = scale * Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * random.NextDouble());
        }

        return values;
    }
}
