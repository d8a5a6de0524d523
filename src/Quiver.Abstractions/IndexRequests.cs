namespace Quiver;

/// <summary>An index to create on a vector field, as Milvus users write it: <c>index_type</c>, <c>metric_type</c> and
/// <c>params</c>, e.g. <c>new IndexDefinition { FieldName = "vector", IndexType = "HNSW", Params = new() { ["M"] = "16",
/// ["efConstruction"] = "200" } }</c>.</summary>
public sealed record IndexDefinition
{
    /// <summary>The vector field to index.</summary>
    public required string FieldName { get; init; }

    /// <summary>Milvus index_type: FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY, DISKANN or AUTOINDEX (case-insensitive).</summary>
    public required string IndexType { get; init; }

    /// <summary>Index name; default the field name.</summary>
    public string? IndexName { get; init; }

    /// <summary>L2, IP or COSINE; must match the field's metric when given, unless the field has
    /// <see cref="FieldSchema.MetricFromIndex"/> (then the index sets the field's metric). Default the field's metric.</summary>
    public MetricType? Metric { get; init; }

    /// <summary>Build parameters by Milvus name (<c>M</c>, <c>efConstruction</c>, <c>nlist</c>, <c>m</c>, <c>nbits</c>,
    /// <c>n_trees</c>, <c>recall</c> for AUTOINDEX); values as invariant-culture text. Unknown names are an error.</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();

    /// <summary>Properties that are not build parameters: <c>mmap.enabled</c> (see
    /// <c>QuiverEngine.AlterIndexPropertiesAsync</c>); empty by default.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();
}

/// <summary>Build state of an index, as Milvus reports it.</summary>
public enum IndexState
{
    /// <summary>Every sealed segment has the index.</summary>
    Finished = 3,

    /// <summary>Some sealed segments are still being indexed; they are searched exactly meanwhile.</summary>
    InProgress = 2,

    /// <summary>The last build attempt failed (see <see cref="IndexInfo.FailReason"/>); affected segments are searched exactly.</summary>
    Failed = 4,
}

/// <summary>An index as described by <c>QuiverEngine.DescribeIndexesAsync</c>.</summary>
public sealed record IndexInfo
{
    /// <summary>Index name.</summary>
    public required string IndexName { get; init; }

    /// <summary>Id of the index, unique in the data folder; a re-created index gets a new one.</summary>
    public long Id { get; init; }

    /// <summary>Indexed field.</summary>
    public required string FieldName { get; init; }

    /// <summary>Milvus index_type as created (AUTOINDEX stays AUTOINDEX; each segment resolves it).</summary>
    public required string IndexType { get; init; }

    /// <summary>Metric.</summary>
    public required MetricType Metric { get; init; }

    /// <summary>Build parameters as given.</summary>
    public required IReadOnlyDictionary<string, string> Params { get; init; }

    /// <summary>Properties set at creation or by <c>QuiverEngine.AlterIndexPropertiesAsync</c> (<c>mmap.enabled</c>).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>Rows in sealed segments (growing segments are searched exactly and not indexed).</summary>
    public required long TotalRows { get; init; }

    /// <summary>Rows of sealed segments whose index is built and attached.</summary>
    public required long IndexedRows { get; init; }

    /// <summary>Rows still to index (TotalRows - IndexedRows).</summary>
    public long PendingRows => TotalRows - IndexedRows;

    /// <summary>Fraction done in [0, 1], counting builds in flight by their own progress.</summary>
    public required double Progress { get; init; }

    /// <summary>Build state.</summary>
    public required IndexState State { get; init; }

    /// <summary>Bytes the built segment indexes hold beyond the raw vectors (graphs, lists, codes, copies; of a BM25 output
    /// field, the postings its searches have loaded, mapped or built).</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Indexed rows per index type built: the created type, or for AUTOINDEX what each segment resolved to
    /// (FLAT, HNSW, or DISKANN when HNSW would not fit <c>QuiverOptions.IndexMemoryBudgetBytes</c>), e.g.
    /// <c>{"DISKANN": 1000000}</c>. The choice is stored in each segment's index file and kept across reopens.</summary>
    public IReadOnlyDictionary<string, long> BuiltTypes { get; init; } = new Dictionary<string, long>();

    /// <summary>Why the last build failed, when <see cref="State"/> is Failed.</summary>
    public string? FailReason { get; init; }

    /// <summary>Each sealed segment's part of the build, in the shard's segment order.</summary>
    public IReadOnlyList<SegmentIndexProgress> Segments { get; init; } = [];
}

/// <summary>Where one sealed segment's index stands.</summary>
public enum SegmentIndexState
{
    /// <summary>Waiting for a build slot (or for its file to be loaded).</summary>
    Queued = 0,

    /// <summary>Being built now; <see cref="SegmentIndexProgress.Fraction"/> says how far.</summary>
    Building = 1,

    /// <summary>Built and attached: searches of this segment use it.</summary>
    Built = 2,

    /// <summary>The last attempt failed and no retry is queued yet (maintenance retries after a while).</summary>
    Failed = 3,
}

/// <summary>One sealed segment's part of an index build (<see cref="IndexInfo.Segments"/>).</summary>
/// <param name="SegmentId">The segment's id, unique in the data folder.</param>
/// <param name="Rows">Rows the segment holds (deleted ones included until compaction).</param>
/// <param name="State">Where its index stands.</param>
/// <param name="Fraction">Done in [0, 1]: 1 when built, the build's own progress while building, else 0.</param>
/// <param name="IndexType">The type built (AUTOINDEX: what the segment resolved to), once built; else null.</param>
/// <param name="MemoryBytes">Bytes its built index holds beyond the raw vectors; 0 until built.</param>
/// <param name="Error">Why its last build failed, when <paramref name="State"/> is Failed.</param>
public sealed record SegmentIndexProgress(
    long SegmentId, long Rows, SegmentIndexState State, double Fraction, string? IndexType, long MemoryBytes, string? Error);
