using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Tune;

namespace Quiver.Cli.Ops.Advise;

/// <summary><c>quiver advise</c>'s output: the library's <see cref="Advisor"/> run with the command line's progress,
/// the candidates as a table or JSON.</summary>
internal static class AdviseOutput
{
    /// <summary>Runs the advice and writes it to <paramref name="io"/>.</summary>
    public static async Task<AdviceResult> RunAsync(AdviseOptions options, CliIo io, CancellationToken cancellationToken)
    {
        var result = await Advisor.RunAsync(options, io, cancellationToken).ConfigureAwait(false);
        Write(io, result);
        return result;
    }

    /// <summary>Writes <paramref name="r"/> to <paramref name="io"/>: JSON with <c>--json</c>, else a table.</summary>
    public static void Write(CliIo io, AdviceResult r)
    {
        if (io.Json)
        {
            io.WriteJson(r, CliIo.ExitCodeOf(r));
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        io.Out.WriteLine(string.Create(inv,
            $"advise: {r.PlannedRows:N0} rows x {r.Dimension} ({r.Metric}) in {r.Segments:N0} segment(s) of up to {r.SegmentRows:N0} rows; measured on {r.SampleRows:N0} rows of {r.Source} with {r.Queries} queries"));
        var latency = r.TargetLatencyMs is { } l ? string.Create(inv, $", expected p99 <= {l} ms") : "";
        var memory = r.MemoryBudgetBytes is { } b ? $", memory <= {ByteSize.Format(b)} ({r.MemoryBudgetSource})" : "";
        io.Out.WriteLine(string.Create(inv, $"targets: recall@{r.K} >= {r.TargetRecall}{latency}{memory}"));
        io.Out.WriteLine($"scenario: {r.Scenario}");
        io.WriteTable(
            ["index", "build params", "search params", $"recall@{r.K}", "sample p50 ms", "expected p50 ms", "expected p99 ms", "index memory", "budgeted", "build s", "verdict"],
            r.Candidates.Select(c => (IReadOnlyList<string>)
            [
                c.Name, Json(c.BuildParams), c.Measured ? Json(c.SearchParams) : "-", c.Measured ? c.SampleRecall.ToString("0.000", inv) : "-",
                c.Measured ? c.SampleP50Ms.ToString("0.000", inv) : "-", c.Measured ? c.ExpectedP50Ms.ToString("0.###", inv) : "-",
                c.Measured ? c.ExpectedP99Ms.ToString("0.###", inv) : "-", ByteSize.Format(c.IndexBytes), ByteSize.Format(c.BudgetBytes),
                c.Measured ? c.BuildSeconds.ToString("0.00", inv) : "-", (c.Chosen ? "<== " : "") + c.Reason,
            ]),
            "candidates (recall from the sample; latency and memory at the planned size)");
        io.Out.WriteLine(r.Summary);
        io.Out.WriteLine($"AUTOINDEX under this budget: {r.AutoIndex}");
        io.Out.WriteLine($"latency model: {r.LatencyModel}. Memory: IndexMemory per segment; raw vectors ({ByteSize.Format(r.Candidates.FirstOrDefault()?.RawBytes ?? 0)}) stay memory-mapped and count only for FLAT.");
        if (r.Synthetic)
        {
            io.Out.WriteLine("note: measured on synthetic vectors; run again with --collection or --vectors for advice on your data");
        }

        io.Out.Flush();
    }

    private static string Json(IReadOnlyDictionary<string, int> values) => new SweepSetting(values).ToString();
}
