using Quiver.Indexing;

namespace Quiver.Search;

/// <summary>How one indexed segment is searched for a filtered query.</summary>
internal enum SegmentStrategy
{
    /// <summary>Brute force over the allowed rows.</summary>
    Exact,

    /// <summary>The index traversal with the allowed rows as its allow-list (parameters widened for the selectivity).</summary>
    PreFilter,

    /// <summary>An unfiltered index search for more hits than asked, keeping those that are allowed; a query with too few
    /// survivors searches again with twice as many, then falls back to the pre-filter.</summary>
    PostFilter,
}

/// <summary>Overrides of the planner for the current async flow, for tests and benchmarks that compare the strategies on
/// the same data: <see cref="RowSets"/> false evaluates every filter as a bitmap (the way before row lists);
/// <see cref="Strategy"/> forces one strategy on every indexed segment that has more allowed rows than k;
/// <see cref="PostFilter"/> false leaves the post-filter out of the choice (the planner before it existed);
/// <see cref="FilterCache"/> false scans a sealed segment's columns on every read (<see cref="FilterBitmapCache"/> off);
/// <see cref="FilterKernels"/> false compares columns with constants row by row (<see cref="Filtering.CompareKernels"/> off).</summary>
internal sealed record PlannerOverride(
    bool RowSets = true, SegmentStrategy? Strategy = null, bool PostFilter = true, bool FilterCache = true, bool FilterKernels = true);

/// <summary>The planner's choice per indexed segment, from the exact count of allowed rows (cheap: a row list's length or
/// a bitmap's population count) and the index's cost model, in units of one exact float32 distance:
/// <list type="bullet">
/// <item>exact: one distance per allowed row, or per row when the scan goes tile by tile (<see cref="FlatSearch.ExactCost"/>);</item>
/// <item>pre-filter: the index's estimate at that selectivity, plus building the allow-list bitmap (a word per 64 rows)
/// when the rows are held as a list;</item>
/// <item>post-filter: the index's unfiltered estimate for k' = ceil(k × <see cref="PostFilterMargin"/> / selectivity) +
/// <see cref="PostFilterSlack"/> hits with parameters widened until the unfiltered candidates hold as many allowed rows
/// as the pre-filter's (<see cref="VectorIndex.ForPostFilter"/>: for HNSW ef / selectivity), so the two are compared at
/// about equal recall; considered only on HNSW (<see cref="PostFilters"/>) and from
/// <see cref="PostFilterMinSelectivity"/> up.</item>
/// </list>
/// The cheapest wins; ties go to exact, then pre-filter. docs/engine.md has the break-even measured.</summary>
internal static class SearchPlanner
{
    /// <summary>Post-filter asks for this many times the hits expected to survive.</summary>
    public const double PostFilterMargin = 1.25;

    /// <summary>Post-filter asks for this many hits more, so that a small k does not hinge on one or two rows.</summary>
    public const int PostFilterSlack = 4;

    /// <summary>Below this selectivity the post-filter's k' (and with it an HNSW beam) grows past what its cost model
    /// prices well (k' = 254 at 5%, 1,254 at 1%), and brute force over the matches wins (measured: docs/engine.md).</summary>
    public const double PostFilterMinSelectivity = 0.05;

    /// <summary>Re-searches a post-filtered query makes, each asking for twice the hits with a beam as for half the
    /// selectivity, before the pre-filter.</summary>
    public const int PostFilterRetries = 1;

    private static readonly AsyncLocal<PlannerOverride?> s_override = new();

    /// <summary>The override for the current async flow (null: plan normally).</summary>
    public static PlannerOverride? Override
    {
        get => s_override.Value;
        set => s_override.Value = value;
    }

    /// <summary>False when an override asks for bitmap evaluation of every filter.</summary>
    public static bool UseRowSets => Override?.RowSets ?? true;

    /// <summary>Chooses how to search one indexed segment of <paramref name="rowCount"/> rows for
    /// <paramref name="queries"/> queries of <paramref name="dimension"/> floats with the allowed rows
    /// <paramref name="allowed"/>. <c>Params</c> are the index parameters of the chosen strategy; <c>PostK</c> the
    /// hits a post-filtered search asks for first.</summary>
    public static (SegmentStrategy Strategy, AnnSearchParams Params, int PostK) Choose(
        VectorIndex index, in AnnSearchParams ann, int k, int rowCount, in AllowedRows allowed, int queries, int dimension)
    {
        var selectivity = allowed.Count / (double)rowCount;
        var pre = index.ForSelectivity(ann, k, selectivity);
        // Per query: a list of rows becomes a bitmap once per segment and search, a word per 64 rows, where a word costs
        // about 8 / dimension of a distance (a distance is dimension / 8 vector operations).
        var bitmapCost = allowed.Sparse is null || allowed.Count == rowCount ? 0 : rowCount / 64.0 * 8.0 / dimension / queries;
        var preCost = index.EstimateSearchCost(pre, k, selectivity) + bitmapCost;
        var exactCost = FlatSearch.ExactCost(allowed, rowCount);
        var postK = PostK(k, selectivity, rowCount);
        // The post-filter's unfiltered beam is widened until it holds about as many allowed rows as the pre-filter's, so
        // both reach about the same recall and the cheaper one wins; an index that cannot widen that far is not
        // post-filtered.
        var (post, equalRecall) = index.ForPostFilter(pre, postK, selectivity);
        var postCost = selectivity < 1 && selectivity >= PostFilterMinSelectivity && equalRecall && PostFilters(index) && (Override?.PostFilter ?? true)
            ? index.EstimateSearchCost(post, postK, 1)
            : double.PositiveInfinity;

        var forced = Override?.Strategy;
        if (forced == SegmentStrategy.PostFilter && selectivity < 1)
        {
            return (SegmentStrategy.PostFilter, post, postK);
        }

        if (forced is { } f && f != SegmentStrategy.PostFilter)
        {
            return (f, pre, postK);
        }

        if (exactCost <= preCost && exactCost <= postCost)
        {
            return (SegmentStrategy.Exact, pre, postK);
        }

        return preCost <= postCost ? (SegmentStrategy.PreFilter, pre, postK) : (SegmentStrategy.PostFilter, post, postK);
    }

    /// <summary>Whether the planner post-filters on <paramref name="index"/>: on HNSW, where asking for k' hits widens the
    /// beam to k' and so keeps the recall of k. An IVF search for k' hits scans the same nprobe lists as for k, so
    /// fewer of its candidates would be allowed than its pre-filter (nprobe widened by 1/selectivity) sees: it
    /// pre-filters. (A forced post-filter applies to any index.)</summary>
    public static bool PostFilters(VectorIndex index) => index.Kind == IndexKind.Hnsw;

    /// <summary>The hits a post-filtered search asks for first.</summary>
    public static int PostK(int k, double selectivity, int rowCount) =>
        (int)Math.Min(rowCount, Math.Ceiling(k * PostFilterMargin / Math.Max(selectivity, 1e-9)) + PostFilterSlack);
}
