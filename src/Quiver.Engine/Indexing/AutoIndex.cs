using System.Globalization;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>AUTOINDEX: picks the index type and its parameters per segment from its size, its dimension and a recall
/// target (<c>{"recall": 0.95}</c>, default 0.95), then measures the search effort that meets the target on the
/// segment's own data.
/// <list type="bullet">
/// <item>Below <see cref="ExactRows"/> rows: FLAT. A scan costs about as much as a traversal there and is exact.</item>
/// <item>Otherwise HNSW, with more links and a wider construction beam for higher targets and higher dimensions, where
/// graphs need more neighbours to stay navigable.</item>
/// <item>Unless that HNSW does not fit the engine's memory budget (<see cref="QuiverOptions.IndexMemoryBudgetBytes"/>):
/// its estimated resident memory (<see cref="IndexMemory.Estimate"/>) over all the rows the index covers
/// (<see cref="IndexBuildOptions.IndexRows"/>, every sealed segment, not only this one) above the budget gives DISKANN
/// with Milvus's defaults, whose vectors and graph stay on disk.</item>
/// <item>After the build, <see cref="Calibrate"/> finds the smallest <c>ef</c> (DISKANN: <c>search_list</c>) whose
/// recall@10 on calibration queries meets the target; searches that give none use it.</item>
/// </list>
/// The choice is per segment and persisted in its index file (the file's kind), so a reopen keeps it whatever the budget
/// is then; <see cref="QuiverEngine.DescribeIndexesAsync"/> reports the rows per resolved type.</summary>
internal static class AutoIndex
{
    public const int ExactRows = 4096;
    private const int CalibrationQueries = 100;
    private const int CalibrationK = 10;
    private static readonly int[] EfLadder = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

    public static void Validate(IndexParameters p)
    {
        p.RejectUnknown("index AUTOINDEX", "recall");
        p.GetDouble("index AUTOINDEX", "recall", 0.95, 0.5, 0.999);
    }

    public static double Target(IndexParameters p) => p.GetDouble("index AUTOINDEX", "recall", 0.95, 0.5, 0.999);

    /// <summary>The index type and parameters AUTOINDEX builds for a segment of <paramref name="count"/> rows, with an
    /// unlimited memory budget (what the advice and estimates assume).</summary>
    public static (IndexKind Kind, IndexParameters Params) Resolve(IndexParameters p, int count, int dimension) =>
        Resolve(p, MetricType.L2, count, dimension, long.MaxValue, count);

    /// <summary>The index type and parameters AUTOINDEX builds for a segment of <paramref name="count"/> rows when the
    /// whole index covers <paramref name="indexRows"/> rows and may keep <paramref name="budgetBytes"/> resident.</summary>
    public static (IndexKind Kind, IndexParameters Params) Resolve(
        IndexParameters p, MetricType metric, int count, int dimension, long budgetBytes, long indexRows)
    {
        if (count < ExactRows)
        {
            return (IndexKind.Flat, IndexParameters.Empty);
        }

        var hnsw = InMemory(p, dimension);
        return FitsBudget(metric, hnsw, Math.Max(indexRows, count), dimension, budgetBytes)
            ? (IndexKind.Hnsw, hnsw)
            : (IndexKind.DiskAnn, IndexParameters.Empty);
    }

    /// <summary>Whether the HNSW that AUTOINDEX would build keeps its estimated resident memory over
    /// <paramref name="rows"/> rows within <paramref name="budgetBytes"/>. The estimate is linear in the rows (per-row
    /// graph and codes), so over many segments it is about the sum of theirs.</summary>
    public static bool FitsBudget(MetricType metric, IndexParameters hnsw, long rows, int dimension, long budgetBytes) =>
        budgetBytes == long.MaxValue || EstimateRows(IndexKind.Hnsw, metric, hnsw, rows, dimension) <= budgetBytes;

