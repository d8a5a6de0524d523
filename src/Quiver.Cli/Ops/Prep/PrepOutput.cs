using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Toolbox.Prep;

namespace Quiver.Cli.Ops.Prep;

/// <summary>How <c>quiver prep text</c> and <c>quiver prep vectors</c> print what <see cref="TextPrep"/> and
/// <see cref="VectorPrep"/> return: tables, or the report as JSON with <c>--json</c>.</summary>
internal static class PrepOutput
{
    /// <summary>Rejected rows shown in the terminal table; the JSON report has up to <see cref="IssueLog.Limit"/>.</summary>
    public const int TableIssues = 20;

    public static void WriteText(CliIo io, TextPrepReport report)
    {
        if (io.Json)
        {
            io.WriteJson(report);
            return;
        }

        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        io.WriteTable(["prep text", ""],
        [
            ["input", report.Input],
            ["output", report.Output],
            ["lines read", N(report.Lines)],
            ["documents written", N(report.Documents)],
            ["chunks written", N(report.Chunks)],
            ["lines rejected", N(report.Rejected)],
        ]);
        var c = report.Changes;
        io.WriteTable(["change", "documents"],
        [
            ["html stripped", N(c.HtmlStripped)],
            ["control chars removed", N(c.ControlCharsRemoved)],
            ["zero-width chars removed", N(c.ZeroWidthRemoved)],
            [$"normalized ({report.Normalization.ToString().ToUpperInvariant()}, Unicode {report.UnicodeVersion})", N(c.Normalized)],
            ["whitespace collapsed", N(c.WhitespaceCollapsed)],
        ], "changes");
        var distributions = new List<IReadOnlyList<string>>
        {
            Cells("characters per chunk", report.ChunkChars),
            Cells("chunks per document", report.ChunksPerDocument),
        };
        if (report.ChunkTokens is { } tokens)
        {
            distributions.Insert(1, Cells("tokens per chunk", tokens));
        }

        var chunking = report.Chunking == ChunkMode.None
            ? "no chunking"
            : string.Create(CultureInfo.InvariantCulture, $"by {report.Chunking.ToString().ToLowerInvariant()}, size {report.Size}, overlap {report.Overlap}");
        if (report.Chunking == ChunkMode.Sentences)
        {
            distributions.Add(["sentences longer than the size (cut)", N(report.LongSentences), "", "", "", ""]);
        }

        io.WriteTable([$"chunks ({chunking})", "count", "min", "median", "max", "mean"], distributions);
        WriteIssues(io, "rejected", "line", report.Rejections, report.Rejected);
    }

    public static void WriteVectors(CliIo io, VectorPrepReport report)
    {
        if (io.Json)
        {
            io.WriteJson(report);
            return;
        }

        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        var p = report.Problems;
        io.WriteTable(["prep vectors", ""],
        [
            ["input", report.Input],
            ["output", string.Create(CultureInfo.InvariantCulture, $"{report.Output} ({report.Format.ToString().ToLowerInvariant()})")],
            ["dimension", string.Create(CultureInfo.InvariantCulture, $"{report.Dimension} (from {CliWording.Flags(report.DimensionSource)})")],
            ["passes over the input", N(report.Passes)],
            ["read", N(report.Rows)],
            ["written", N(report.Written)],
            ["rejected", N(report.Rejected)],
            ["kept with a warning", N(report.Kept)],
            ["  malformed", N(p.Malformed)],
            ["  wrong dimension", N(p.WrongDimension)],
            ["  NaN / Inf", N(p.NonFinite)],
            ["  zero vector", N(p.Zero)],
            ["  norm outlier", N(p.Outlier)],
        ]);
        static string[] NormRow(string name, NormStats s) =>
            [name, N(s.Count), CliIo.Num(s.Min, "G6"), CliIo.Num(s.Median, "G6"), CliIo.Num(s.Max, "G6")];
        var o = report.Outliers;
        io.WriteTable(["L2 norms", "vectors", "min", "median", "max"],
            [NormRow("before", report.NormsBefore), NormRow($"after ({report.Normalization.ToString().ToLowerInvariant()})", report.NormsAfter)]);
        io.Out.WriteLine(o.Limit > 0
            ? string.Create(CultureInfo.InvariantCulture, $"outlier: |norm - {o.MedianNorm:G6}| > {o.Limit} x {o.Scale:G6} (scale: 1.4826 x MAD {o.Mad:G6}, at least 0.1% of the median norm)")
            : "outlier check off (--outlier-z 0)");
        if (report.DimensionStats is { } stats)
        {
            const int Shown = 8;
            io.WriteTable(["dimension", "min", "max", "mean", "std"],
                stats.Take(Shown).Select(s => (IReadOnlyList<string>)
                    [s.Dimension.ToString(CultureInfo.InvariantCulture), CliIo.Num(s.Min, "G6"), CliIo.Num(s.Max, "G6"), CliIo.Num(s.Mean, "G6"), CliIo.Num(s.Std, "G6")]),
                stats.Count > Shown ? $"per-dimension statistics (first {Shown} of {stats.Count}; all in the JSON report)" : "per-dimension statistics");
        }

        WriteIssues(io, "rejected", "row", report.Rejections, report.Rejected);
        WriteIssues(io, "kept with a warning", "row", report.Warnings, report.Kept);
    }

    /// <summary>Cells of a distribution row: count, min, median, max, mean.</summary>
    public static string[] Cells(string name, Distribution d, string format = "0.##") =>
        [name, d.Count.ToString(CultureInfo.InvariantCulture), CliIo.Num(d.Min, format), CliIo.Num(d.Median, format), CliIo.Num(d.Max, format), CliIo.Num(d.Mean, format)];

    /// <summary>Writes the table of issues (the first <see cref="TableIssues"/>) when there are any, the options
    /// properties their reasons name re-worded as the command's flags.</summary>
    public static void WriteIssues(CliIo io, string title, string numberHeader, IReadOnlyList<PrepIssue> issues, long total)
    {
        if (total == 0)
        {
            return;
        }

        var rows = issues.Take(TableIssues).Select(i => (IReadOnlyList<string>)[i.Number.ToString(CultureInfo.InvariantCulture), CliWording.Flags(i.Reason)]);
        io.WriteTable([numberHeader, "reason"], rows, title);
        if (total > TableIssues)
        {
            io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"... and {total - TableIssues} more (the JSON report, --json or --report FILE, lists up to {IssueLog.Limit})"));
        }
    }
}
