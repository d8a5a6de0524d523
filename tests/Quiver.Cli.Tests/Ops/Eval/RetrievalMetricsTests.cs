using Quiver.Toolbox.Eval;

namespace Quiver.Cli.Tests.Ops.Eval;

public sealed class RetrievalMetricsTests
{
    private const double Tolerance = 1e-9;

    private static QueryJudgments Judgments(params (string Doc, int Grade)[] grades)
    {
        var j = new QueryJudgments { QueryId = "q" };
        foreach (var (doc, grade) in grades)
        {
            Assert.True(j.TryAdd(doc, grade));
        }

        return j;
    }

    [Fact]
    public void Evaluate_GradedList_MatchesHandComputedValues()
    {
        // qrels: d1 = 3, d2 = 1, d3 = 0 (judged non-relevant), d4 = 2  ->  R = 3, ideal gains 3, 2, 1.
        // run:   d3, d1, d5 (unjudged), d2, d4; k = 4, so d4 (rank 5) is cut off.
        // relevant at ranks 2 (d1, grade 3) and 4 (d2, grade 1): hits@4 = 2.
        // P@4  = 2 / 4 = 0.5
        // R@4  = 2 / 3
        // AP@4 = (P@2 + P@4) / R = (1/2 + 2/4) / 3 = 1/3   (divided by R = 3, not by the 2 found)
        // RR   = 1 / 2 (first relevant at rank 2)
        // DCG@4  = 3 / log2(3) + 1 / log2(5)            = 1.892789 + 0.430677 = 2.323466
        // IDCG@4 = 3 / log2(2) + 2 / log2(3) + 1 / log2(4) = 3 + 1.261860 + 0.5 = 4.761860
        // NDCG@4 = 2.323466 / 4.761860 = 0.487932
        var j = Judgments(("d1", 3), ("d2", 1), ("d3", 0), ("d4", 2));
        var m = RetrievalMetrics.Evaluate(["d3", "d1", "d5", "d2", "d4"], j, 4);

        Assert.Equal(5, m.Retrieved);
        Assert.Equal(3, m.Relevant);
        Assert.Equal(2, m.Hits);
        Assert.Equal(0.5, m.Precision, Tolerance);
        Assert.Equal(2.0 / 3, m.Recall, Tolerance);
        Assert.Equal(1.0 / 3, m.AveragePrecision, Tolerance);
        Assert.Equal(0.5, m.ReciprocalRank, Tolerance);
        var dcg = (3 / Math.Log2(3)) + (1 / Math.Log2(5));
        var idcg = 3 + (2 / Math.Log2(3)) + 0.5;
        Assert.Equal(dcg / idcg, m.Ndcg, Tolerance);
        Assert.Equal(0.487932, m.Ndcg, 1e-6);
    }

    [Fact]
    public void Evaluate_Curve_GivesEveryCutoff()
    {
        // Same data as above. Ranks: 1 d3 (0), 2 d1 (3), 3 d5 (unjudged), 4 d2 (1).
        // P@i:  0/1, 1/2, 1/3, 2/4
        // R@i:  0, 1/3, 1/3, 2/3
        // NDCG@1 = 0 / 3; NDCG@2 = (3/log2 3) / (3 + 2/log2 3); NDCG@3 = same DCG / (IDCG@2 + 1/log2 4).
        var j = Judgments(("d1", 3), ("d2", 1), ("d3", 0), ("d4", 2));
        double[] p = new double[4], r = new double[4], n = new double[4];
        RetrievalMetrics.Evaluate(["d3", "d1", "d5", "d2", "d4"], j, 4, p, r, n);

        Assert.Equal([0, 0.5, 1.0 / 3, 0.5], p);
        Assert.Equal([0, 1.0 / 3, 1.0 / 3, 2.0 / 3], r);
        var dcg2 = 3 / Math.Log2(3);
        var idcg2 = 3 + (2 / Math.Log2(3));
        Assert.Equal(0, n[0]);
        Assert.Equal(dcg2 / idcg2, n[1], Tolerance);
        Assert.Equal(dcg2 / (idcg2 + 0.5), n[2], Tolerance);
    }