    /// <summary><see cref="IndexMemory.Estimate"/> for a row count beyond one segment's int range, scaled linearly.</summary>
    public static long EstimateRows(IndexKind kind, MetricType metric, IndexParameters p, long rows, int dimension)
    {
        if (rows <= int.MaxValue)
        {
            return IndexMemory.Estimate(kind, metric, p, (int)rows, dimension);
        }

        var per = IndexMemory.Estimate(kind, metric, p, 1 << 20, dimension) / (double)(1 << 20);
        return (long)Math.Min(long.MaxValue, per * rows);
    }

    private static IndexParameters InMemory(IndexParameters p, int dimension)
    {
        var recall = Target(p);

        var m = recall switch
        {
            <= 0.9 => 12,
            <= 0.95 => 16,
            <= 0.98 => 24,
            _ => 32,
        };
        if (dimension >= 512)
        {
            m = Math.Max(m, 24);
        }

        var efConstruction = recall > 0.95 ? 360 : 200;
        return new IndexParameters(new Dictionary<string, string>
        {
            ["M"] = m.ToString(CultureInfo.InvariantCulture),
            ["efConstruction"] = efConstruction.ToString(CultureInfo.InvariantCulture),
        });
    }

    /// <summary>Resolves, builds and (for graph indexes) calibrates an AUTOINDEX over one segment, under the budget
    /// and over the index's rows that <paramref name="options"/> carries.</summary>
    public static VectorIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        var (kind, resolved) = Resolve(p, metric, raw.Count, raw.Dimension, options.MemoryBudgetBytes, options.IndexRows);
        var inner = IndexFactory.Build(kind, metric, resolved, raw, options, cancellationToken);
        if (kind == IndexKind.Flat)
        {
            return inner;
        }

        try
        {
            var effort = Calibrate(inner, Target(p), options.Seed, cancellationToken);
            return new CalibratedIndex(inner, Effort(kind, effort));
        }
        catch
        {
            inner.Dispose();
            throw;
        }
    }

    /// <summary>Search parameters with <paramref name="effort"/> as the kind's search effort: HNSW's <c>ef</c>, DISKANN's
    /// <c>search_list</c>.</summary>
    private static AnnSearchParams Effort(IndexKind kind, int effort) =>
        kind == IndexKind.DiskAnn ? new AnnSearchParams(SearchList: effort) : new AnnSearchParams(Ef: effort);

    /// <summary>The smallest effort (ef, or search_list for DISKANN) on <see cref="EfLadder"/> whose mean recall@10 on calibration queries reaches
    /// <paramref name="target"/> plus a small margin (the estimate comes from a sample); the largest rung if none does.
    /// A calibration query is a sampled row moved off the data by Gaussian noise scaled to its nearest-neighbour
    /// distance: a row itself would be too easy, since the greedy search lands on it and its links are its neighbours.</summary>
    public static int Calibrate(VectorIndex index, double target, int seed, CancellationToken cancellationToken)
    {
        var raw = index.Raw;
        var dim = raw.Dimension;
        var rng = new Random(seed);
        var n = Math.Min(CalibrationQueries, raw.Count);
        var exact = new FlatIndex(index.Metric, raw, IndexParameters.Empty);
        var buffer = new IndexHit[CalibrationK];
        var queries = new float[n][];
        var truth = new HashSet<int>[n];
        for (var i = 0; i < n; i++)
        {
            var row = rng.Next(raw.Count);
            var x = raw.Row(row);
            var got = exact.Search(x, 2, default, null, buffer);
            var nn = got > 1 ? buffer[1].Key : 0f;
            var scale = index.Metric == MetricType.L2
                ? MathF.Sqrt(Math.Max(nn, 0f) / dim)
                : 0.05f * MathF.Sqrt(Distance.VectorMath.SquaredNorm(x) / dim);
            var q = new float[dim];
            for (var d = 0; d < dim; d++)
            {
                q[d] = x[d] + (scale * Gaussian(rng));
            }

            queries[i] = q;
            got = exact.Search(q, CalibrationK, default, null, buffer);
            truth[i] = [.. buffer.AsSpan(0, got).ToArray().Select(h => h.Row)];
        }

        var goal = Math.Min(0.999, target + ((1 - target) * 0.2));
        foreach (var ef in EfLadder)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                var got = index.Search(queries[i], CalibrationK, Effort(index.Kind, ef), null, buffer);
                var hits = 0;
                for (var j = 0; j < got; j++)
                {
                    if (truth[i].Contains(buffer[j].Row))
                    {
                        hits++;
                    }
                }

                sum += truth[i].Count == 0 ? 1 : hits / (double)truth[i].Count;
            }

            if (sum / n >= goal)
            {
                return ef;
            }
        }

        return EfLadder[^1];
    }

    private static float Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}

