namespace Quiver.Toolbox.Eval;

/// <summary>The retrieval metrics of one query at cutoff k (see <see cref="RetrievalMetrics"/> for the formulas).</summary>
/// <param name="Retrieved">Documents in the ranked list after removing duplicates (all of them, not only the top k).</param>
/// <param name="Relevant">R: documents with grade &gt; 0 in the qrels.</param>
/// <param name="Hits">Relevant documents in the top k.</param>
/// <param name="Precision">P@k = hits / k.</param>
/// <param name="Recall">R@k = hits / R.</param>
/// <param name="AveragePrecision">AP@k = (1/R) * sum of P@i over the ranks i &lt;= k holding a relevant document.</param>
/// <param name="Ndcg">NDCG@k = DCG@k / IDCG@k with linear gains.</param>
/// <param name="ReciprocalRank">1 / the rank of the first relevant document within k; 0 if none.</param>
public sealed record QueryMetrics(
    int Retrieved, int Relevant, int Hits, double Precision, double Recall, double AveragePrecision, double Ndcg, double ReciprocalRank)
{
    /// <summary>The metrics of a query with no results: every value 0.</summary>
    public static QueryMetrics NoResults(int relevant) => new(0, relevant, 0, 0, 0, 0, 0, 0);
}

/// <summary>Means over queries of <see cref="QueryMetrics"/>: each value is the arithmetic mean of the per-query values
/// (MAP is the mean of AP, MRR the mean of RR, hits the mean count).</summary>
public sealed record MeanMetrics(int Queries, double Precision, double Recall, double Map, double Ndcg, double Mrr, double Hits);

/// <summary>Precision, recall and NDCG at every cutoff 1..K, for the curve plot; index i holds cutoff i + 1.</summary>
public sealed record CutoffCurve(IReadOnlyList<double> Precision, IReadOnlyList<double> Recall, IReadOnlyList<double> Ndcg);

/// <summary>
/// Retrieval metrics of one ranked list against graded relevance judgments, following trec_eval's conventions.
/// Notation: the ranked list d_1, d_2, ... (best first, duplicates removed, see <see cref="Deduplicate"/>), cutoff k,
/// rel(d) the document's grade in the qrels (0 when unjudged), relevant means rel &gt; 0, R the number of relevant
/// documents of the query in the qrels, hits@k = |{ i &lt;= k : rel(d_i) &gt; 0 }|.
/// <list type="bullet">
/// <item>P@k = hits@k / k. The divisor is k even when fewer than k documents were retrieved (trec_eval's P_k).</item>
/// <item>R@k = hits@k / R.</item>
/// <item>AP@k = (1/R) * sum over i &lt;= k with rel(d_i) &gt; 0 of P@i: average precision over the retrieved list cut at k,
/// divided by all R relevant documents in the qrels, not min(R, k) (trec_eval's map_cut_k). MAP@k is its mean.</item>
/// <item>NDCG@k = DCG@k / IDCG@k, DCG@k = sum over i &lt;= k of gain(d_i) / log2(i + 1) with linear gain = max(rel, 0)
/// (trec_eval's ndcg_cut_k, not the exponential 2^rel - 1 of some other tools); IDCG@k is the DCG of the qrels' own
/// positive grades sorted largest first, cut at k.</item>
/// <item>RR@k = 1 / the rank of the first relevant document within the top k, 0 if there is none. MRR@k is its mean.</item>
/// </list>
/// A query with R = 0 has recall, AP and NDCG 0 by these definitions (0/0 taken as 0, as trec_eval does);
/// <see cref="EvalRunner"/> leaves such queries out of the means instead. Pure functions; thread-safe.
/// </summary>
internal static class RetrievalMetrics
{
    /// <summary>The metrics of <paramref name="ranked"/> (best first, no duplicates) at cutoff <paramref name="k"/>.
    /// P@i, R@i and NDCG@i for every cutoff i &lt;= k are also written to <paramref name="precisionAt"/>,
    /// <paramref name="recallAt"/> and <paramref name="ndcgAt"/> at index i - 1, as far as each span reaches (caller-owned;
    /// leave them empty to skip).</summary>
    public static QueryMetrics Evaluate(
        IReadOnlyList<string> ranked, QueryJudgments judgments, int k, Span<double> precisionAt = default, Span<double> recallAt = default,
        Span<double> ndcgAt = default)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(judgments);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var r = judgments.RelevantCount;
        var ideal = judgments.IdealGains;
        int hits = 0;
        double dcg = 0, idcg = 0, apSum = 0, rr = 0;
        for (var i = 1; i <= k; i++)
        {
            var discount = Math.Log2(i + 1);
            if (i <= ideal.Length)
            {
                idcg += ideal[i - 1] / discount;
            }

            if (i <= ranked.Count && judgments.GradeOf(ranked[i - 1]) is var grade && grade > 0)
            {
                hits++;
                dcg += grade / discount;
                apSum += (double)hits / i;
                if (rr == 0)
                {
                    rr = 1.0 / i;
                }
            }

            if (i <= precisionAt.Length)
            {
                precisionAt[i - 1] = (double)hits / i;
            }

            if (i <= recallAt.Length)
            {
                recallAt[i - 1] = r == 0 ? 0 : (double)hits / r;
            }

            if (i <= ndcgAt.Length)
            {
                ndcgAt[i - 1] = idcg == 0 ? 0 : dcg / idcg;
            }
        }

