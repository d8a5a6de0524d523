using System.Text.RegularExpressions;

namespace Quiver.Cli.Ops.Cli;

/// <summary>
/// The toolbox library names an options property where a problem is about an option (<c>ImportOptions.BatchSize 0:
/// must be at least 1</c>) and never a command-line flag; the command line re-words those names as its own flags
/// (<c>--batch 0: must be at least 1</c>) before printing. A name without a flag here is printed as it is.
/// </summary>
internal static partial class CliWording
{
    private static readonly Dictionary<string, string> Map = new(StringComparer.Ordinal)
    {
        ["TargetSpec.Folder"] = "--data",
        ["TargetSpec.Server"] = "--uri",
        ["ImportOptions.Target"] = "--data or --uri",
        ["ImportOptions.Collection"] = "--collection",
        ["ImportOptions.Format"] = "--format",
        ["ImportOptions.BatchSize"] = "--batch",
        ["ImportOptions.OnError"] = "--on-error",
        ["ImportOptions.BadRowsFile"] = "--bad-rows",
        ["ImportOptions.Resume"] = "--resume",
        ["ImportOptions.Upsert"] = "--upsert",
        ["ImportOptions.Partition"] = "--partition",
        ["ImportOptions.SchemaFile"] = "--schema",
        ["ImportOptions.VectorField"] = "--vector-field",
        ["ImportOptions.IdStart"] = "--id-start",
        ["ImportOptions.Delimiter"] = "--delimiter",
        ["ImportOptions.CheckpointFile"] = "--checkpoint",
        ["ExportOptions.Target"] = "--data or --uri",
        ["ExportOptions.Out"] = "--out",
        ["ExportOptions.Format"] = "--format",
        ["ExportOptions.Fields"] = "--fields",
        ["ExportOptions.PageSize"] = "--page",
        ["ExportOptions.VectorField"] = "--vector-field",
        ["ExportOptions.SchemaOut"] = "--schema-out",
        ["BackupOptions.Out"] = "--out",
        ["BackupOptions.RowsPerFile"] = "--rows-per-file",
        ["BackupOptions.Target"] = "--data or --uri",
        ["RestoreOptions.Renames"] = "--rename",
        ["RestoreOptions.VerifyOnly"] = "--verify-only",
        ["RestoreOptions.BatchSize"] = "--batch",
        ["RestoreOptions.Target"] = "--data or --uri",
        ["RestoreOptions.Path"] = "PATH",
        ["TextPrepOptions.Output"] = "--out",
        ["TextPrepOptions.Field"] = "--field",
        ["TextPrepOptions.IdField"] = "--id-field",
        ["TextPrepOptions.Chunk"] = "--chunk",
        ["TextPrepOptions.Size"] = "--size",
        ["TextPrepOptions.Overlap"] = "--overlap",
        ["TextPrepOptions.MinChars"] = "--min-chars",
        ["VectorPrepOptions.Output"] = "--out",
        ["VectorPrepOptions.Format"] = "--format",
        ["VectorPrepOptions.Dimension"] = "--dim",
        ["VectorPrepOptions.Normalization"] = "--normalize",
        ["VectorPrepOptions.OutlierZ"] = "--outlier-z",
        ["HealthOptions.Window"] = "--window",
        ["HealthOptions.Probes"] = "--probe",
        ["HealthOptions.K"] = "--k",
        ["HealthOptions.Target"] = "--data or --uri",
        ["HealthThresholds.Load"] = "--threshold",
        ["TuneOptions.Field"] = "--field",
        ["TuneOptions.K"] = "--k",
        ["TuneOptions.Queries"] = "--queries",
        ["TuneOptions.TargetRecall"] = "--target-recall",
        ["TuneOptions.TargetLatencyMs"] = "--target-latency-ms",
        ["TuneOptions.Save"] = "--save",
        ["TuneOptions.Target"] = "--data or --uri",
        ["EvalOptions.QrelsPath"] = "--qrels",
        ["EvalOptions.RunPath"] = "--run",
        ["EvalOptions.QueriesPath"] = "--queries",
        ["EvalOptions.Target"] = "--data or --uri",
        ["EvalOptions.Collection"] = "--collection",
        ["EvalOptions.K"] = "--k",
        ["EvalOptions.Filter"] = "--filter",
        ["EvalOptions.SearchParams"] = "--search-params",
        ["EvalOptions.AnnsField"] = "--anns-field",
        ["EvalOptions.IdField"] = "--id-field",
        ["EvalOptions.AnnRecall"] = "--ann-recall",
        ["EvalOptions.OutRunPath"] = "--out-run",
        ["AdviseOptions.Target"] = "--data or --uri",
        ["AdviseOptions.Collection"] = "--collection",
        ["AdviseOptions.VectorsPath"] = "--vectors",
        ["AdviseOptions.Rows"] = "--rows",
        ["AdviseOptions.Dimension"] = "--dim",
        ["AdviseOptions.Metric"] = "--metric",
        ["AdviseOptions.TargetRecall"] = "--target-recall",
        ["AdviseOptions.TargetLatencyMs"] = "--target-latency-ms",
        ["AdviseOptions.Sample"] = "--sample",
        ["AdviseOptions.Queries"] = "--queries",
        ["AdviseOptions.Threads"] = "--threads",
        ["AdviseOptions.K"] = "--k",
        ["AdviseOptions.MemoryBudgetBytes"] = "--memory-budget",
    };

    /// <summary><paramref name="message"/> with every options property it names that has a flag here replaced by the
    /// flag.</summary>
    public static string Flags(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return PropertyName().Replace(message, m => Map.TryGetValue(m.Value, out var flag) ? flag : m.Value);
    }

    [GeneratedRegex(@"\b(?:[A-Z][A-Za-z]*Options|TargetSpec|HealthThresholds)\.[A-Z][A-Za-z]*\b")]
    private static partial Regex PropertyName();
}
