namespace Quiver.Testing;

/// <summary>Seeded sparse vectors with a skewed vocabulary (low dimensions are common, as words are), and the exact
/// inner-product oracle sparse searches are checked against.</summary>
public static class SparseData
{
    /// <summary>A vector of <paramref name="minEntries"/>..<paramref name="maxEntries"/> distinct dimensions below
    /// <paramref name="vocabulary"/> with values in (0, 1].</summary>
    public static SparseVector Vector(Random rng, int vocabulary = 2_000, int minEntries = 4, int maxEntries = 40)
    {
        var n = rng.Next(minEntries, maxEntries + 1);
        var pairs = new Dictionary<uint, float>();
        while (pairs.Count < n)
        {
            // Squaring a uniform draw favours small dimensions: a few are in most rows, most in few.
            var u = rng.NextDouble();
            pairs[(uint)(u * u * vocabulary)] = (float)(1 - rng.NextDouble());
        }

        return SparseVector.FromPairs(pairs);
    }

    /// <summary>Exact inner product in double precision, by walking both index lists.</summary>
    public static double Dot(SparseVector a, SparseVector b)
    {
        var map = new Dictionary<uint, float>();
        for (var i = 0; i < a.Count; i++)
        {
            map[a.Indices[i]] = a.Values[i];
        }

        double sum = 0;
        for (var i = 0; i < b.Count; i++)
        {
            if (map.TryGetValue(b.Indices[i], out var v))
            {
                sum += (double)v * b.Values[i];
            }
        }

        return sum;
    }

    /// <summary>The exact top-k (id, score) among <paramref name="rows"/> with a positive score, best first, ties by id.</summary>
    public static List<(long Id, double Score)> TopK(IEnumerable<(long Id, SparseVector Vector)> rows, SparseVector query, int k) =>
        [.. rows.Select(r => (r.Id, Score: Dot(r.Vector, query))).Where(x => x.Score > 0)
            .OrderByDescending(x => x.Score).ThenBy(x => x.Id).Take(k)];
}
