namespace Quiver.Testing;

/// <summary>The hybrid search oracle, written apart from the engine: each search by brute force (<see cref="BruteForce"/>)
/// over the rows a test keeps, then the fusion as Milvus's rerankers define it (reciprocal rank fusion 1 / (k + rank);
/// weighted sums of scores, normalized per metric when asked: COSINE (1 + s) / 2, IP 1/2 + atan(s) / π, L2
/// 1 − 2·atan(d) / π; single-precision sums; equal scores by id; groups by their best hit, then size, then first id).</summary>
public static class HybridOracle
{
    /// <summary>Seeded rows for hybrid tests: <c>id</c> 0..count-1, a <c>color</c> from <paramref name="colors"/>, <c>n</c>
    /// = id mod 10, and a random vector per field of <paramref name="vectors"/> (name and dimension).</summary>
    public static List<Row> Rows(int seed, int count, string[] colors, params (string Field, int Dim)[] vectors)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var row = new Row { ["id"] = (long)i, ["color"] = colors[rng.Next(colors.Length)], ["n"] = (long)(i % 10) };
            foreach (var (field, dim) in vectors)
            {
                row[field] = TestData.Vector(rng, dim);
            }

            return row;
        })];
    }

    /// <summary>A row as the oracle sees it: its key, the vector of the searched field and its group value.</summary>
    public readonly record struct Candidate(long Id, float[] Vector, string Group);

    /// <summary>A hit of one search: its key, its exact score and its group value.</summary>
    public readonly record struct Hit(long Id, double Score, string Group);

    /// <summary>One search for one query: the best <paramref name="limit"/> rows (or, with <paramref name="groupSize"/>,
    /// the best <paramref name="limit"/> groups of at most that many rows, each group's rows together, groups ordered by
    /// their best row).</summary>
    public static List<Hit> Search(IEnumerable<Candidate> rows, float[] query, MetricType metric, int limit, int? groupSize = null)
    {
        var all = BruteForce.TopK(rows.Select(r => (r.Id, r.Vector)), query, metric, int.MaxValue);
        var groupOf = rows.ToDictionary(r => r.Id, r => r.Group);
        if (groupSize is not { } size)
        {
            return [.. all.Take(limit).Select(h => new Hit(h.Key, h.Score, groupOf[h.Key]))];
        }

        var groups = new List<List<Hit>>();
        foreach (var (id, score) in all)
        {
            var group = groups.Find(g => g[0].Group == groupOf[id]);
            if (group is null)
            {
                if (groups.Count == limit)
                {
                    continue;
                }

                group = [];
                groups.Add(group);
            }

            if (group.Count < size)
            {
                group.Add(new Hit(id, score, groupOf[id]));
            }
        }

        return [.. groups.SelectMany(g => g)];
    }

    /// <summary>Fuses the hits of several searches (in request order) into the final list: ids and fused scores, best
    /// first, <paramref name="offset"/> hits (groups) skipped and <paramref name="limit"/> hits (groups) kept.</summary>
    /// <param name="perSearch">Each search's hits, best first.</param>
    /// <param name="metrics">Each search's metric.</param>
    /// <param name="rrfK">Reciprocal rank fusion with this k, or null for weighted fusion.</param>
    /// <param name="weights">The weighted fusion's weights.</param>
    /// <param name="normalize">Whether the weighted fusion normalizes scores.</param>
    /// <param name="limit">Hits (groups) kept.</param>
    /// <param name="offset">Hits (groups) skipped.</param>
    /// <param name="groupSize">Hits per group when grouping, else null.</param>
    public static List<(long Id, float Score)> Fuse(IReadOnlyList<List<Hit>> perSearch, IReadOnlyList<MetricType> metrics, double? rrfK,
        IReadOnlyList<float>? weights, bool normalize, int limit, int offset, int? groupSize = null)
    {
        var similarities = metrics.Count(m => m != MetricType.L2);
        var mixed = similarities > 0 && similarities < metrics.Count;
        var descending = rrfK is not null || normalize || similarities > 0;
        var fused = new Dictionary<long, float>();
        var groupOf = new Dictionary<long, string>();
        for (var i = 0; i < perSearch.Count; i++)
        {
            for (var rank = 0; rank < perSearch[i].Count; rank++)
            {
                var hit = perSearch[i][rank];
                groupOf[hit.Id] = hit.Group;
                var part = rrfK is { } k
                    ? 1f / ((float)k + (rank + 1))
                    : weights![i] * Weighted(metrics[i], (float)hit.Score, normalize, mixed);
                fused[hit.Id] = fused.TryGetValue(hit.Id, out var sum) ? sum + part : part;
            }
        }

        var ranked = fused.Select(p => (Id: p.Key, Score: p.Value)).ToList();
        ranked.Sort((a, b) =>
        {
            var byScore = descending ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
            return byScore != 0 ? byScore : a.Id.CompareTo(b.Id);
        });
        if (groupSize is not { } size)
        {
            return [.. ranked.Skip(offset).Take(limit)];
        }

        var groups = ranked.GroupBy(h => groupOf[h.Id]).Select(g => g.Take(size).ToList()).ToList();
        groups.Sort((a, b) =>
        {
            var byScore = descending ? b[0].Score.CompareTo(a[0].Score) : a[0].Score.CompareTo(b[0].Score);
            return byScore != 0 ? byScore : b.Count != a.Count ? b.Count.CompareTo(a.Count) : a[0].Id.CompareTo(b[0].Id);
        });
        return [.. groups.Skip(offset).Take(limit).SelectMany(g => g)];
    }

    private static float Weighted(MetricType metric, float score, bool normalize, bool mixed)
    {
        if (!normalize && !(mixed && metric == MetricType.L2))
        {
            return score;
        }

        var atan = (float)Math.Atan(score);
        return metric switch
        {
            MetricType.L2 => 1f - (2f * atan / (float)Math.PI),
            MetricType.IP => 0.5f + (atan / (float)Math.PI),
            _ => (1f + score) * 0.5f,
        };
    }
}