    [Fact]
    public void Evaluate_ShortList_DividesPrecisionByK()
    {
        // One relevant document retrieved at rank 1 of a one-document list, k = 5:
        // P@5 = 1 / 5 (trec_eval's P_k divides by k, not by the number retrieved); R = AP = RR = NDCG = 1.
        var m = RetrievalMetrics.Evaluate(["a"], Judgments(("a", 1)), 5);
        Assert.Equal(0.2, m.Precision, Tolerance);
        Assert.Equal(1, m.Recall, Tolerance);
        Assert.Equal(1, m.AveragePrecision, Tolerance);
        Assert.Equal(1, m.Ndcg, Tolerance);
        Assert.Equal(1, m.ReciprocalRank, Tolerance);
    }

    [Fact]
    public void Evaluate_GradedNdcg_RewardsTheHigherGradeFirst()
    {
        // qrels a = 2, b = 1. Ideal order a, b: IDCG@2 = 2/1 + 1/log2(3) = 2.630930.
        // Run b, a: DCG@2 = 1/1 + 2/log2(3) = 2.261860 -> NDCG = 0.859719. Run a, b: NDCG = 1.
        // Both have P, R, AP and RR of 1: only NDCG sees the grades.
        var j = Judgments(("a", 2), ("b", 1));
        var swapped = RetrievalMetrics.Evaluate(["b", "a"], j, 2);
        var ideal = RetrievalMetrics.Evaluate(["a", "b"], j, 2);

        Assert.Equal((1 + (2 / Math.Log2(3))) / (2 + (1 / Math.Log2(3))), swapped.Ndcg, Tolerance);
        Assert.Equal(0.859719, swapped.Ndcg, 1e-6);
        Assert.Equal(1, ideal.Ndcg, Tolerance);
        Assert.Equal(ideal.AveragePrecision, swapped.AveragePrecision, Tolerance);
    }

    [Fact]
    public void Evaluate_NoRelevantJudged_GivesZeros()
    {
        // R = 0: recall, AP and NDCG are 0/0, taken as 0 (trec_eval's values); the runner leaves such queries out.
        var m = RetrievalMetrics.Evaluate(["a", "b"], Judgments(("a", 0), ("b", -1)), 2);
        Assert.Equal(0, m.Relevant);
        Assert.Equal((0, 0.0, 0.0, 0.0, 0.0, 0.0), (m.Hits, m.Precision, m.Recall, m.AveragePrecision, m.Ndcg, m.ReciprocalRank));
    }

    [Fact]
    public void Deduplicate_KeepsTheBestRank()
    {
        var (ranked, removed) = RetrievalMetrics.Deduplicate(["a", "b", "a", "c", "b"]);
        Assert.Equal(["a", "b", "c"], ranked);
        Assert.Equal(2, removed);
    }

    [Fact]
    public void Mean_AveragesEachMetric()
    {
        // MAP = (1 + 0.5) / 2, MRR = (1 + 0.25) / 2, hits = (3 + 1) / 2.
        var mean = RetrievalMetrics.Mean([new QueryMetrics(5, 3, 3, 0.6, 1, 1, 1, 1), new QueryMetrics(5, 2, 1, 0.2, 0.5, 0.5, 0.4, 0.25)]);
        Assert.Equal(2, mean.Queries);
        Assert.Equal(0.4, mean.Precision, Tolerance);
        Assert.Equal(0.75, mean.Recall, Tolerance);
        Assert.Equal(0.75, mean.Map, Tolerance);
        Assert.Equal(0.7, mean.Ndcg, Tolerance);
        Assert.Equal(0.625, mean.Mrr, Tolerance);
        Assert.Equal(2, mean.Hits, Tolerance);
    }

    [Fact]
    public void AnnRecall_CountsExactKeysFound()
    {
        // exact top 4: 1 2 3 4; approximate: 1 3 9 8 -> 2 of 4.
        Assert.Equal(0.5, RetrievalMetrics.AnnRecall(["1", "3", "9", "8"], ["1", "2", "3", "4"], 4));

        // Only the first k of each count: the approximate "4" at rank 5 is outside k = 4.
        Assert.Equal(0.25, RetrievalMetrics.AnnRecall(["1", "7", "8", "9", "4"], ["1", "2", "3", "4"], 4));

        // Fewer exact results than k (a filter): recall against what exists.
        Assert.Equal(1, RetrievalMetrics.AnnRecall(["5", "6"], ["6", "5"], 10));
        Assert.Null(RetrievalMetrics.AnnRecall([], [], 10));
    }
}
