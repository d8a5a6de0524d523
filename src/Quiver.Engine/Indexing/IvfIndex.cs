using Quiver.Common;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>What the IVF indexes share: a coarse quantizer of <see cref="Nlist"/> k-means centroids and inverted lists
/// laid out contiguously in list order (row ids in <c>ivf_ids</c>, list <c>l</c> at
/// <c>[offsets[l], offsets[l + 1])</c>), so that a probe scans one contiguous run of codes or vectors.
/// <para>The coarse quantizer is trained with L2 k-means; rows go to the nearest centroid by L2 (metric L2) or by largest
/// inner product (IP, and COSINE whose vectors and centroids are normalized). <c>nlist</c> is clamped to the row count
/// (at least 1), since k-means cannot make more non-empty cells than there are rows.</para></summary>
internal abstract class IvfIndex : VectorIndex
{
    public const int DefaultNlist = 128;
    public const int DefaultNprobe = 8;

    /// <summary>Training rows per centroid at most (and at least 50,000 rows when there are that many).</summary>
    private const int SamplePerList = 256;
    private const int MinSample = 50_000;
    private const int TrainIterations = 12;

    private readonly IndexFileReader? _reader;

    protected IvfIndex(IndexKind kind, MetricType metric, VectorView raw, IndexParameters buildParams, in IvfLists lists, IndexFileReader? reader)
        : base(kind, metric, raw, buildParams)
    {
        Nlist = lists.Nlist;
        Centroids = lists.Centroids;
        Offsets = lists.Offsets;
        Ids = lists.Ids;
        _reader = reader;
    }

    /// <summary>Number of inverted lists after clamping (nlist in Milvus).</summary>
    public int Nlist { get; }

    /// <summary>Centroids, row-major, nlist * dim (normalized for COSINE).</summary>
    protected MappedArray<float> Centroids { get; }

    /// <summary>List boundaries, nlist + 1 positions.</summary>
    protected MappedArray<int> Offsets { get; }

    /// <summary>Row id at each list position (the rows that have a vector).</summary>
    protected MappedArray<int> Ids { get; }

    /// <summary>The number of rows in each inverted list.</summary>
    internal int[] ListSizes()
    {
        var offsets = Offsets.Span;
        var sizes = new int[Nlist];
        for (var c = 0; c < Nlist; c++)
        {
            sizes[c] = offsets[c + 1] - offsets[c];
        }

        return sizes;
    }

    /// <summary>Bytes of the coarse quantizer and lists.</summary>
    protected long ListBytes => Centroids.Bytes + Offsets.Bytes + Ids.Bytes;

    /// <summary>Reads <c>nlist</c> (1..65536, default 128) and returns it clamped to the row count.</summary>
    public static int NlistOf(string owner, IndexParameters p, int count) => Math.Max(1, Math.Min(p.GetInt(owner, "nlist", DefaultNlist, 1, 65_536), count));

    /// <summary>Trains the coarse quantizer on a seeded sample of <paramref name="space"/> and fills the lists; reports
    /// progress from 0 to <paramref name="progressShare"/>. Null vectors are neither sampled nor listed (see
    /// <see cref="NullRows"/>), and nlist is clamped to the rows that have a vector.</summary>
    public static IvfLists BuildLists(MetricType metric, VectorView space, int nlist, IndexBuildOptions options, double progressShare, CancellationToken cancellationToken)
    {
        var dim = space.Dimension;
        var live = NullRows.Count(space);
        nlist = Math.Max(1, Math.Min(nlist, live));
        var sample = IvfBuild.Sample(space, Math.Max(SamplePerList * nlist, MinSample), options.Seed, out var sampleCount);
        var iterations = options.KMeansIterations > 0 ? options.KMeansIterations : TrainIterations;
        var trained = KMeans.Train(
            sample, sampleCount, dim, nlist, iterations, options.Seed, options.Threads, cancellationToken, f => options.Progress?.Invoke(f * progressShare * 0.8),
            options.KMeansInit);
        if (metric == MetricType.Cosine)
        {
            for (var c = 0; c < nlist; c++)
            {
                IvfBuild.Normalize(trained.AsSpan(c * dim, dim));
            }
        }

        var labels = new int[space.Count];
        KMeans.Assign(space, trained, nlist, metric != MetricType.L2, labels, options.Threads, cancellationToken);
        options.Progress?.Invoke(progressShare);

        var centroids = MappedArray<float>.Allocate(nlist * dim);
        trained.CopyTo(centroids.Array, 0);
        var offsets = MappedArray<int>.Allocate(nlist + 1);
        var o = offsets.Array;
        for (var r = 0; r < labels.Length; r++)
        {
            o[labels[r] + 1] += space.IsNull(r) ? 0 : 1;
        }

        for (var l = 0; l < nlist; l++)
        {
            o[l + 1] += o[l];
        }

        var ids = MappedArray<int>.Allocate(live);
        var fill = o.AsSpan(0, nlist).ToArray();
        for (var r = 0; r < labels.Length; r++)
        {
            if (!space.IsNull(r))
            {
                ids.Array[fill[labels[r]]++] = r;
            }
        }

        return new IvfLists(nlist, centroids, offsets, ids);
    }

