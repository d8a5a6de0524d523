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
    private const int CalibrationQueries = 64;
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

        var ef = Calibrate(inner, Target(p), options.Seed, cancellationToken);
        return new CalibratedIndex(inner, new AnnSearchParams(Ef: ef));
    }

    /// <summary>The smallest ef on <see cref="EfLadder"/> whose mean leave-one-out recall@10 (each sampled row is a query;
    /// the row itself is excluded from the truth and the answer) reaches <paramref name="target"/>; the largest rung if
    /// none does.</summary>
    public static int Calibrate(VectorIndex index, double target, int seed, CancellationToken cancellationToken)
    {
        var raw = index.Raw;
        var rng = new Random(seed);
        var n = Math.Min(CalibrationQueries, raw.Count);
        var queries = new int[n];
        for (var i = 0; i < n; i++)
        {
            queries[i] = rng.Next(raw.Count);
        }

        var exact = new FlatIndex(index.Metric, raw, IndexParameters.Empty);
        var truth = new HashSet<int>[n];
        var buffer = new IndexHit[CalibrationK + 1];
        for (var i = 0; i < n; i++)
        {
            var got = exact.Search(raw.Row(queries[i]), CalibrationK + 1, default, null, buffer);
            truth[i] = [.. buffer.AsSpan(0, got).ToArray().Where(h => h.Row != queries[i]).Take(CalibrationK).Select(h => h.Row)];
        }

        foreach (var ef in EfLadder)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                var got = index.Search(raw.Row(queries[i]), CalibrationK + 1, new AnnSearchParams(Ef: Math.Max(ef, CalibrationK + 1)), null, buffer);
                var hits = 0;
                var taken = 0;
                for (var j = 0; j < got && taken < CalibrationK; j++)
                {
                    if (buffer[j].Row == queries[i])
                    {
                        continue;
                    }

                    taken++;
                    if (truth[i].Contains(buffer[j].Row))
                    {
                        hits++;
                    }
                }

                sum += truth[i].Count == 0 ? 1 : hits / (double)truth[i].Count;
            }

            if (sum / n >= target)
            {
                return ef;
            }
        }

        return EfLadder[^1];
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

    public override double EstimateSearchCost(in AnnSearchParams p, int k) => Inner.EstimateSearchCost(Fill(p), k);

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
