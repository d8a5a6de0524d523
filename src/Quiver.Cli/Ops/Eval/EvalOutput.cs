using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox;
using Quiver.Toolbox.Eval;

namespace Quiver.Cli.Ops.Eval;

/// <summary><c>quiver eval</c>'s output: the library's <see cref="EvalRunner"/> run with the command line's progress,
/// the plot of <c>--plot</c>, the metrics as tables or JSON.</summary>
internal static class EvalOutput
{
    /// <summary>Runs the evaluation and writes the report to <paramref name="io"/>.</summary>
    public static Task<EvalResult> RunAsync(EvalOptions options, CliIo io, CancellationToken cancellationToken) =>
        RunAsync(options, io, null, cancellationToken);

    /// <summary>Runs the evaluation, draws the cutoff curve at <paramref name="plotPath"/> (null: none) and writes the
    /// report to <paramref name="io"/>; <paramref name="exactSearch"/> as <see cref="EvalRunner.RunAsync(EvalOptions, ToolReporter, SearchCall?, CancellationToken)"/>.</summary>
    public static async Task<EvalResult> RunAsync(
        EvalOptions options, CliIo io, SearchCall? exactSearch, CancellationToken cancellationToken, string? plotPath = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (plotPath is not null && options.QrelsPath is null)
        {
            throw new ToolboxException("--plot draws the retrieval metrics at cutoffs 1..k and needs --qrels");
        }

        var result = await EvalRunner.RunAsync(options, io, exactSearch, cancellationToken).ConfigureAwait(false);
        if (plotPath is not null)
        {
            EvalPlot.Save(plotPath, result);
            result = result with { PlotWritten = plotPath };
        }

        Write(options, result, io);
        return result;
    }

    /// <summary>Writes <paramref name="r"/> to <paramref name="io"/>: JSON with <c>--json</c>, else the means and, with
    /// <see cref="EvalOptions.PerQuery"/>, the per-query table.</summary>
    public static void Write(EvalOptions options, EvalResult r, CliIo io)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(io);
        if (r.PlotWritten is not null)
        {
            io.Note($"plot written to {r.PlotWritten}");
        }

        if (io.Json)
        {
            io.WriteJson(r);
            return;
        }

        var at = "@" + r.K.ToString(CultureInfo.InvariantCulture);
        var rows = new List<IReadOnlyList<string>> { new[] { "run", r.Run } };
        if (r.Qrels is not null)
        {
            rows.Add(["qrels", r.Qrels]);
        }

        if (r.Mean is { } m)
        {
            rows.Add(["queries judged", m.Queries.ToString(CultureInfo.InvariantCulture)]);
            rows.Add(["P" + at, CliIo.Num(m.Precision)]);
            rows.Add(["R" + at, CliIo.Num(m.Recall)]);
            rows.Add(["MAP" + at, CliIo.Num(m.Map)]);
            rows.Add(["NDCG" + at, CliIo.Num(m.Ndcg)]);
            rows.Add(["MRR" + at, CliIo.Num(m.Mrr)]);
            rows.Add(["hits" + at, CliIo.Num(m.Hits)]);
        }

        if (options.AnnRecall)
        {
            rows.Add(["ANN recall" + at, r.MeanAnnRecall is { } ann ? CliIo.Num(ann) : "-"]);
            rows.Add(["queries (ANN recall)", r.AnnRecallQueries.ToString(CultureInfo.InvariantCulture)]);
        }

        io.WriteTable(["metric", "value"], rows, "eval: means over queries");
        if (!options.PerQuery)
        {
            return;
        }

        // Without qrels only the ANN column has values.
        var retrieval = r.Qrels is not null;
        List<string> headers = retrieval ? ["query", "retrieved", "relevant", "hits" + at, "P" + at, "R" + at, "AP" + at, "NDCG" + at, "RR" + at] : ["query"];
        if (options.AnnRecall)
        {
            headers.Add("ANN recall" + at);
        }

        io.WriteTable(headers, r.PerQuery.Select(q =>
        {
            List<string> cells = [q.QueryId];
            if (retrieval)
            {
                cells.AddRange(q.Metrics is { } qm
                    ?
                    [
                        Count(qm.Retrieved), Count(qm.Relevant), Count(qm.Hits), CliIo.Num(qm.Precision), CliIo.Num(qm.Recall),
                        CliIo.Num(qm.AveragePrecision), CliIo.Num(qm.Ndcg), CliIo.Num(qm.ReciprocalRank),
                    ]
                    : Enumerable.Repeat("-", 8));
            }

            if (options.AnnRecall)
            {
                cells.Add(q.AnnRecall is { } a ? CliIo.Num(a) : "-");
            }

            return (IReadOnlyList<string>)cells;
        }), "per query");
    }

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