        return new QueryMetrics(
            ranked.Count,
            r,
            hits,
            (double)hits / k,
            r == 0 ? 0 : (double)hits / r,
            r == 0 ? 0 : apSum / r,
            idcg == 0 ? 0 : dcg / idcg,
            rr);
    }

    /// <summary>Removes repeated documents, keeping each at its first (best) rank: a document retrieved twice counts
    /// once, where it ranks best, and the documents after it move up. Returns the list and how many were removed.
    /// (trec_eval refuses a run with duplicates; here they arise naturally when several rows, e.g. chunks, map to one
    /// document through <c>--id-field</c>.)</summary>
    public static (List<string> Ranked, int Removed) Deduplicate(IEnumerable<string> ranked)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kept = new List<string>();
        var removed = 0;
        foreach (var doc in ranked)
        {
            if (seen.Add(doc))
            {
                kept.Add(doc);
            }
            else
            {
                removed++;
            }
        }

        return (kept, removed);
    }

    /// <summary>The means of <paramref name="perQuery"/> (all zeros for no queries).</summary>
    public static MeanMetrics Mean(IReadOnlyCollection<QueryMetrics> perQuery)
    {
        ArgumentNullException.ThrowIfNull(perQuery);
        var n = perQuery.Count;
        if (n == 0)
        {
            return new MeanMetrics(0, 0, 0, 0, 0, 0, 0);
        }

        return new MeanMetrics(
            n,
            perQuery.Average(m => m.Precision),
            perQuery.Average(m => m.Recall),
            perQuery.Average(m => m.AveragePrecision),
            perQuery.Average(m => m.Ndcg),
            perQuery.Average(m => m.ReciprocalRank),
            perQuery.Average(m => (double)m.Hits));
    }

    /// <summary>ANN recall@k of one query: the share of the exact top-k row keys (<paramref name="exact"/>, at most k)
    /// that the approximate search found among its own top k (<paramref name="approximate"/>). Null when the exact
    /// search found nothing (there is nothing to recall).</summary>
    public static double? AnnRecall(IReadOnlyList<string> approximate, IReadOnlyList<string> exact, int k)
    {
        ArgumentNullException.ThrowIfNull(approximate);
        ArgumentNullException.ThrowIfNull(exact);
        var truth = exact.Take(k).ToHashSet(StringComparer.Ordinal);
        if (truth.Count == 0)
        {
            return null;
        }

        var found = approximate.Take(k).Distinct(StringComparer.Ordinal).Count(truth.Contains);
        return (double)found / truth.Count;
    }
}
