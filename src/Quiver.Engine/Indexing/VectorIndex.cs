using Quiver.Common;
using Quiver.Distance;
using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>One hit of an index search: the key (smaller is closer: L2 squared distance, negated inner product, negated
/// cosine; the convention of <see cref="Search.FlatSearch"/>) and the row number within the indexed segment. Keys an
/// index returns are exact float32 distances (quantized indexes re-score their final hits), so hits from indexed and
/// exactly searched segments merge in one ranking.</summary>
internal readonly record struct IndexHit(float Key, int Row);

/// <summary>Search-time parameters of every index type, parsed once per request from Milvus's names. A value of 0 means
/// "the index's default". <see cref="Exact"/> (Quiver's own <c>exact</c>) bypasses every index: each segment is
/// scanned exactly, which is how the toolbox and the live recall monitor get ground truth through the normal API.</summary>
internal readonly record struct AnnSearchParams(int Ef = 0, int Nprobe = 0, int SearchK = 0, int RefineK = 0, bool Exact = false, int SearchList = 0)
{
    public static readonly string[] Names = [.. SearchRequest.IndexSearchParams];

    /// <summary>Milvus's rule for DISKANN's candidate list: a given <c>search_list</c> below the hits asked for is an
    /// error naming it, whatever index the segments have.</summary>
    public void RequireSearchListCovers(int k)
    {
        if (SearchList > 0 && SearchList < k)
        {
            Throw.Invalid($"search params: 'search_list' ({SearchList}) must be at least the number of hits asked for ({k}: limit plus offset)");
        }
    }

    /// <summary>Parses Milvus search params (<c>{"ef": 64}</c>, <c>{"nprobe": 16}</c>, <c>{"search_k": 1000}</c>,
    /// <c>{"refine_k": 4}</c>); unknown names are an error naming them.</summary>
    public static AnnSearchParams Parse(IndexParameters p)
    {
        const string owner = "search params";
        foreach (var range in (ReadOnlySpan<string>)["radius", "range_filter"])
        {
            if (p.Has(range))
            {
                throw new QuiverException(
                    QuiverErrorCode.InvalidArgument, $"{owner}: '{range}' is a range-search bound; set SearchRequest.Radius / RangeFilter instead");
            }
        }

        DiskAnnIndex.RejectBeamWidth(owner, p);
        p.RejectUnknown(owner, Names);
        return new AnnSearchParams(
            Ef: p.GetInt(owner, "ef", 0, 1, 32_768),
            Nprobe: p.GetInt(owner, "nprobe", 0, 1, 65_536),
            SearchK: p.GetInt(owner, "search_k", 0, -1, int.MaxValue),
            RefineK: p.GetInt(owner, "refine_k", 0, 1, 1_000),
            Exact: p.GetBool(owner, "exact", false),
            SearchList: p.GetInt(owner, "search_list", 0, 1, DiskAnnIndex.MaxSearchList));
    }
}

/// <summary>What a build needs besides the vectors.</summary>
/// <param name="Threads">Worker threads the build may use (at least 1).</param>
/// <param name="Seed">Seed of every random choice, so a build is reproducible.</param>
/// <param name="Progress">Called with the fraction done (0..1), from any thread, at most a few hundred times.</param>
/// <param name="MemoryBudgetBytes">Resident memory the whole index may take (AUTOINDEX picks DISKANN above it); no limit
/// by default.</param>
/// <param name="IndexRows">Rows the whole index covers, over every segment (AUTOINDEX checks the budget against them);
/// 0: this segment's.</param>
/// <param name="KMeansInit">How IVF's coarse k-means picks its initial centroids. Uniform by default; k-means++ cut the
/// spread of recall@10 at nprobe 2 over six build seeds from 0.013 to 0.004 at 100k rows and nlist 256
/// (bench/results/ivf-kmeans-100k.md), but over 32 seeds of the model test's small segments its mean recall is lower
/// (0.9869 against 0.9914; docs/engine.md, "IVF seeding"), so it is not the default.</param>
/// <param name="KMeansIterations">Lloyd iterations of IVF's coarse k-means; 0: the default (12).</param>
internal sealed record IndexBuildOptions(
    int Threads = 1, int Seed = 42, Action<double>? Progress = null, long MemoryBudgetBytes = long.MaxValue, long IndexRows = 0,
    KMeansInit KMeansInit = KMeansInit.Random, int KMeansIterations = 0)
{
    public static IndexBuildOptions Default { get; } = new();
}

/// <summary>The contract every vector index keeps. An index covers the rows of one sealed segment's vector field,
/// numbered 0..Count-1 as in the segment; it never sees deletes or filters except through the allow-list a search
/// passes. It is immutable once built or loaded, and <see cref="Search"/> is safe from any number of threads at once
/// (per-query scratch comes from a pool, so a query does not allocate).
/// <para>Raw vectors stay in the segment (<see cref="Raw"/>, valid while the segment lives): an index may copy them into
/// its own layout, or read them for exact re-ranking.</para>
/// <para>COSINE indexes normalize vectors and queries and work as IP internally; keys are still negated cosines.</para></summary>
internal abstract class VectorIndex : IDisposable
{
    protected VectorIndex(IndexKind kind, MetricType metric, VectorView raw, IndexParameters buildParams)
    {
        Kind = kind;
        Metric = metric;
        Raw = raw;
        BuildParams = buildParams;
    }

    public IndexKind Kind { get; }

    public MetricType Metric { get; }

    /// <summary>The parameters the index was built with (as given; defaults are not filled in).</summary>
    public IndexParameters BuildParams { get; }

    /// <summary>The segment's raw vectors.</summary>
    public VectorView Raw { get; }

    public int Dimension => Raw.Dimension;

    public int Count => Raw.Count;

    /// <summary>True for an index whose built form holds in memory what its loaded form reads from the file (DISKANN's
    /// node block): once saved, the engine serves it from the file, so its memory is what a reopened index would use.</summary>
    public virtual bool ServesFromFile => false;

    /// <summary>Bytes the index holds beyond the raw vectors (graphs, lists, codes, copies), for memory accounting.</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>Writes up to <paramref name="k"/> nearest rows among <paramref name="allowed"/> (null: all rows) into
    /// <paramref name="hits"/> (length ≥ k), best first; returns how many. Fewer than k means the traversal found fewer
    /// allowed rows, not that fewer exist: the caller decides whether to fall back to an exact search.</summary>
    public abstract int Search(ReadOnlySpan<float> query, int k, in AnnSearchParams p, Bitmap? allowed, Span<IndexHit> hits);

    /// <summary>Estimated cost of one search with <paramref name="p"/> (already adjusted by <see cref="ForSelectivity"/>)
    /// under an allow-list keeping <paramref name="selectivity"/> of the rows, in units of one exact float32 distance
    /// computation, for the planner to weigh against an exact scan of the allowed rows. The default, for indexes without
    /// a model, is a full scan, so the planner never prefers them over exact search.</summary>
    public virtual double EstimateSearchCost(in AnnSearchParams p, int k, double selectivity) => Count;

    /// <summary>Search parameters widened for an allow-list that keeps <paramref name="selectivity"/> of the rows, so that
    /// a filtered traversal still finds about as many allowed candidates as an unfiltered one (e.g. IVF probes
    /// 1/selectivity times more lists). The default leaves them as they are.</summary>
    public virtual AnnSearchParams ForSelectivity(in AnnSearchParams p, int k, double selectivity) => p;

    /// <summary>Parameters for a post-filter: an unfiltered search for <paramref name="hits"/> hits whose candidates hold
    /// about as many allowed rows, when <paramref name="selectivity"/> of the rows are allowed, as the pre-filtered
    /// search with <paramref name="pre"/> (from <see cref="ForSelectivity"/>) holds, so that both reach about the same
    /// recall. <c>EqualRecall</c> is false when the index's parameters cannot widen that far (the parameters returned
    /// are then the widest it takes). The default asks for the hits with the parameters as they are, which keeps the
    /// pre-filter's recall only for an index whose candidates grow with the hits asked for.</summary>
    public virtual (AnnSearchParams Params, bool EqualRecall) ForPostFilter(in AnnSearchParams pre, int hits, double selectivity) =>
        (ForSelectivity(pre, hits, 1), false);

    /// <summary>Rows whose key is below <paramref name="keyBound"/> (approximate, like Milvus's range search on an index),
    /// appended to <paramref name="output"/> best first. The default widens a top-k search until its worst hit is out of
    /// range or every row has been returned.</summary>
    public virtual void RangeSearch(ReadOnlySpan<float> query, float keyBound, in AnnSearchParams p, Bitmap? allowed, List<IndexHit> output)
    {
        var k = 64;
        while (true)
        {
            var buffer = new IndexHit[k];
            var n = Search(query, k, p with { Ef = Math.Max(p.Ef, k), SearchList = p.SearchList > 0 ? Math.Max(p.SearchList, k) : 0 }, allowed, buffer);
            if (n < k || buffer[n - 1].Key >= keyBound || k >= Count)
            {
                foreach (var h in buffer.AsSpan(0, n))
                {
                    if (h.Key < keyBound)
                    {
                        output.Add(h);
                    }
                }

                return;
            }

            k = (int)Math.Min((long)k * 4, Count);
        }
    }

    /// <summary>Writes the index's own blocks (not the raw vectors) to <paramref name="writer"/>.</summary>
    public abstract void Write(IndexFileWriter writer);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Key of a raw distance (L2: squared distance; IP: dot; COSINE: dot of normalized vectors).</summary>
    protected static float KeyOf(MetricType metric, float raw) => metric == MetricType.L2 ? raw : -raw;

    /// <summary>A query in the index's space: normalized for COSINE (into <paramref name="buffer"/>), else itself.</summary>
    protected ReadOnlySpan<float> Prepare(ReadOnlySpan<float> query, Span<float> buffer)
    {
        if (Metric != MetricType.Cosine)
        {
            return query;
        }

        var norm = MathF.Sqrt(VectorMath.SquaredNorm(query));
        var inv = norm > 0 ? 1f / norm : 0f;
        for (var i = 0; i < query.Length; i++)
        {
            buffer[i] = query[i] * inv;
        }

        return buffer[..query.Length];
    }
}
