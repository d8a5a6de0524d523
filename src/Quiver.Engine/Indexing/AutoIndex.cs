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
/// <item>After the build, <see cref="Calibrate"/> finds the smallest <c>ef</c> whose leave-one-out recall@10 on a
/// sample of the segment's rows meets the target; searches that give no <c>ef</c> use it.</item>
/// </list></summary>
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

    public static (IndexKind Kind, IndexParameters Params) Resolve(IndexParameters p, int count, int dimension)
    {
        var recall = Target(p);
        if (count < ExactRows)
        {
            return (IndexKind.Flat, IndexParameters.Empty);
        }

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
        return (IndexKind.Hnsw, new IndexParameters(new Dictionary<string, string>
        {
            ["M"] = m.ToString(CultureInfo.InvariantCulture),
            ["efConstruction"] = efConstruction.ToString(CultureInfo.InvariantCulture),
        }));
    }

    /// <summary>Resolves, builds and (for graph indexes) calibrates an AUTOINDEX over one segment.</summary>
    public static VectorIndex Build(MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        var (kind, resolved) = Resolve(p, raw.Count, raw.Dimension);
        var inner = IndexFactory.Build(kind, metric, resolved, raw, options, cancellationToken);
        if (kind == IndexKind.Flat)
        {
            return inner;
        }

        try
        {
            var ef = Calibrate(inner, Target(p), options.Seed, cancellationToken);
            return new CalibratedIndex(inner, new AnnSearchParams(Ef: ef));
        }
        catch
        {
            inner.Dispose();
            throw;
        }
    }

    /// <summary>The smallest ef on <see cref="EfLadder"/> whose mean recall@10 on calibration queries reaches
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
                var got = index.Search(queries[i], CalibrationK, new AnnSearchParams(Ef: ef), null, buffer);
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

    public override int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits) =>
        Inner.Search(query, k, Fill(p), allowed, hits);

    public override void RangeSearch(ReadOnlySpan<float> query, float keyBound, in AnnSearchParams p, Bitmap? allowed, List<IndexHit> output) =>
        Inner.RangeSearch(query, keyBound, Fill(p), allowed, output);

    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity) => Inner.EstimateSearchCost(Fill(p), k, selectivity);

    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity) => Inner.ForSelectivity(Fill(p), k, selectivity);

    public override void Write(IndexFileWriter writer)
    {
        Inner.Write(writer);
        writer.Add("auto", new[] { Defaults.Ef, Defaults.Nprobe, Defaults.SearchK, Defaults.RefineK });
    }

    /// <summary>Reads the defaults a <see cref="Write"/> stored.</summary>
    public static AnnSearchParams ReadDefaults(IndexFileReader reader)
    {
        var v = reader.Block<int>("auto");
        if (v.Length != 4)
        {
            Throw.Corrupt(reader.Path, $"block 'auto' holds {v.Length} values, expected 4");
        }

        if (v[0] is < 0 or > 32_768 || v[1] is < 0 or > 65_536 || v[2] < -1 || v[3] is < 0 or > 1_000)
        {
            Throw.Corrupt(reader.Path, $"block 'auto' holds out-of-range defaults ef {v[0]}, nprobe {v[1]}, search_k {v[2]}, refine_k {v[3]}");
        }

        return new AnnSearchParams(v[0], v[1], v[2], v[3]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }
    }

    private AnnSearchParams Fill(in AnnSearchParams p) => new(
        p.Ef == 0 ? Defaults.Ef : p.Ef,
        p.Nprobe == 0 ? Defaults.Nprobe : p.Nprobe,
        p.SearchK == 0 ? Defaults.SearchK : p.SearchK,
        p.RefineK == 0 ? Defaults.RefineK : p.RefineK);
}
