namespace Quiver.TextAnalysis;

/// <summary>A phrase as PHRASE_MATCH searches it: the distinct terms of the analyzed phrase, each with the offsets (from
/// the phrase's first token) where the phrase holds it, and the slop. A text matches when each phrase token can be given
/// its own text position p such that, over all tokens, max(p - offset) - min(p - offset) &lt;= slop: slop 0 is the exact
/// phrase, slop 1 allows one extra word in between, slop 2 also two swapped words (Lucene's sloppy phrase, which Milvus's
/// examples follow). Immutable and thread-safe.</summary>
internal sealed class PhraseQuery
{
    /// <summary>Most tokens in a phrase after analysis.</summary>
    public const int MaxTokens = 64;

    private PhraseQuery(string[] terms, int[][] offsets, long slop)
    {
        Terms = terms;
        Offsets = offsets;
        Slop = slop;
    }

    /// <summary>The phrase's distinct terms, in order of first appearance.</summary>
    public string[] Terms { get; }

    /// <summary>For each term, its ascending offsets in the phrase.</summary>
    public int[][] Offsets { get; }

    /// <summary>Position moves allowed, 0 or more.</summary>
    public long Slop { get; }

    /// <summary>The query for <paramref name="tokens"/> (an analyzed phrase); null when the phrase has no tokens.</summary>
    public static PhraseQuery? Of(IReadOnlyList<Token> tokens, long slop)
    {
        if (tokens.Count == 0)
            return null;
        var order = new List<string>();
        var offsets = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (!offsets.TryGetValue(token.Text, out var list))
            {
                list = [];
                offsets[token.Text] = list;
                order.Add(token.Text);
            }
            list.Add(token.Position - tokens[0].Position);
        }
        return new PhraseQuery([.. order], [.. order.Select(t => offsets[t].ToArray())], slop);
    }

    /// <summary>Whether a text whose positions of <see cref="Terms"/>[i] are <paramref name="positions"/>[i] (ascending)
    /// holds the phrase. Exact: tries each possible window start (every position minus offset) and fills each term's
    /// offsets greedily with distinct positions, which is optimal because every offset's window has the same width.</summary>
    public bool Matches(ReadOnlySpan<int[]> positions)
    {
        for (var t = 0; t < Terms.Length; t++)
        {
            if (positions[t].Length < Offsets[t].Length)
                return false;
        }
        for (var t = 0; t < Terms.Length; t++)
        {
            foreach (var p in positions[t])
            {
                foreach (var q in Offsets[t])
                {
                    if (Fits((long)p - q, positions))
                        return true;
                }
            }
        }
        return false;
    }

    /// <summary>Whether every phrase token finds its own position whose shift (position - offset) lies in
    /// [start, start + slop].</summary>
    private bool Fits(long start, ReadOnlySpan<int[]> positions)
    {
        for (var t = 0; t < Terms.Length; t++)
        {
            var available = positions[t];
            var next = 0;
            foreach (var q in Offsets[t])
            {
                var low = start + q;
                var found = LowerBound(available, low, next);
                if (found == available.Length || available[found] > low + Slop)
                    return false;
                next = found + 1;
            }
        }
        return true;
    }

    private static int LowerBound(int[] sorted, long value, int from)
    {
        int lo = from, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }
}
