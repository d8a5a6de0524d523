namespace Quiver.Testing;

/// <summary>The exact search oracle: scores every candidate in double precision and sorts. Slow on purpose and obviously
/// right, so that engine results (FLAT today, approximate indexes later) are checked against it.</summary>
public static class BruteForce
{
    /// <summary>The engine's score of <paramref name="row"/> for <paramref name="query"/>: squared L2 distance, inner
    /// product, or cosine similarity (0 when either norm is 0).</summary>
    public static double Score(MetricType metric, ReadOnlySpan<float> query, ReadOnlySpan<float> row)
    {
        if (query.Length != row.Length)
        {
            throw new ArgumentException($"dimension mismatch: query {query.Length}, row {row.Length}", nameof(row));
        }

        double dot = 0, l2 = 0, qq = 0, rr = 0;
        for (var i = 0; i < query.Length; i++)
        {
            double q = query[i], r = row[i], d = q - r;
            dot += q * r;
            l2 += d * d;
            qq += q * q;
            rr += r * r;
        }

        return metric switch
        {
            MetricType.L2 => l2,
            MetricType.IP => dot,
            _ => qq == 0 || rr == 0 ? 0 : dot / (Math.Sqrt(qq) * Math.Sqrt(rr)),
        };
    }

    /// <summary>True if score <paramref name="a"/> ranks before <paramref name="b"/> (L2: smaller; IP, cosine: larger).</summary>
    public static bool Better(MetricType metric, double a, double b) => metric == MetricType.L2 ? a < b : a > b;

    /// <summary>Tolerance for comparing a float32 engine score with the double oracle: the float kernels round once per
    /// term, so the error scales with the sum of term magnitudes, here bounded by the vectors' squared norms.</summary>
    public static double Tolerance(MetricType metric, ReadOnlySpan<float> query, ReadOnlySpan<float> row)
    {
        double qq = 0, rr = 0;
        for (var i = 0; i < query.Length; i++)
        {
            qq += (double)query[i] * query[i];
            rr += (double)row[i] * row[i];
        }

        var scale = metric switch
        {
            MetricType.L2 => 2 * (qq + rr),
            MetricType.IP => Math.Sqrt(qq * rr),
            _ => 1.0,
        };
        return 1e-5 + (2e-5 * scale);
    }

    /// <summary>The best <paramref name="k"/> candidates, best first; ties broken by key order so the result is stable.</summary>
    public static List<(TKey Key, double Score)> TopK<TKey>(
        IEnumerable<(TKey Key, float[] Vector)> candidates, float[] query, MetricType metric, int k)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var scored = candidates.Select(c => (c.Key, Score: Score(metric, query, c.Vector))).ToList();
        scored.Sort((a, b) =>
        {
            var byScore = metric == MetricType.L2 ? a.Score.CompareTo(b.Score) : b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : Comparer<TKey>.Default.Compare(a.Key, b.Key);
        });
        return scored.Count > k ? scored.GetRange(0, k) : scored;
    }
}
