using Quiver.Indexing;

namespace Quiver.Toolbox.Advise;

/// <summary>How a collection of <see cref="Rows"/> rows lies in sealed segments once compaction has merged them: Quiver
/// builds one index per sealed segment, of at most <see cref="SegmentRows"/> rows (the rows whose vectors fill the
/// engine's <c>SegmentMaxBytes</c>, 1 GiB by default, capped by <c>SegmentMaxRows</c>), and a search visits every
/// segment in turn.</summary>
/// <param name="Rows">Planned rows.</param>
/// <param name="SegmentRows">Rows of a full segment.</param>
internal readonly record struct SegmentLayout(long Rows, int SegmentRows)
{
    /// <summary>The layout of <paramref name="rows"/> rows of dimension <paramref name="dimension"/> under the engine's limits.</summary>
    public static SegmentLayout For(long rows, int dimension, int maxRows, long maxBytes) =>
        new(rows, (int)Math.Max(1, Math.Min(maxRows, maxBytes / ((long)dimension * sizeof(float)))));

    /// <summary>Sealed segments.</summary>
    public long Segments => Math.Max(1, (Rows + SegmentRows - 1) / SegmentRows);

    /// <summary>Rows of the last (possibly partial) segment.</summary>
    public int LastRows => (int)(Rows - ((Segments - 1) * SegmentRows));

    /// <summary>Rows of the largest segment (the size an index is built for).</summary>
    public int LargestRows => Segments == 1 ? LastRows : SegmentRows;

    /// <summary>Sums <paramref name="perSegment"/> over the segments: full ones once, times their count, plus the last.</summary>
    public double Sum(Func<int, double> perSegment) => ((Segments - 1) * perSegment(SegmentRows)) + perSegment(LastRows);

    /// <summary>Sums <paramref name="perSegment"/> over the segments exactly, in integers.</summary>
    public long Total(Func<int, long> perSegment) => ((Segments - 1) * perSegment(SegmentRows)) + perSegment(LastRows);
}

/// <summary>The stated models <c>quiver advise</c> extrapolates with, from a sample of n rows to a planned layout:
/// <list type="bullet">
/// <item>memory: <see cref="IndexMemory.Estimate"/> for each segment's row count, summed;</item>
/// <item>latency: the sample's measured latency times cost(planned) / cost(sample), where the cost of one search is
/// FLAT: rows scanned (linear in N); HNSW: ln(rows) per segment (graph hops grow with the log of the size); IVF_*:
/// nlist + nprobe × rows / nlist per segment (the centroids, then the probed lists);</item>
/// <item>recall: the sample's, as measured. IVF keeps the probed fraction nprobe / nlist, so its recall carries
/// over; HNSW at a fixed <c>ef</c> loses a little as segments grow, so tune after loading (<c>quiver tune</c>).</item>
/// </list></summary>
internal static class AdviceModel
{
    /// <summary>The rule-of-thumb size classes of the tutorial.</summary>
    public const long SmallRows = 10_000;

    /// <summary>1M rows.</summary>
    public const long LargeRows = 1_000_000;

    /// <summary>10M rows.</summary>
    public const long HugeRows = 10_000_000;

    /// <summary>The latency model, for the report.</summary>
    public const string LatencyModel =
        "sample latency x cost(planned)/cost(sample); cost per search: FLAT rows, HNSW and DISKANN sum over segments of ln(rows), IVF sum over segments of nlist + nprobe*rows/nlist*entry cost (IVF_FLAT 1, IVF_SQ8 0.35, IVF_PQ 0.15, the planner's) + refine_k*k";

    /// <summary>The tutorial's advice for <paramref name="rows"/> rows.</summary>
    public static string Scenario(long rows) => rows switch
    {
        < SmallRows => "< 10K rows: FLAT is exact and fast enough",
        <= LargeRows => "10K-1M rows: HNSW, the best recall per unit of time",
        <= HugeRows => "> 1M rows: HNSW if it fits the memory budget, else DISKANN (graph and vectors on disk) or IVF_SQ8",
        _ => "> 10M rows: IVF_SQ8, or IVF_PQ when the budget is tighter",
    };

    /// <summary><c>nlist</c> for segments of <paramref name="rows"/> rows: about 4 √rows, in 1..65,536.</summary>
    public static int Nlist(long rows) => (int)Math.Clamp(Math.Round(4 * Math.Sqrt(Math.Max(1, rows))), 1, 65_536);

    /// <summary><c>nprobe</c> for <paramref name="nlist"/> lists probing the same fraction as <paramref name="sampleNprobe"/>
    /// of <paramref name="sampleNlist"/>.</summary>
    public static int ScaleNprobe(int sampleNprobe, int sampleNlist, int nlist) =>
        Math.Clamp((int)Math.Ceiling((double)sampleNprobe * nlist / sampleNlist), 1, nlist);

    /// <summary>Search cost of <paramref name="kind"/> over <paramref name="layout"/> relative to the sample's
    /// (<paramref name="sampleRows"/> rows, one segment). IVF: <paramref name="nlist"/> / <paramref name="nprobe"/>
    /// planned and <paramref name="sampleNlist"/> / <paramref name="sampleNprobe"/> measured.</summary>
    public static double LatencyFactor(IndexKind kind, int sampleRows, SegmentLayout layout, int sampleNlist = 0, int sampleNprobe = 0, int nlist = 0, int nprobe = 0,
        int refineK = 0, int k = 10)
    {
        switch (kind)
        {
            case IndexKind.Flat:
                return (double)layout.Rows / sampleRows;
            case IndexKind.Hnsw or IndexKind.DiskAnn:
                return layout.Sum(rows => Math.Log(Math.Max(2, rows))) / Math.Log(Math.Max(2, sampleRows));
            case IndexKind.IvfFlat or IndexKind.IvfSq8 or IndexKind.IvfPq:
            {
                // The engine's own estimate (IvfIndex.EstimateSearchCost): centroids, then the probed entries at the
                // type's entry cost, then the exact re-rank of refine_k * k candidates.
                var entry = Indexing.IvfIndex.EntryCostOf(kind);
                double Cost(int rows, int lists, int probes)
                {
                    var l = Math.Max(1, Math.Min(lists, rows));
                    return l + ((double)Math.Min(probes, l) * rows / l * entry) + ((double)refineK * k);
                }

                return layout.Sum(rows => Cost(rows, nlist, nprobe)) / Cost(sampleRows, sampleNlist, sampleNprobe);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "no latency model");
        }
    }

    /// <summary>Index memory over the layout: <see cref="IndexMemory.Estimate"/> per segment, summed.</summary>
    public static long IndexBytes(IndexKind kind, MetricType metric, IndexParameters p, SegmentLayout layout, int dimension) =>
        layout.Total(rows => IndexMemory.Estimate(kind, metric, p, rows, dimension));
}