    /// <summary>Maps the coarse quantizer and lists of an index file.</summary>
    public static IvfLists LoadLists(IndexFileReader reader)
    {
        var meta = reader.Block<int>("ivf_meta");
        var nlist = meta.Length > 0 ? meta[0] : 0;
        if (nlist < 1 || nlist > Math.Max(1, reader.Count))
        {
            Throw.Corrupt(reader.Path, $"nlist {nlist} is out of range for {reader.Count} rows");
        }

        // The lists hold the rows that have a vector: every row, or fewer when some are null.
        var listed = MappedArray<int>.Map(reader, "ivf_offsets", nlist + 1);
        var entries = NullRows.CheckedEntries(reader, listed.Span[nlist], reader.Count);
        var lists = new IvfLists(
            nlist,
            MappedArray<float>.Map(reader, "ivf_centroids", (long)nlist * reader.Dimension),
            listed,
            MappedArray<int>.Map(reader, "ivf_ids", entries));
        var offsets = lists.Offsets.Span;
        if (offsets[0] != 0)
        {
            Throw.Corrupt(reader.Path, "inverted list offsets do not cover the rows");
        }

        for (var l = 0; l < nlist; l++)
        {
            if (offsets[l + 1] < offsets[l])
            {
                Throw.Corrupt(reader.Path, $"inverted list {l} has a negative length");
            }
        }

        foreach (var id in lists.Ids.Span)
        {
            if ((uint)id >= (uint)reader.Count)
            {
                Throw.Corrupt(reader.Path, $"inverted lists hold row {id}, outside 0..{reader.Count - 1}");
            }
        }

        return lists;
    }

    /// <summary>Extra meta values an index kind keeps after nlist (read back by <see cref="Meta"/>).</summary>
    protected virtual int[] ExtraMeta => [];

    public override void Write(IndexFileWriter writer)
    {
        writer.Add("ivf_meta", (int[])[Nlist, .. ExtraMeta]);
        Centroids.AddTo(writer, "ivf_centroids");
        Offsets.AddTo(writer, "ivf_offsets");
        Ids.AddTo(writer, "ivf_ids");
        WritePayload(writer);
    }

    /// <summary>Meta value <paramref name="index"/> (0 is nlist) of an index file, checked to lie in [min, max].</summary>
    protected static int Meta(IndexFileReader reader, int index, int min, int max)
    {
        var meta = reader.Block<int>("ivf_meta");
        if (meta.Length <= index || meta[index] < min || meta[index] > max)
        {
            Throw.Corrupt(reader.Path, $"index meta value {index} is missing or outside {min}..{max}");
        }

        return meta[index];
    }

    protected abstract void WritePayload(IndexFileWriter writer);

    /// <summary>nprobe of a search: default 8, clamped to nlist.</summary>
    /// <summary>Cost of scoring one list entry, in exact float32 distances (codes are cheaper to score than vectors).</summary>
    protected double EntryCost => EntryCostOf(Kind);

    /// <summary>Cost of scoring one list entry of an IVF index of <paramref name="kind"/>, in exact float32 distances:
    /// IVF_FLAT 1 (a vector), IVF_SQ8 0.35 (one byte per dimension, widened in registers), IVF_PQ 0.15 (m table
    /// lookups instead of dim multiply-adds). The planner and
    /// <c>quiver advise</c> share these.</summary>
    internal static double EntryCostOf(IndexKind kind) => kind switch
    {
        IndexKind.IvfSq8 => 0.35,
        IndexKind.IvfPq => 0.15,
        _ => 1.0,
    };

