using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Indexing;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Ops.Tune;

/// <summary><c>quiver tune</c>'s output: the library's <see cref="Tuner"/> run with the command line's progress, the
/// plot of <c>--plot</c>, the sweep as a table or JSON.</summary>
internal static class TuneOutput
{
    /// <summary>Runs the sweep, draws the recall-vs-latency PNG at <paramref name="plotPath"/> (null: none) and writes
    /// the result to <paramref name="io"/>.</summary>
    public static async Task<TuneResult> RunAsync(TuneOptions options, CliIo io, CancellationToken cancellationToken, string? plotPath = null)
    {
        var result = await Tuner.RunAsync(options, io, cancellationToken).ConfigureAwait(false);
        if (plotPath is not null && result.Tunable)
        {
            TunePlot.Write(result, plotPath);
            result = result with { PlotPath = plotPath };
        }

        Write(io, result);
        return result;
    }

    /// <summary>Writes <paramref name="r"/> to <paramref name="io"/>: JSON with <c>--json</c>, else a table.</summary>
    public static void Write(CliIo io, TuneResult r)
    {
        if (io.Json)
        {
            io.WriteJson(r, CliIo.ExitCodeOf(r));
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        if (!r.Tunable)
        {
            io.Out.WriteLine($"tune {r.Collection}.{r.Field}: {r.Summary}");
            return;
        }

        var index = $"{r.IndexType} {new IndexParameters(r.IndexParams ?? new Dictionary<string, string>()).ToJson()}";
        var source = r.SelfExcluded ? "sampled from the collection, each query's own row left out" : $"from {r.QuerySource}";
        var filter = r.Filter is null ? "" : $"; filter {r.Filter}";
        io.Out.WriteLine(string.Create(inv,
            $"tune {r.Collection}.{r.Field}: {index}, {r.Metric}, k={r.K}; {r.TuningQueries} tuning + {r.HeldOutQueries} held-out queries ({source}){filter}"));
        io.Out.WriteLine(r.Goal == "recall"
            ? string.Create(inv, $"target: recall@{r.K} >= {r.Target}, cheapest setting")
            : string.Create(inv, $"target: p95 <= {r.Target} ms, most accurate setting"));
        io.WriteTable(
            ["setting", $"recall@{r.K}", "p50 ms", "p95 ms", "p99 ms", "QPS", "meets", "chosen"],
            r.Sweep.Select(s => (IReadOnlyList<string>)
            [
                s.Effective, s.Recall.ToString("0.0000", inv), s.P50Ms.ToString("0.000", inv), s.P95Ms.ToString("0.000", inv),
                s.P99Ms.ToString("0.000", inv), s.Qps.ToString("0", inv), s.MeetsTarget ? "yes" : "no", s.Chosen ? "<== chosen" : "",
            ]),
            "sweep (tuning queries)");
        io.Out.WriteLine(r.Summary);
        if (r.SavedProperty is not null)
        {
            io.Out.WriteLine($"saved: {r.SavedProperty} = {r.SavedValue} (searches that set no parameter use it)");
        }

        if (r.PlotPath is not null)
        {
            io.Out.WriteLine($"plot: {r.PlotPath}");
        }

        io.Out.Flush();
    }
}
