using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Ops.Health;

/// <summary><c>quiver health</c>'s output: the library's <see cref="HealthRunner"/> run with the command line's
/// progress, its report as tables or JSON.</summary>
internal static class HealthOutput
{
    /// <summary>Runs the report and writes it to <paramref name="io"/>.</summary>
    public static async Task<HealthResult> RunAsync(HealthOptions options, CliIo io, CancellationToken cancellationToken)
    {
        var result = await HealthRunner.RunAsync(options, io, cancellationToken).ConfigureAwait(false);
        Write(result, io);
        return result;
    }

    /// <summary>Writes <paramref name="result"/> to <paramref name="io"/>: JSON with <c>--json</c>, else tables.</summary>
    public static void Write(HealthResult result, CliIo io)
    {
        if (io.Json)
        {
            io.WriteJson(result, CliIo.ExitCodeOf(result));
            return;
        }
        io.WriteTable(["check", "subject", "value", "warn", "fail", "status", "note"],
            result.Checks.Select(c => (IReadOnlyList<string>)[c.Check, c.Subject, Value(c.Value, c.Unit), Value(c.Warn, c.Unit), Value(c.Fail, c.Unit), c.Status, c.Note ?? ""]),
            $"quiver health: {result.Target}: {(result.Healthy ? "healthy" : "UNHEALTHY")}");
        if (result.Collections.Count > 0)
        {
            // A folder's figure is an estimate of vectors plus index structures; a server reports the index structures.
            var memory = result.Traffic is null ? "memory estimate" : "index memory";
            io.WriteTable(["collection", "rows", "segments sealed/growing", "indexes", memory, "live recall", "probe p50/p99 ms", "probe recall"],
                result.Collections.Select(c => (IReadOnlyList<string>)[
                    c.Database + "." + c.Name,
                    c.Rows.ToString(CultureInfo.InvariantCulture),
                    Invariant($"{c.SealedSegments}/{c.GrowingSegments}"),
                    c.Indexes.Count == 0 ? "none" : string.Join(", ", c.Indexes.Select(i => i.PendingRows > 0 ? Invariant($"{i.Type} {i.State} ({i.PendingRows} rows pending)") : $"{i.Type} {i.State}")),
                    HealthRunner.Bytes(c.IndexMemoryBytes ?? c.Indexes.Sum(i => i.MemoryBytes)),
                    c.Recall is { } r ? Invariant($"{r:0.###} ({c.RecallSamples})") : "-",
                    c.Probe is { } p ? Invariant($"{p.P50Ms:0.##}/{p.P99Ms:0.##}") : "-",
                    c.Probe is { } q ? Invariant($"{q.Recall:0.###}") : "-",
                ]),
                "collections");
        }
        if (result.Traffic is { } t)
        {
            io.Out.WriteLine(Invariant($"traffic: {t.SearchQps:0.##} searches/s, {t.CallsPerSecond:0.##} calls/s, {t.Errors:0} errors in {t.Seconds:0.#} s"));
        }
        foreach (var note in result.Notes)
        {
            io.Note("note: " + note);
        }
    }

    private static string Value(double? value, string unit) => value switch
    {
        null => "-",
        var v when unit == "ms" => CliIo.Num(v.Value, "0.##") + " ms",
        var v when unit == "fraction" => CliIo.Num(v.Value * 100, "0.###") + " %",
        var v => CliIo.Num(v.Value, "0.####"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
