using System.Globalization;
using Quiver.Toolbox.Eval;

namespace Quiver.Cli.Ops.Eval;

/// <summary>The <c>--plot</c> PNG of <c>quiver eval</c>: mean precision, recall and NDCG at every cutoff i = 1..k.
/// Chosen over a histogram of per-query NDCG@k because it answers what one number at one k cannot: how many results
/// to fetch (for a re-ranker or a prompt) before recall stops growing, and what each extra result costs in precision;
/// the per-query spread is in <c>--per-query</c> and the JSON.</summary>
internal static class EvalPlot
{
    /// <summary>Writes the curve of <paramref name="result"/> (which must have one, i.e. come from a qrels evaluation)
    /// to <paramref name="path"/> as an 800 x 500 PNG.</summary>
    public static void Save(string path, EvalResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var curve = result.Curve ?? throw new ArgumentException("the result has no cutoff curve (no qrels)", nameof(result));
        var xs = Enumerable.Range(1, result.K).Select(i => (double)i).ToArray();
        var plot = new ScottPlot.Plot();
        foreach (var (ys, label) in new[] { (curve.Precision, "precision@i"), (curve.Recall, "recall@i"), (curve.Ndcg, "NDCG@i") })
        {
            var line = plot.Add.Scatter(xs, ys.ToArray());
            line.LegendText = label;
            line.MarkerSize = result.K <= 30 ? 5 : 0;
        }

        plot.Axes.SetLimitsY(0, 1.05);
        plot.Axes.SetLimitsX(0.5, result.K + 0.5);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.XLabel("cutoff i (results considered)");
        plot.YLabel(string.Create(CultureInfo.InvariantCulture, $"mean over {result.Mean?.Queries ?? 0} judged queries"));
        plot.Title($"eval: {result.Run}");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 800, 500);
    }
}
