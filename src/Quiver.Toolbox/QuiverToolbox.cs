using Quiver.Toolbox.Advise;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Health;
using Quiver.Toolbox.Tune;

namespace Quiver.Toolbox;

/// <summary>
/// The operator toolbox as calls: what <c>quiver health</c>, <c>quiver eval</c>, <c>quiver tune</c> and
/// <c>quiver advise</c> compute, returned as records instead of printed. Each call opens the options' target (an
/// embedded data folder, <see cref="TargetSpec.Folder"/>, or a server, <see cref="TargetSpec.Server"/>), does its work
/// and closes it. Progress (stages with a counter, notes such as warnings) goes to the optional
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
}
