using System.Globalization;
using Quiver.Toolbox;
using Quiver.Toolbox.Tune;
using ScottPlot;

namespace Quiver.Cli.Ops.Tune;

/// <summary>The recall-vs-latency curve of a tuning as a PNG: one point per setting (x: p50 latency for a recall
/// target, p95 for a latency target, in ms; y: recall@k on the tuning queries), labelled with its parameters, the
/// target as a dashed line and the chosen setting as a red dot.</summary>
internal static class TunePlot
{
    /// <summary>Writes the plot of <paramref name="result"/> to <paramref name="path"/> (900 × 600 px).</summary>
    public static void Write(TuneResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        var recallGoal = result.Goal == "recall";
        double X(TuneRun r) => recallGoal ? r.P50Ms : r.P95Ms;
        var runs = result.Sweep;
        var plot = new Plot();
        var xs = runs.Select(X).ToArray();
        var ys = runs.Select(r => r.Recall).ToArray();
        var curve = plot.Add.Scatter(xs, ys);
        curve.LegendText = "sweep";
        curve.MarkerSize = 6;
        foreach (var r in runs)
        {
            var label = plot.Add.Text(string.Join(",", r.Params.Select(p => $"{p.Key}={p.Value.ToString(CultureInfo.InvariantCulture)}")), X(r), r.Recall);
            label.LabelFontSize = 10;
            label.LabelFontColor = Colors.Gray;
        }

        var goal = recallGoal ? plot.Add.HorizontalLine(result.Target) : (ScottPlot.Plottables.AxisLine)plot.Add.VerticalLine(result.Target);
        goal.LinePattern = LinePattern.Dashed;
        goal.Color = Colors.Orange;
        goal.LegendText = recallGoal
            ? string.Create(CultureInfo.InvariantCulture, $"target recall@{result.K} {result.Target}")
            : string.Create(CultureInfo.InvariantCulture, $"target p95 {result.Target} ms");
        if (result.Chosen is { } chosen)
        {
            var dot = plot.Add.Marker(X(chosen), chosen.Recall, MarkerShape.FilledCircle, 12, Colors.Red);
            dot.LegendText = $"chosen {chosen.Effective}";
        }

        plot.Title($"quiver tune {result.Collection}.{result.Field} ({result.IndexType}, k={result.K})");
        plot.XLabel(recallGoal ? "p50 latency (ms)" : "p95 latency (ms)");
        plot.YLabel($"recall@{result.K}");
        plot.ShowLegend(Alignment.LowerRight);
        try
        {
            plot.SavePng(path, 900, 600);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolboxException($"cannot write the plot to '{path}': {e.Message}", e);
        }
    }
}