    /// <summary>With an allow-list, probes 1/selectivity times more lists (up to all of them), so that the probed lists
    /// hold about as many allowed rows as an unfiltered search would score.</summary>
    public override AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity)
    {
        var nprobe = ProbeCount(p);
        var widened = (int)Math.Min(Nlist, Math.Ceiling(nprobe / Math.Clamp(selectivity, 1e-6, 1)));
        return p with { Nprobe = widened };
    }

    /// <summary>Distances to every centroid, then the probed lists' entries (lists average Count / nlist rows), plus any
    /// exact re-rank.</summary>
    public override double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity) =>
        Nlist + (ProbeCount(p) * (Count / (double)Nlist) * EntryCost) + (p.RefineK > 0 ? (double)p.RefineK * k : 0);

    protected int ProbeCount(in AnnSearchParams p) => Math.Clamp(p.Nprobe > 0 ? p.Nprobe : DefaultNprobe, 1, Nlist);

    /// <summary>The <paramref name="nprobe"/> lists nearest to <paramref name="query"/> (index space), closest first, with
    /// their coarse keys: L2 squared distance to the centroid, or the negated inner product with it.</summary>
    protected Span<int> SelectProbes(ReadOnlySpan<float> query, int nprobe, IvfScratch scratch, out Span<float> probeKeys)
    {
        var keys = scratch.Coarse(Nlist);
        if (Metric == MetricType.L2)
        {
            VectorMath.L2SquaredMany(query, Centroids.Span, Dimension, keys);
        }
        else
        {
            VectorMath.DotMany(query, Centroids.Span, Dimension, keys);
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = -keys[i];
            }
        }

        var lists = scratch.Probes(nprobe);
        probeKeys = scratch.ProbeKeys(nprobe);
        SmallestK(keys, lists, probeKeys);
        return lists;
    }

    /// <summary>The row ids of list <paramref name="list"/> and its first position.</summary>
    protected ReadOnlySpan<int> ListIds(int list, out int start)
    {
        var offsets = Offsets.Span;
        start = offsets[list];
        return Ids.Span[start..offsets[list + 1]];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Exact key of a row (see <see cref="IvfBuild.ExactKey"/>).</summary>
    /// <summary>Replaces the code-distance keys of the first <paramref name="n"/> hits with exact keys and re-sorts them:
    /// every key leaving an index is exact, so hits merge correctly with exact ones from other segments and range
    /// bounds apply to true distances. Costs n exact distances.</summary>
    protected int Rescore(ReadOnlySpan<float> query, Span<IndexHit> hits, int n)
    {
        for (var i = 0; i < n; i++)
        {
            hits[i] = new IndexHit(ExactKey(query, hits[i].Row), hits[i].Row);
        }

        hits[..n].Sort(static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Row.CompareTo(b.Row));
        return n;
    }

    protected float ExactKey(ReadOnlySpan<float> query, int row) => IvfBuild.ExactKey(Metric, Raw, query, row);

    /// <summary>Whether <paramref name="row"/> may be returned.</summary>
    protected static bool Allowed(Bitmap? allowed, int row) => allowed is null || allowed[row];

    /// <summary>Writes the indices of the <c>ids.Length</c> smallest <paramref name="keys"/> into <paramref name="ids"/> and
    /// their keys into <paramref name="selected"/>, ascending, through a bounded max-heap.</summary>
    private static void SmallestK(ReadOnlySpan<float> keys, Span<int> ids, Span<float> selected)
    {
        var n = ids.Length;
        var size = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if (size < n)
            {
                MaxHeap.SiftUp(selected, ids, size++, key, i);
            }
            else if (key < selected[0])
            {
                MaxHeap.ReplaceTop(selected, ids, n, key, i);
            }
        }

        selected.Sort(ids);
    }
}

/// <summary>The coarse quantizer and inverted lists of an IVF index (see <see cref="IvfIndex"/>).</summary>
internal readonly record struct IvfLists(int Nlist, MappedArray<float> Centroids, MappedArray<int> Offsets, MappedArray<int> Ids);
