namespace VectorDataOnly;

/// <summary>Seeded synthetic articles and queries (the same for the same seed): each topic has a random direction and
/// its articles lie around it, as a real embedding model's vectors would cluster by subject.</summary>
internal static class SampleData
{
    public static readonly string[] Topics = ["billing", "security", "networking", "storage"];

    private static readonly string[] Subjects = ["overview", "troubleshooting", "limits", "migration", "best practices", "FAQ", "release notes"];

    /// <summary><paramref name="count"/> articles with keys 1 to count.</summary>
    public static Article[] Articles(int seed = 15, int count = 600)
    {
        var random = new Random(seed);
        var centres = Topics.Select(_ => Gaussian(random, 1.0)).ToArray();
        var articles = new Article[count];
        for (var i = 0; i < count; i++)
        {
            var topic = random.Next(Topics.Length);
            var noise = Gaussian(random, 0.7);
            var vector = new float[Article.Dimensions];
            for (var d = 0; d < vector.Length; d++)
            {
                vector[d] = centres[topic][d] + noise[d];
            }

            articles[i] = new Article
            {
                Key = i + 1,
                Title = $"{Topics[topic]} {Subjects[random.Next(Subjects.Length)]} #{i + 1}",
                Topic = Topics[topic],
                Year = 2015 + random.Next(11),
                Embedding = vector,
            };
        }

        return articles;
    }

    /// <summary>Three questions a reader might ask, as query vectors near a topic's articles (one deliberately asked
    /// in a topic other than the one it is near).</summary>
    public static ArticleQuery[] Queries(IReadOnlyList<Article> articles, int seed = 16)
    {
        var random = new Random(seed);
        float[] Near(int key)
        {
            var noise = Gaussian(random, 0.3);
            var vector = articles[key - 1].Embedding.ToArray();
            for (var d = 0; d < vector.Length; d++)
            {
                vector[d] += noise[d];
            }

            return vector;
        }

        return
        [
            new("Why was I charged twice?", Near(7), articles[6].Topic, 2020),
            new("Rotating keys safely", Near(42), articles[41].Topic, 2015),
            new("Near a billing article, asked of networking", Near(7), "networking", 2023),
        ];
    }

    private static float[] Gaussian(Random random, double scale)
    {
        var values = new float[Article.Dimensions];
        for (var d = 0; d < values.Length; d++)
        {
            var u = 1.0 - random.NextDouble();
            values[d] = (float)(scale * Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * random.NextDouble()));
        }

        return values;
    }
}
