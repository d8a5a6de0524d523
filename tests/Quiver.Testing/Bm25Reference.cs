namespace Quiver.Testing;

/// <summary>Okapi BM25 written from its definition, as an oracle for full-text searches: k1 = 1.2 and b = 0.75 (Milvus's
/// defaults), idf = ln(1 + (N − df + 0.5) / (df + 0.5)), documents split into words on spaces (texts made of lowercase
/// words, so the standard analyser keeps exactly these terms), corpus statistics over every document given.</summary>
public static class Bm25Reference
{
    /// <summary>Every document's score for the query's distinct words; 0 when it holds none of them.</summary>
    public static Dictionary<long, double> Scores(IReadOnlyDictionary<long, string> documents, IEnumerable<string> query)
    {
        var docs = documents.ToDictionary(d => d.Key, d => d.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var n = docs.Count;
        var avgdl = docs.Values.Average(d => d.Length);
        var terms = query.Distinct().ToList();
        var scores = new Dictionary<long, double>();
        foreach (var (id, words) in docs)
        {
            double score = 0;
            foreach (var term in terms)
            {
                var df = docs.Values.Count(d => d.Contains(term));
                var tf = words.Count(w => w == term);
                var idf = Math.Log(1 + ((n - df + 0.5) / (df + 0.5)));
                score += idf * tf * 2.2 / (tf + (1.2 * (1 - 0.75 + (0.75 * words.Length / avgdl))));
            }

            scores[id] = score;
        }

        return scores;
    }
}