/// <summary>An index with default search parameters measured at build time (AUTOINDEX): a search that leaves a
/// parameter at 0 gets the calibrated value. Persisted as the inner index's blocks plus a block <c>auto</c> holding
/// the defaults.</summary>
internal sealed class CalibratedIndex : VectorIndex
{
    public CalibratedIndex(VectorIndex inner, AnnSearchParams defaults)
        : base(inner.Kind, inner.Metric, inner.Raw, inner.BuildParams)
    {
        Inner = inner;
        Defaults = defaults;
    }

    public VectorIndex Inner { get; }

    public AnnSearchParams Defaults { get; }

    public override long MemoryBytes => Inner.MemoryBytes;

    public override bool ServesFromFile => Inner.ServesFromFile;

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits) =>
        Inner.Search(query, k, Fill(p, k), allowed, hits);

    public override void RangeSearch(ReadOnlySpan<float> query, float keyBound, in AnnSearchParams p, Bitmap? allowed, List<IndexHit> output) =>
        Inner.RangeSearch(query, keyBound, Fill(p, 0), allowed, output);

    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity) => Inner.EstimateSearchCost(Fill(p, k), k, selectivity);

    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity) => Inner.ForSelectivity(Fill(p, k), k, selectivity);

    public override (AnnSearchParams Params, bool EqualRecall) ForPostFilter(in AnnSearchParams pre, int hits, double selectivity) =>
        Inner.ForPostFilter(Fill(pre, hits), hits, selectivity);

    /// <summary>Adds the block <c>auto</c>: ef, nprobe, search_k, refine_k and search_list (files written before
    /// DISKANN could be chosen hold the first four).</summary>
    public override void Write(IndexFileWriter writer)
    {
        Inner.Write(writer);
        writer.Add("auto", new[] { Defaults.Ef, Defaults.Nprobe, Defaults.SearchK, Defaults.RefineK, Defaults.SearchList });
    }

    /// <summary>Reads the defaults a <see cref="Write"/> stored.</summary>
    public static AnnSearchParams ReadDefaults(IndexFileReader reader)
    {
        var v = reader.Block<int>("auto");
        if (v.Length is not (4 or 5))
        {
            Throw.Corrupt(reader.Path, $"block 'auto' holds {v.Length} values, expected 4 or 5");
        }

        var searchList = v.Length == 5 ? v[4] : 0;
        if (v[0] is < 0 or > 32_768 || v[1] is < 0 or > 65_536 || v[2] < -1 || v[3] is < 0 or > 1_000 || searchList is < 0 or > DiskAnnIndex.MaxSearchList)
        {
            Throw.Corrupt(reader.Path, $"block 'auto' holds out-of-range defaults ef {v[0]}, nprobe {v[1]}, search_k {v[2]}, refine_k {v[3]}, search_list {searchList}");
        }

        return new AnnSearchParams(v[0], v[1], v[2], v[3], SearchList: searchList);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }
    }

    /// <summary>The request's parameters with the calibrated ones where it gave none; a calibrated search_list is
    /// widened to the <paramref name="k"/> hits asked for (a given one below k is the caller's error, not a default's).</summary>
    private AnnSearchParams Fill(in AnnSearchParams p, int k) => p with
    {
        Ef = p.Ef == 0 ? Defaults.Ef : p.Ef,
        Nprobe = p.Nprobe == 0 ? Defaults.Nprobe : p.Nprobe,
        SearchK = p.SearchK == 0 ? Defaults.SearchK : p.SearchK,
        RefineK = p.RefineK == 0 ? Defaults.RefineK : p.RefineK,
        SearchList = p.SearchList != 0 || Defaults.SearchList == 0 ? p.SearchList : Math.Max(Defaults.SearchList, k),
    };
}
