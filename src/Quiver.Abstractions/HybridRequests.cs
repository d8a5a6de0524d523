namespace Quiver;

/// <summary>A hybrid search: several searches of one collection (each over its own vector field, with its own query
/// vectors, filter, parameters and limit), whose hits are fused per query by a <see cref="HybridRanker"/> into one list,
/// as Milvus's <c>hybrid_search</c> does. Every request sees the same snapshot of the collection.</summary>
public sealed record HybridRequest
{
    /// <summary>Largest number of searches in one hybrid search (Milvus's limit).</summary>
    public const int MaxRequests = 1024;

    /// <summary>The searches (Milvus's <c>AnnSearchRequest</c>s), 1..<see cref="MaxRequests"/>, each with the same number
    /// of query vectors. Each uses its <see cref="SearchRequest.Vectors"/>, <see cref="SearchRequest.AnnsField"/>,
    /// <see cref="SearchRequest.Limit"/> (how many of its hits enter the fusion), <see cref="SearchRequest.Filter"/>
    /// (with <see cref="SearchRequest.FilterParams"/>), <see cref="SearchRequest.Metric"/>,
    /// <see cref="SearchRequest.SearchParams"/> and range (<see cref="SearchRequest.Radius"/>,
    /// <see cref="SearchRequest.RangeFilter"/>). Offset, output fields, partitions and grouping belong to the hybrid
    /// request; a search that sets them is refused.</summary>
    public required IReadOnlyList<SearchRequest> Requests { get; init; }

    /// <summary>How the searches' hits are fused; default <see cref="HybridRanker.Rrf"/> with k = 60.</summary>
    public HybridRanker Ranker { get; init; } = HybridRanker.Rrf();

    /// <summary>Fused hits per query, 1..16,384; default 10 (groups with <see cref="GroupByField"/>).</summary>
    public int Limit { get; init; } = 10;

    /// <summary>Fused hits (groups with <see cref="GroupByField"/>) to skip per query; Limit + Offset must not exceed
    /// 16,384.</summary>
    public int Offset { get; init; }

    /// <summary>Fields to return with each hit; <c>*</c> means all.</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>Restrict every search to these partitions; empty means all.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>Group the fused hits by this scalar field: each search returns its best <see cref="SearchRequest.Limit"/>
    /// groups, and the answer is <see cref="Limit"/> groups of at most <see cref="GroupSize"/> hits, ordered by each
    /// group's best fused score.</summary>
    public string? GroupByField { get; init; }

    /// <summary>Hits per group with <see cref="GroupByField"/>; default 1.</summary>
    public int GroupSize { get; init; } = 1;

    /// <summary>IANA time zone (Milvus's <c>timezone</c> parameter) for this read only: TIMESTAMPTZ values come back as
    /// text in it, and <c>ISO '...'</c> literals without an offset in the filter are read in it. Default null: the
    /// collection's <c>timezone</c> property, else UTC. A name that is no IANA zone is InvalidArgument.</summary>
    public string? Timezone { get; init; }

    /// <summary>Consistency level; default Strong.</summary>
    public ConsistencyLevel Consistency { get; init; } = ConsistencyLevel.Strong;
}

/// <summary>How a hybrid search fuses the hits of its searches (Milvus's rerank strategies). Fused scores are larger for
/// better hits, except <see cref="WeightedRanker"/> without normalization over searches that all use a distance metric
/// (L2), whose weighted distances are smaller for better hits. Equal fused scores are ordered by primary key.</summary>
public abstract record HybridRanker
{
    private protected HybridRanker()
    {
    }

    /// <summary>Reciprocal rank fusion: a hit's score is the sum over the searches that found it of 1 / (k + rank),
    /// rank counted from 1 within each search's list.</summary>
    /// <param name="k">The smoothing constant k, in (0, 16384); Milvus's default is 60.</param>
    public static RrfRanker Rrf(double k = 60) => new(k);

    /// <summary>Weighted fusion: a hit's score is the sum over the searches that found it of weight × its score there.</summary>
    /// <param name="weights">One weight per search, in request order, each in [0, 1].</param>
    /// <param name="normalizeScores">Milvus's <c>norm_score</c>: map each score to [0, 1] before weighting (see
    /// <see cref="WeightedRanker.Normalize"/>); default false, as in Milvus.</param>
    public static WeightedRanker Weighted(IReadOnlyList<float> weights, bool normalizeScores = false) => new(weights, normalizeScores);
}

/// <summary>Reciprocal rank fusion with constant <see cref="K"/> (see <see cref="HybridRanker.Rrf"/>).</summary>
/// <param name="K">The smoothing constant, in (0, 16384).</param>
public sealed record RrfRanker(double K) : HybridRanker;

/// <summary>Weighted score fusion (see <see cref="HybridRanker.Weighted"/>).</summary>
/// <param name="Weights">One weight per search, each in [0, 1].</param>
/// <param name="NormalizeScores">Whether scores are normalized to [0, 1] before weighting.</param>
public sealed record WeightedRanker(IReadOnlyList<float> Weights, bool NormalizeScores) : HybridRanker
{
    /// <summary>Milvus's normalization of a search score into [0, 1], larger for closer: COSINE (1 + s) / 2, IP
    /// 1/2 + atan(s) / π, other similarity metrics (BM25, whose scores are not negative) 2·atan(s) / π, and distance
    /// metrics (L2: the squared distance) 1 − 2·atan(d) / π. Computed in single precision as Milvus does.</summary>
    public static float Normalize(MetricType metric, float score)
    {
        if (metric is MetricType.L2 or MetricType.Hamming or MetricType.Jaccard)
        {
            return 1f - (2f * (float)Math.Atan(score) / (float)Math.PI);
        }

        return metric switch
        {
            MetricType.Cosine => (1f + score) * 0.5f,
            MetricType.IP => 0.5f + ((float)Math.Atan(score) / (float)Math.PI),
            _ => 2f * (float)Math.Atan(score) / (float)Math.PI,
        };
    }
}
