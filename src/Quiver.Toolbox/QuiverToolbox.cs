using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Backup;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Export;
using Quiver.Toolbox.Health;
using Quiver.Toolbox.Import;
using Quiver.Toolbox.Prep;
using Quiver.Toolbox.Tune;

namespace Quiver.Toolbox;

/// <summary>
/// The operator toolbox as calls: what <c>quiver import</c>, <c>export</c>, <c>backup</c>, <c>restore</c>,
/// <c>prep</c>, <c>health</c>, <c>eval</c>, <c>tune</c> and <c>advise</c> do, returned as records instead of printed.
/// Each call opens the options' target (an embedded data folder, <see cref="TargetSpec.Folder"/>, or a server,
/// <see cref="TargetSpec.Server"/>), does its work and closes it; a target over a client the caller already opened
/// (<see cref="TargetSpec.Client"/>) is used as it is and left open. Progress (stages with a counter, notes such as warnings) goes to the optional
/// <see cref="IProgress{T}"/>; a problem with the input (bad options, an unreadable file, a missing collection or field,
/// too few rows) is a <see cref="ToolboxException"/> naming it; the database's own refusals surface as they are
/// (<c>QuiverException</c> embedded, <c>QuiverServerException</c> from a server). Calls are independent and may run
/// concurrently, but a data folder can be open in one process at a time. docs/toolbox.md.
/// </summary>
public static class QuiverToolbox
{
    /// <summary>A health report judged against thresholds (<c>quiver health</c>): against a server, traffic, latency
    /// percentiles and errors between two <c>/metrics</c> scrapes <see cref="HealthOptions.Window"/> apart, memory, the
    /// live recall estimate; against a folder, collections, segments, index state and a memory estimate; either way,
    /// optional probe searches (latency, recall@k against exact search). <see cref="HealthResult.Healthy"/> is false
    /// when a check fails.</summary>
    /// <param name="options">Target, window, probes and thresholds.</param>
    /// <param name="progress">Receives stages and notes; null: none.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public static Task<HealthResult> HealthAsync(HealthOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        HealthRunner.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>A retrieval evaluation (<c>quiver eval</c>): precision, recall, MAP, NDCG and MRR at k of a run file
    /// or of searches for query vectors against graded relevance judgments, optionally the ANN recall of each search
    /// against the same search run exactly.</summary>
    /// <param name="options">Inputs (qrels, a run or queries with a target and collection), k and what to compute.</param>
    /// <param name="progress">Receives stages and notes (queries left out and why); null: none.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public static Task<EvalResult> EvalAsync(EvalOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EvalRunner.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>A search-parameter sweep to a recall or latency target on a collection's vector index
    /// (<c>quiver tune</c>): the cheapest setting that reaches <see cref="TuneOptions.TargetRecall"/> (or the most
    /// accurate within <see cref="TuneOptions.TargetLatencyMs"/>) on tuning queries, checked on held-out ones, and with
    /// <see cref="TuneOptions.Save"/> stored as the field's default search parameters.</summary>
    /// <param name="options">Target, collection, field, queries and the goal.</param>
    /// <param name="progress">Receives stages and notes; null: none.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public static Task<TuneResult> TuneAsync(TuneOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Tuner.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Index advice for a collection, a vector file or a planned size (<c>quiver advise</c>): each candidate
    /// index built on a sample and measured (recall, latency, memory), projected to the planned size, and the cheapest
    /// that meets the targets within the memory budget recommended.</summary>
    /// <param name="options">The vectors (collection, file or synthetic) and the targets.</param>
    /// <param name="progress">Receives stages and notes; null: none.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public static Task<AdviceResult> AdviseAsync(AdviseOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Advisor.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Imports a JSONL, CSV, Parquet, .npy or .fvecs file into a collection (<c>quiver import</c>): streamed in
    /// all-or-nothing batches of <see cref="ImportOptions.BatchSize"/>, each row checked against the schema first; bad
    /// rows stop the import (<see cref="OnRowError.Abort"/>, an <see cref="ImportAbortedException"/> with what was done)
    /// or are left out and reported (<see cref="OnRowError.Skip"/>, <see cref="ImportResult.Rejected"/>). A checkpoint
    /// next to the file lets an interrupted import resume (<see cref="ImportOptions.Resume"/>).</summary>
    /// <param name="options">The file, the target and collection, and how to import.</param>
    /// <param name="progress">Receives the rows read and notes; null: none.</param>
    /// <param name="cancellationToken">Cancels the import; batches acknowledged before stay, and the checkpoint with them.</param>
    public static Task<ImportResult> ImportAsync(ImportOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Importer.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Exports a collection's rows (all, one partition's, or those matching a filter) in primary-key order to a
    /// JSONL, CSV, Parquet, .npy or .fvecs file (<c>quiver export</c>), page by page; the file is replaced only when
    /// the export completes.</summary>
    /// <param name="options">The target and collection, the file and what to write.</param>
    /// <param name="progress">Receives the rows written; null: none.</param>
    /// <param name="cancellationToken">Cancels the export; the file is left as it was.</param>
    public static Task<ExportResult> ExportAsync(ExportOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Exporter.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Backs up collections (<c>quiver backup</c>): schema, properties, partitions, index definitions,
    /// aliases and every row, as Parquet files and a manifest with SHA-256 checksums, to a new folder or one tar
    /// archive. Every row acknowledged before the backup began and not deleted during it is in the backup.</summary>
    /// <param name="options">The target, where to write and which collections.</param>
    /// <param name="progress">Receives the rows written and notes; null: none.</param>
    /// <param name="cancellationToken">Cancels the backup; what it wrote is removed.</param>
    public static Task<BackupResult> BackupAsync(BackupOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        BackupTool.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Verifies a backup (manifest checksum, every file's size and SHA-256) and restores its collections
    /// (<c>quiver restore</c>). A damaged backup restores nothing: it throws
    /// <see cref="BackupDamagedException"/> (kind <see cref="ToolboxErrorKind.DamagedBackup"/>), whose
    /// <see cref="BackupDamagedException.Problems"/> names each damaged file. A collection that exists already is refused
    /// unless restored under another name (<see cref="RestoreOptions.Renames"/>); a failure part-way drops the
    /// collections the call created.</summary>
    /// <param name="options">The backup, the target and which collections.</param>
    /// <param name="progress">Receives the rows inserted; null: none.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    public static Task<RestoreResult> RestoreAsync(RestoreOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RestoreTool.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Cleans (HTML, control and zero-width characters, Unicode normalization, whitespace) and optionally
    /// chunks (by sentences or tokens) the text field of a JSONL file into a new JSONL file (<c>quiver prep text</c>).
    /// Lines that cannot be used are left out and reported (<see cref="TextPrepReport.Rejections"/>), never
    /// fatal.</summary>
    /// <param name="options">The files, the field and the steps.</param>
    /// <param name="progress">Receives the lines read; null: none.</param>
    /// <param name="cancellationToken">Cancels the run; the output is left as it was.</param>
    public static Task<TextPrepReport> PrepTextAsync(TextPrepOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        TextPrep.RunAsync(options, ToolReporter.For(progress), cancellationToken);

    /// <summary>Validates (malformed, wrong dimension, NaN/Inf, zero, norm outliers) and normalizes (L2, min-max,
    /// z-score) the vectors of a .npy, .fvecs, .bvecs or JSONL file into a new file (<c>quiver prep vectors</c>).
    /// Rows with a problem are left out (or kept with a warning, <see cref="VectorPrepOptions.KeepInvalid"/>) and
    /// reported.</summary>
    /// <param name="options">The files and the checks.</param>
    /// <param name="progress">Receives each pass's rows; null: none.</param>
    /// <param name="cancellationToken">Cancels the run; the output is left as it was.</param>
    public static Task<VectorPrepReport> PrepVectorsAsync(VectorPrepOptions options, IProgress<ToolboxProgress>? progress = null, CancellationToken cancellationToken = default) =>
        VectorPrep.RunAsync(options, ToolReporter.For(progress), cancellationToken);
}
